"""Check-in challenges (打卡挑战): one post a day in the community's time zone, progress on
distinct (or consecutive) days, and the prize awarded once, when the last day is reached."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from mallforum import clock
from models import (
    BadgeAward,
    ChallengeCheckIn,
    ContestEntry,
    OutboxEvent,
    PointReason,
    PointTransaction,
    Topic,
)
from tests.clock_steps import local, pin_zone, set_clock
from tests.contests.steps import (
    CONTEST,
    SCORE,
    VOTE,
    codes,
    create_contest,
    fields_at_fault,
    finalize,
    read_contest,
    statuses,
    vote,
)
from tests.forum import concurrently, create_board, pk_of

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar

DAY = date(2030, 5, 1)
CHECK_IN = """
mutation($id: ID!, $body: String!, $images: [String!]) {
  challengeCheckIn(contestId: $id, body: $body, imageUrls: $images) {
    progress { checkIns required completed lastCheckInOn }
    topic { id title kind status board { id } }
    errors { field code message }
  }
}"""
PROGRESS = """
query($id: ID!) {
  contest(id: $id) {
    status awaitingFinalization entryCount
    viewerProgress { checkIns required completed lastCheckInOn }
    viewerEntry { id rank prize { title } topic { id } }
    winners { author { nickname } rank prize { title } }
  }
}"""


async def create_challenge(api, days: int = 10, **fields: Any) -> dict[str, Any]:
    """A challenge of `days` local days from DAY, in a board of its own, with the clock set
    to the day before it opens."""
    set_clock(local(api, DAY - timedelta(days=1), 12))
    board = await create_board(api, "daily")
    challenge = {
        "kind": "CHALLENGE",
        "title": "7天穿搭打卡",
        "startsAt": local(api, DAY, 0).isoformat(),
        "submissionEndsAt": local(api, DAY + timedelta(days=days), 0).isoformat(),
        "votingEndsAt": None,
        "requiredCheckIns": 3,
        "prizes": [
            {
                "rankFrom": 1,
                "rankTo": 1,
                "title": "完成奖",
                "points": 50,
                "badgeCode": "CONTEST_WINNER",
                "mallRewardCode": "CPN-5",
            }
        ],
        **fields,
    }
    return await create_contest(api, board["id"], **challenge)


async def check_in(api, challenge_id: str, who: str = "alice", body: str = "今日打卡") -> dict:
    variables = {"id": challenge_id, "body": body, "images": None}
    return (await api(CHECK_IN, variables, as_=who))["challengeCheckIn"]


async def checked_in(api, challenge_id: str, who: str = "alice") -> dict[str, Any]:
    answer = await check_in(api, challenge_id, who)
    assert answer["errors"] == [], answer
    return answer["progress"]


async def progress(api, challenge_id: str, who: str | None = "alice") -> dict[str, Any]:
    caller = {"as_": who} if who else {}
    return (await api(PROGRESS, {"id": challenge_id}, **caller))["contest"]


def on(api, day_offset: int, hour: int = 10, minute: int = 0) -> None:
    set_clock(local(api, DAY + timedelta(days=day_offset), hour, minute))


async def prize_rows(who: str = "alice") -> tuple[int, int, int]:
    """(ledger rows, badge awards, outbox events) of the member's challenge prize."""
    ledger = await PointTransaction.filter(
        reason=PointReason.CONTEST_PRIZE, member__mall_user_id=who
    ).count()
    badges = await BadgeAward.filter(badge__code="CONTEST_WINNER", member__mall_user_id=who)
    events = [
        e
        for e in await OutboxEvent.filter(kind="contest.prize_awarded")
        if e.payload["mallUserId"] == who
    ]
    return ledger, len(badges), len(events)


