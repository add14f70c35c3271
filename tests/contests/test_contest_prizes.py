"""Judges' scores, the final score they blend with the votes, and finalizing that awards
each prize once, even when called twice at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mallforum import clock
from models import BadgeAward, ContestEntry, Member, OutboxEvent, PointReason, PointTransaction
from tests.contests.steps import (
    ADMIN_CALLER,
    FINALIZE,
    JUDGE,
    SCORE,
    codes,
    entries_by_votes,
    fields_at_fault,
    finalize,
    open_contest,
    read_contest,
    submit,
    voted,
)
from tests.forum import MODERATOR, concurrently, pk_of
from tests.moderation.steps import moderate

pytestmark = pytest.mark.calendar


# ---------------------------------------------------------------- judges and final scores


async def test_judges_scores_average_and_blend_with_votes_into_the_final_score(api):
    contest = await open_contest(api, judgeWeight=0.5, votesPerMember=1)
    alice, bob = [await submit(api, contest["id"], a) for a in ("alice", "bob")]
    await voted(api, alice["id"], "v1", "v2", "v3", "v4")
    await voted(api, bob["id"], "v5")
    judges = [{"as_": f"judge-{n}", "roles": ("moderator",)} for n in range(2)]

    async def score(entry_id, value, caller):
        return (await api(SCORE, {"id": entry_id, "score": value}, **caller))["scoreContestEntry"]

    assert (await score(bob["id"], 40, judges[0]))["entry"]["judgeScore"] == 40
    assert (await score(bob["id"], 90, judges[1]))["entry"]["judgeScore"] == 65
    replaced = await score(bob["id"], 100, judges[0])  # the judge's second score replaces the first
    assert replaced["entry"]["judgeScore"] == 95
    assert replaced["entry"]["finalScore"] == pytest.approx(0.5 * 0.95 + 0.5 * 1 / 4)
    listed = await read_contest(api, contest["id"], sort="FINAL_SCORE")
    assert [(e["node"]["id"], e["node"]["finalScore"]) for e in listed["entries"]["edges"]] == [
        (bob["id"], pytest.approx(0.6)),
        (alice["id"], pytest.approx(0.5)),
    ]
    for value in (-1, 100.5):
        answer = await score(bob["id"], value, judges[0])
        assert (codes(answer), fields_at_fault(answer)) == (["INVALID"], [["score"]])
    assert codes(await score(bob["id"], 50, {"as_": "alice"})) == ["FORBIDDEN"]
    assert codes(await score(bob["id"], 50, {})) == ["UNAUTHENTICATED"]

    clock.travel(timedelta(days=3))
    finished = (await finalize(api, contest["id"]))["contest"]
    assert finished["status"] == "FINISHED"
    assert codes(await score(alice["id"], 100, judges[1])) == ["CLOSED"]
    winners = (await read_contest(api, contest["id"]))["winners"]
    assert [(w["id"], w["rank"], w["finalScore"]) for w in winners] == [
        (bob["id"], 1, pytest.approx(0.6)),
        (alice["id"], 2, pytest.approx(0.5)),
    ]


async def test_nobody_voting_leaves_only_the_judges_part(api):
    contest = await open_contest(api, judgeWeight=0.25)
    entry = await submit(api, contest["id"], "alice")
    answer = await api(SCORE, {"id": entry["id"], "score": 80}, **JUDGE)
    assert answer["scoreContestEntry"]["entry"]["finalScore"] == pytest.approx(0.25 * 0.8)
    own = await submit(api, contest["id"], MODERATOR)  # a judge may enter, but not judge it
    answer = await api(SCORE, {"id": own["id"], "score": 100}, **JUDGE)
    assert codes(answer["scoreContestEntry"]) == ["FORBIDDEN"]


# ---------------------------------------------------------------- finalizing


async def test_finalizing_twice_at_once_awards_each_prize_once(api):
    contest = await open_contest(api, votesPerMember=4)
    entries = [await submit(api, contest["id"], f"author-{n}") for n in range(4)]
    for n, entry in enumerate(entries):
        await voted(api, entry["id"], *(f"voter-{k}" for k in range(n + 1)))
    points_before = {
        m.mall_user_id: m.points for m in await Member.filter(mall_user_id__startswith="author-")
    }
    clock.travel(timedelta(days=3))
    answers = await concurrently(
        api.post(FINALIZE, {"id": contest["id"]}, **ADMIN_CALLER) for _ in range(2)
    )
    for answer in answers:
        assert answer["finalizeContest"]["errors"] == []
        assert answer["finalizeContest"]["contest"]["status"] == "FINISHED"
    assert (await finalize(api, contest["id"]))["errors"] == []  # and later: still nothing more

    prizes = await PointTransaction.filter(reason=PointReason.CONTEST_PRIZE).order_by("delta")
    assert [(p.delta, p.member_id) for p in prizes] == [
        (100, await member_id("author-1")),
        (100, await member_id("author-2")),
        (500, await member_id("author-3")),
    ]
    points_after = {
        m.mall_user_id: m.points for m in await Member.filter(mall_user_id__startswith="author-")
    }
    assert points_after["author-3"] - points_before["author-3"] == 500
    assert points_after["author-0"] == points_before["author-0"]
    awards = await BadgeAward.filter(badge__code="CONTEST_WINNER")
    assert [a.member_id for a in awards] == [await member_id("author-3")]
    [event] = await OutboxEvent.filter(kind="contest.prize_awarded")
    assert event.payload == {
        "contestId": contest["id"],
        "entryId": entries[3]["id"],
        "mallUserId": "author-3",
        "mallRewardCode": "GIFT-100",
        "prizeTitle": "一等奖",
        "rank": 1,
    }
    finished = await read_contest(api, contest["id"])
    assert [
        (w["author"]["nickname"], w["rank"], w["prize"]["title"]) for w in finished["winners"]
    ] == [
        ("author-3", 1, "一等奖"),
        ("author-2", 2, "二等奖"),
        ("author-1", 3, "二等奖"),
    ]
    loser = next(
        e["node"] for e in finished["entries"]["edges"] if e["node"]["id"] == entries[0]["id"]
    )
    assert (loser["rank"], loser["prize"]) == (4, None)


async def member_id(sub: str) -> int:
    return (await Member.get(mall_user_id=sub)).pk


async def test_an_entry_hidden_by_moderation_cannot_win(api):
    contest = await open_contest(api)
    top, second, third = [await submit(api, contest["id"], a) for a in ("alice", "bob", "carol")]
    await voted(api, top["id"], "v1", "v2", "v3")
    await voted(api, second["id"], "v1", "v2")
    await voted(api, third["id"], "v1")
    assert (await moderate(api, top["topic"]["id"], "HIDE"))["errors"] == []
    # The live ranking already leaves it out.
    assert await entries_by_votes(api, contest["id"]) == [(second["id"], 2, 1), (third["id"], 1, 2)]
    moderator_view = await read_contest(api, contest["id"], caller=JUDGE)
    assert [(e["node"]["id"], e["node"]["rank"]) for e in moderator_view["entries"]["edges"]] == [
        (top["id"], None),
        (second["id"], 1),
        (third["id"], 2),
    ]
    clock.travel(timedelta(days=3))
    assert (await finalize(api, contest["id"]))["errors"] == []
    winners = (await read_contest(api, contest["id"]))["winners"]
    assert [(w["id"], w["rank"], w["prize"]["title"]) for w in winners] == [
        (second["id"], 1, "一等奖"),
        (third["id"], 2, "二等奖"),
    ]
    hidden = await ContestEntry.get(id=pk_of(top["id"]))
    assert (hidden.final_rank, hidden.prize_id, hidden.final_score) == (None, None, None)
    assert not await PointTransaction.filter(
        reason=PointReason.CONTEST_PRIZE, member__mall_user_id="alice"
    ).exists()