async def test_check_ins_on_distinct_days_complete_the_challenge_and_award_the_prize_once(api):
    challenge = await create_challenge(api)
    on(api, 0)
    first = await check_in(api, challenge["id"])
    assert first["errors"] == []
    assert first["progress"] == {
        "checkIns": 1,
        "required": 3,
        "completed": False,
        "lastCheckInOn": DAY.isoformat(),
    }
    assert first["topic"]["title"] == "打卡 Day 1 · 7天穿搭打卡"
    assert first["topic"]["kind"] == "CONTEST_ENTRY"
    assert first["topic"]["board"]["id"] == challenge["board"]["id"]
    on(api, 2)  # a day missed: the days need not be consecutive
    second = await checked_in(api, challenge["id"])
    assert (second["checkIns"], second["completed"]) == (2, False)
    assert await prize_rows() == (0, 0, 0)

    on(api, 3)
    third = await check_in(api, challenge["id"])
    assert third["topic"]["title"] == "打卡 Day 3 · 7天穿搭打卡"
    assert (third["progress"]["checkIns"], third["progress"]["completed"]) == (3, True)
    assert await prize_rows() == (1, 1, 1)
    [event] = await OutboxEvent.filter(kind="contest.prize_awarded")
    entry = await ContestEntry.get(contest_id=pk_of(challenge["id"]))
    assert event.payload["mallRewardCode"] == "CPN-5"
    assert (event.payload["rank"], event.payload["prizeTitle"]) == (1, "完成奖")

    on(api, 4)
    fourth = await checked_in(api, challenge["id"])
    assert (fourth["checkIns"], fourth["completed"]) == (4, True)
    assert await prize_rows() == (1, 1, 1)  # awarded once, when completed
    seen = await progress(api, challenge["id"])
    assert seen["viewerProgress"] == {
        "checkIns": 4,
        "required": 3,
        "completed": True,
        "lastCheckInOn": (DAY + timedelta(days=4)).isoformat(),
    }
    assert seen["entryCount"] == 1
    assert seen["viewerEntry"]["topic"]["id"] == first["topic"]["id"]  # the first post
    assert (seen["viewerEntry"]["rank"], seen["viewerEntry"]["prize"]) == (1, {"title": "完成奖"})
    assert seen["winners"] == [
        {"author": {"nickname": "alice"}, "rank": 1, "prize": {"title": "完成奖"}}
    ]
    assert entry.check_in_count == 3 and entry.completed_at is not None
    assert await ChallengeCheckIn.filter(contest_id=pk_of(challenge["id"])).count() == 4


async def test_a_consecutive_challenge_starts_again_after_a_missed_day(api):
    challenge = await create_challenge(api, consecutiveCheckIns=True)
    assert challenge["consecutiveCheckIns"] is True
    for day in (0, 1):
        on(api, day)
        await checked_in(api, challenge["id"])
    on(api, 2)
    assert (await progress(api, challenge["id"]))["viewerProgress"]["checkIns"] == 2
    on(api, 3)  # day 2 was missed: the run is broken
    assert (await progress(api, challenge["id"]))["viewerProgress"]["checkIns"] == 0
    again = await check_in(api, challenge["id"])
    assert again["topic"]["title"] == "打卡 Day 1 · 7天穿搭打卡"
    assert again["progress"]["checkIns"] == 1
    on(api, 4)
    assert (await checked_in(api, challenge["id"]))["checkIns"] == 2
    assert await prize_rows() == (0, 0, 0)
    on(api, 5)
    done = await checked_in(api, challenge["id"])
    assert (done["checkIns"], done["completed"]) == (3, True)
    assert await prize_rows() == (1, 1, 1)


async def test_a_second_check_in_the_same_local_day_is_a_duplicate(api):
    pin_zone(api, "Asia/Shanghai")
    challenge = await create_challenge(api)
    on(api, 0, 0, 30)
    await checked_in(api, challenge["id"])
    on(api, 0, 23, 58)
    again = await check_in(api, challenge["id"])
    assert codes(again) == ["DUPLICATE"]
    assert await Topic.filter(author__mall_user_id="alice").count() == 1
    # Two minutes later it is the next day here, though the same day in UTC.
    on(api, 1, 0, 0)
    assert clock.now().date() == (clock.now() - timedelta(minutes=2)).date()
    assert (await checked_in(api, challenge["id"]))["checkIns"] == 2
    on(api, 1, 23, 59)
    assert codes(await check_in(api, challenge["id"])) == ["DUPLICATE"]
    rows = await ChallengeCheckIn.filter(member__mall_user_id="alice").order_by("day")
    assert [r.day for r in rows] == [DAY, DAY + timedelta(days=1)]


async def test_concurrent_check_ins_of_one_member_make_one_check_in(api, no_rate_limits):
    challenge = await create_challenge(api)
    on(api, 0)
    await api("{ viewer { id } }", as_="alice")
    variables = {"id": challenge["id"], "body": "今日打卡"}
    answers = await concurrently(api.post(CHECK_IN, variables, as_="alice") for _ in range(6))
    results = [a["challengeCheckIn"] for a in answers]
    assert sorted(tuple(codes(r)) for r in results) == [()] + [("DUPLICATE",)] * 5
    assert await ChallengeCheckIn.all().count() == 1
    assert await Topic.filter(author__mall_user_id="alice").count() == 1
    assert await ContestEntry.filter(contest_id=pk_of(challenge["id"])).count() == 1


async def test_check_ins_are_refused_outside_the_window_for_contests_and_when_anonymous(api):
    challenge = await create_challenge(api, days=3)
    assert codes(await check_in(api, challenge["id"])) == ["CLOSED"]  # the day before
    on(api, 0)
    empty = await check_in(api, challenge["id"], body=" ")
    assert (codes(empty), fields_at_fault(empty)) == (["INVALID"], [["body"]])
    anonymous = await api(CHECK_IN, {"id": challenge["id"], "body": "hi"})
    assert codes(anonymous["challengeCheckIn"]) == ["UNAUTHENTICATED"]
    contest = await create_contest(api, challenge["board"]["id"])
    wrong = await check_in(api, contest["id"])
    assert (codes(wrong), fields_at_fault(wrong)) == (["INVALID"], [["contestId"]])
    on(api, 3, 0, 0)  # the window has ended
    assert codes(await check_in(api, challenge["id"])) == ["CLOSED"]
    assert await ChallengeCheckIn.all().count() == 0


async def test_a_challenge_is_finished_when_its_window_ends_and_finalizing_closes_it(api):
    challenge = await create_challenge(api, days=3, requiredCheckIns=2)
    for day in (0, 1):
        on(api, day)
        await checked_in(api, challenge["id"])
    assert codes(await finalize(api, challenge["id"])) == ["CLOSED"]  # still open
    on(api, 3, 0, 0)
    ended = await progress(api, challenge["id"])
    assert (ended["status"], ended["awaitingFinalization"]) == ("FINISHED", True)
    assert await statuses(api, "FINISHED") == [(challenge["id"], "FINISHED")]
    closed = await finalize(api, challenge["id"])
    assert closed["errors"] == []
    assert (closed["contest"]["status"], closed["contest"]["awaitingFinalization"]) == (
        "FINISHED",
        False,
    )
    assert await prize_rows() == (1, 1, 1)  # finalizing awards nothing more


async def test_challenges_are_not_voted_on_or_judged_and_contests_show_no_progress(api):
    challenge = await create_challenge(api)
    on(api, 0)
    await checked_in(api, challenge["id"])
    [entry] = (await read_contest(api, challenge["id"], caller={"as_": "bob"}))["entries"]["edges"]
    answer = await vote(api, entry["node"]["id"], "bob", VOTE)
    assert codes(answer) == ["INVALID"]
    judged = await api(
        SCORE, {"id": entry["node"]["id"], "score": 50}, as_="judge", roles=("moderator",)
    )
    assert codes(judged["scoreContestEntry"]) == ["INVALID"]
    assert (await progress(api, challenge["id"], who=None))["viewerProgress"] is None
    fresh = await progress(api, challenge["id"], who="bob")
    assert fresh["viewerProgress"] == {
        "checkIns": 0,
        "required": 3,
        "completed": False,
        "lastCheckInOn": None,
    }
    contest = await create_contest(api, challenge["board"]["id"])
    assert (await api(CONTEST, {"id": contest["id"]}, as_="alice"))["contest"][
        "viewerProgress"
    ] is None
