"""UGC contests (有奖征集): a lifecycle that follows the clock, entries that are topics, votes
that are exact under concurrency, a live ranking in Redis that survives a flush, judges'
scores, and finalizing that awards each prize once, even when called twice at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mallforum import clock
from mallforum.ids import encode_id
from mallforum.redis_store import RedisStore
from models import (
    BadgeAward,
    Contest,
    ContestEntry,
    ContestVote,
    Member,
    MemberStatus,
    OutboxEvent,
    PointReason,
    PointTransaction,
    Topic,
)
from tests.contests.steps import (
    ADMIN_CALLER,
    CONTEST,
    CONTESTS,
    FINALIZE,
    JUDGE,
    SCORE,
    SUBMIT,
    UNVOTE,
    VOTE,
    at,
    attempt_create,
    attempt_submit,
    cancel,
    codes,
    create_contest,
    fields_at_fault,
    finalize,
    read_contest,
    statuses,
    submit,
    vote,
    voted,
)
from tests.forum import MODERATOR, concurrently, create_board, pk_of, promote
from tests.moderation.steps import moderate
from tests.stores import delete_keys

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar


async def open_contest(api, **fields: Any) -> dict[str, Any]:
    """A board and a contest in it, with the clock moved to its OPEN window."""
    board = await create_board(api, "show")
    contest = await create_contest(api, board["id"], **fields)
    clock.travel(timedelta(hours=2))
    return contest


async def entries_by_votes(api, contest_id: str) -> list[tuple[str, int, int | None]]:
    """(entry, votes, rank) of every entry as a reader sees them, most votes first."""
    contest = await read_contest(api, contest_id, first=100)
    return [
        (e["node"]["id"], e["node"]["voteCount"], e["node"]["rank"])
        for e in contest["entries"]["edges"]
    ]


async def ranks_from_rows(contest_id: str) -> dict[str, int]:
    """The ranks the rows give: published entries by votes, ties to the earlier entry."""
    entries = await ContestEntry.filter(
        contest_id=pk_of(contest_id), topic__status="PUBLISHED"
    ).order_by("-vote_count", "id")
    return {encode_id("ContestEntry", e.pk): n for n, e in enumerate(entries, start=1)}


# ---------------------------------------------------------------- lifecycle


async def test_a_contest_goes_from_scheduled_to_open_to_voting_and_is_finished_by_finalizing(api):
    board = await create_board(api, "show")
    contest = await create_contest(api, board["id"])
    contest_id = contest["id"]
    assert contest["status"] == "SCHEDULED"
    assert contest["awaitingFinalization"] is False
    assert contest["prizes"] == [
        {
            "rankFrom": 1,
            "rankTo": 1,
            "title": "一等奖",
            "points": 500,
            "mallRewardCode": "GIFT-100",
            "badge": {"code": "CONTEST_WINNER"},
        },
        {
            "rankFrom": 2,
            "rankTo": 3,
            "title": "二等奖",
            "points": 100,
            "mallRewardCode": None,
            "badge": None,
        },
    ]
    assert codes(await attempt_submit(api, contest_id, "alice")) == ["CLOSED"]
    assert await statuses(api, "SCHEDULED") == [(contest_id, "SCHEDULED")]

    clock.travel(timedelta(hours=2))
    assert (await read_contest(api, contest_id))["status"] == "OPEN"
    assert await statuses(api, "OPEN") == [(contest_id, "OPEN")]
    assert await statuses(api, "SCHEDULED") == []
    alice = await submit(api, contest_id, "alice")
    bob = await submit(api, contest_id, "bob")
    assert alice["topic"]["kind"] == "CONTEST_ENTRY"
    assert alice["topic"]["board"]["id"] == board["id"]
    assert bob["contest"]["entryCount"] == 2
    await voted(api, alice["id"], "carol", "dave")
    await voted(api, bob["id"], "carol")

    clock.travel(timedelta(days=1))
    voting = await read_contest(api, contest_id)
    assert (voting["status"], voting["awaitingFinalization"]) == ("VOTING", False)
    assert await statuses(api, "VOTING") == [(contest_id, "VOTING")]
    assert codes(await attempt_submit(api, contest_id, "erin")) == ["CLOSED"]
    await voted(api, bob["id"], "erin", "frank")  # votes still count while VOTING
    assert codes(await finalize(api, contest_id)) == ["CLOSED"]

    clock.travel(timedelta(days=1))
    ended = await read_contest(api, contest_id)
    assert (ended["status"], ended["awaitingFinalization"]) == ("VOTING", True)
    assert codes(await vote(api, alice["id"], "erin")) == ["CLOSED"]

    finished = await finalize(api, contest_id)
    assert finished["errors"] == []
    assert (finished["contest"]["status"], finished["contest"]["awaitingFinalization"]) == (
        "FINISHED",
        False,
    )
    assert await statuses(api, "FINISHED") == [(contest_id, "FINISHED")]
    assert await statuses(api, "VOTING") == []
    after = await read_contest(api, contest_id)
    assert [(w["id"], w["rank"], w["prize"]["title"]) for w in after["winners"]] == [
        (bob["id"], 1, "一等奖"),
        (alice["id"], 2, "二等奖"),
    ]
    assert codes(await attempt_submit(api, contest_id, "gina")) == ["CLOSED"]


async def test_a_cancelled_contest_takes_no_entries_votes_or_finalizing(api):
    contest = await open_contest(api)
    entry = await submit(api, contest["id"], "alice")
    cancelled = await cancel(api, contest["id"])
    assert (cancelled["errors"], cancelled["contest"]["status"]) == ([], "CANCELLED")
    assert await statuses(api, "CANCELLED") == [(contest["id"], "CANCELLED")]
    assert await statuses(api, "OPEN") == []
    assert codes(await attempt_submit(api, contest["id"], "bob")) == ["CLOSED"]
    assert codes(await vote(api, entry["id"], "bob")) == ["CLOSED"]
    clock.travel(timedelta(days=3))
    assert codes(await finalize(api, contest["id"])) == ["CLOSED"]
    again = await cancel(api, contest["id"])  # answers the cancelled contest as it is
    assert (again["errors"], again["contest"]["status"]) == ([], "CANCELLED")


async def test_a_finished_contest_cannot_be_cancelled(api):
    contest = await open_contest(api)
    clock.travel(timedelta(days=3))
    assert (await finalize(api, contest["id"]))["errors"] == []
    assert codes(await cancel(api, contest["id"])) == ["CLOSED"]
    assert (await read_contest(api, contest["id"]))["status"] == "FINISHED"


@pytest.mark.parametrize(
    ("caller", "code"),
    [({"as_": "alice"}, "FORBIDDEN"), (JUDGE, "FORBIDDEN"), ({}, "UNAUTHENTICATED")],
    ids=["member", "moderator", "anonymous"],
)
async def test_creating_cancelling_and_finalizing_are_for_admins(api, caller, code):
    board = await create_board(api, "show")
    assert codes(await attempt_create(api, board["id"], caller=caller)) == [code]
    assert await Contest.all().count() == 0
    contest = await create_contest(api, board["id"])
    clock.travel(timedelta(days=3))
    assert codes(await finalize(api, contest["id"], caller=caller)) == [code]
    assert codes(await cancel(api, contest["id"], caller=caller)) == [code]
    assert (await read_contest(api, contest["id"]))["status"] == "VOTING"


LONG = "x" * 121
CHALLENGE = {
    "kind": "CHALLENGE",
    "votingEndsAt": None,
    "requiredCheckIns": 1,
    "prizes": [{"rankFrom": 1, "rankTo": 1, "title": "完成奖", "points": 50}],
}


def bad_inputs() -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Input that breaks one rule each, and the field it names; times from the clock now."""
    wrong = {
        "submission before start": (
            {"submissionEndsAt": at(timedelta(minutes=30))},
            ["input", "submissionEndsAt"],
        ),
        "submission in the past": (
            {"startsAt": at(-timedelta(days=2)), "submissionEndsAt": at(-timedelta(days=1))},
            ["input", "submissionEndsAt"],
        ),
        "voting before submission ends": (
            {"votingEndsAt": at(timedelta(hours=12))},
            ["input", "votingEndsAt"],
        ),
        "no voting end": ({"votingEndsAt": None}, ["input", "votingEndsAt"]),
        "check-ins for a contest": ({"requiredCheckIns": 3}, ["input", "requiredCheckIns"]),
        "consecutive for a contest": (
            {"consecutiveCheckIns": True},
            ["input", "consecutiveCheckIns"],
        ),
        "no votes": ({"votesPerMember": 0}, ["input", "votesPerMember"]),
        "too many votes": ({"votesPerMember": 101}, ["input", "votesPerMember"]),
        "judges over 1": ({"judgeWeight": 1.5}, ["input", "judgeWeight"]),
        "judges below 0": ({"judgeWeight": -0.1}, ["input", "judgeWeight"]),
        "empty title": ({"title": "  "}, ["input", "title"]),
        "long title": ({"title": LONG}, ["input", "title"]),
        "empty description": ({"description": ""}, ["input", "description"]),
        "overlapping bands": (
            {
                "prizes": [
                    {"rankFrom": 1, "rankTo": 3, "title": "a"},
                    {"rankFrom": 3, "rankTo": 5, "title": "b"},
                ]
            },
            ["input", "prizes"],
        ),
        "rank 0": (
            {"prizes": [{"rankFrom": 0, "rankTo": 1, "title": "a"}]},
            ["input", "prizes", "0", "rankTo"],
        ),
        "ranks reversed": (
            {"prizes": [{"rankFrom": 3, "rankTo": 2, "title": "a"}]},
            ["input", "prizes", "0", "rankTo"],
        ),
        "negative points": (
            {"prizes": [{"rankFrom": 1, "rankTo": 1, "title": "a", "points": -1}]},
            ["input", "prizes", "0", "points"],
        ),
        "too many points": (
            {"prizes": [{"rankFrom": 1, "rankTo": 1, "title": "a", "points": 1_000_001}]},
            ["input", "prizes", "0", "points"],
        ),
        "unknown badge": (
            {"prizes": [{"rankFrom": 1, "rankTo": 1, "title": "a", "badgeCode": "NOPE"}]},
            ["input", "prizes", "0", "badgeCode"],
        ),
        "automatic badge": (
            {"prizes": [{"rankFrom": 1, "rankTo": 1, "title": "a", "badgeCode": "FIRST_TOPIC"}]},
            ["input", "prizes", "0", "badgeCode"],
        ),
        "empty reward code": (
            {"prizes": [{"rankFrom": 1, "rankTo": 1, "title": "a", "mallRewardCode": " "}]},
            ["input", "prizes", "0", "mallRewardCode"],
        ),
        "long reward code": (
            {"prizes": [{"rankFrom": 1, "rankTo": 1, "title": "a", "mallRewardCode": "C" * 65}]},
            ["input", "prizes", "0", "mallRewardCode"],
        ),
        "empty prize title": (
            {"prizes": [{"rankFrom": 1, "rankTo": 1, "title": ""}]},
            ["input", "prizes", "0", "title"],
        ),
        "21 bands": (
            {"prizes": [{"rankFrom": n, "rankTo": n, "title": "a"} for n in range(1, 22)]},
            ["input", "prizes"],
        ),
    }
    wrong_challenges = {
        "voting end": (
            {**CHALLENGE, "votingEndsAt": at(timedelta(days=2))},
            ["input", "votingEndsAt"],
        ),
        "no check-ins": ({**CHALLENGE, "requiredCheckIns": None}, ["input", "requiredCheckIns"]),
        "0 check-ins": ({**CHALLENGE, "requiredCheckIns": 0}, ["input", "requiredCheckIns"]),
        "367 check-ins": ({**CHALLENGE, "requiredCheckIns": 367}, ["input", "requiredCheckIns"]),
        "more check-ins than days": (
            {**CHALLENGE, "requiredCheckIns": 5, "submissionEndsAt": at(timedelta(days=2))},
            ["input", "requiredCheckIns"],
        ),
        "prize from rank 2": (
            {**CHALLENGE, "prizes": [{"rankFrom": 2, "rankTo": 2, "title": "a"}]},
            ["input", "prizes"],
        ),
    }
    return wrong | wrong_challenges


@pytest.mark.parametrize("case", list(bad_inputs()))
async def test_contest_input_is_checked_field_by_field_and_nothing_is_written(api, case):
    fields, field = bad_inputs()[case]
    board = await create_board(api, "show")
    answer = await attempt_create(api, board["id"], **fields)
    assert answer["contest"] is None
    assert field in fields_at_fault(answer), answer
    assert set(codes(answer)) == {"INVALID"}
    assert await Contest.all().count() == 0


async def test_a_contest_needs_a_board_members_may_post_in(api):
    answer = await attempt_create(api, encode_id("Board", 999))
    assert (codes(answer), fields_at_fault(answer)) == (["NOT_FOUND"], [["input", "boardId"]])
    news = await create_board(api, "news", kind="ANNOUNCEMENT")
    answer = await attempt_create(api, news["id"])
    assert (codes(answer), fields_at_fault(answer)) == (["INVALID"], [["input", "boardId"]])
    assert await Contest.all().count() == 0


# ---------------------------------------------------------------- entries


async def test_a_second_entry_by_the_same_member_is_a_duplicate(api):
    contest = await open_contest(api)
    await submit(api, contest["id"], "alice")
    clock.travel(timedelta(minutes=5))  # past the rate limits of new members
    second = await attempt_submit(api, contest["id"], "alice", title="again")
    assert codes(second) == ["DUPLICATE"]
    assert await Topic.filter(author__mall_user_id="alice").count() == 1
    assert (await read_contest(api, contest["id"]))["entryCount"] == 1


async def test_concurrent_entries_by_one_member_make_one_entry_and_one_topic(api, no_rate_limits):
    contest = await open_contest(api)
    await api("{ viewer { id } }", as_="alice")
    variables = [
        {"input": {"contestId": contest["id"], "title": f"try {n}", "body": "Look!"}}
        for n in range(8)
    ]
    answers = await concurrently(api.post(SUBMIT, v, as_="alice") for v in variables)
    results = [a["submitContestEntry"] for a in answers]
    assert sorted(tuple(codes(r)) for r in results) == [()] + [("DUPLICATE",)] * 7
    assert await ContestEntry.filter(contest_id=pk_of(contest["id"])).count() == 1
    assert await Topic.filter(author__mall_user_id="alice").count() == 1
    assert (await read_contest(api, contest["id"]))["entryCount"] == 1


async def test_an_entry_goes_through_the_checks_of_any_topic(api, hold_word):
    board = await create_board(api, "show", minLevelToPost=2)
    contest = await create_contest(api, board["id"])
    clock.travel(timedelta(hours=2))
    assert codes(await attempt_submit(api, contest["id"], "alice")) == ["LEVEL_TOO_LOW"]
    answer = await attempt_submit(api, contest["id"], "alice", title=" ")
    assert (codes(answer), fields_at_fault(answer)) == (["INVALID"], [["input", "title"]])
    await promote(api, "alice", 2)
    await promote(api, "bob", 2)
    held = await submit(api, contest["id"], "alice", body="hold-me please")
    assert held["topic"]["status"] == "PENDING_REVIEW"
    shown = await submit(api, contest["id"], "bob")
    # Others see only the published entry; the author sees their held one too.
    assert [e[0] for e in await entries_by_votes(api, contest["id"])] == [shown["id"]]
    own = await read_contest(api, contest["id"], caller={"as_": "alice"})
    assert {e["node"]["id"] for e in own["entries"]["edges"]} == {held["id"], shown["id"]}
    assert own["viewerEntry"] == {"id": held["id"]}
    assert codes(await vote(api, held["id"], "carol")) == ["NOT_FOUND"]
    assert held["rank"] is None and shown["rank"] == 1


async def test_entries_are_refused_outside_the_window_and_for_challenges(api):
    board = await create_board(api, "show")
    challenge = await create_contest(api, board["id"], **CHALLENGE)
    contest = await create_contest(api, board["id"])
    assert codes(await attempt_submit(api, contest["id"], "alice")) == ["CLOSED"]
    clock.travel(timedelta(hours=2))
    answer = await attempt_submit(api, challenge["id"], "alice")
    assert (codes(answer), fields_at_fault(answer)) == (["INVALID"], [["input", "contestId"]])
    clock.travel(timedelta(days=1))
    assert codes(await attempt_submit(api, contest["id"], "alice")) == ["CLOSED"]
    assert await ContestEntry.all().count() == 0
    assert await Topic.all().count() == 0


# ---------------------------------------------------------------- votes


async def test_votes_are_refused_for_ones_own_entry_twice_for_one_entry_and_over_the_limit(api):
    contest = await open_contest(api, votesPerMember=2)
    entries = [await submit(api, contest["id"], author) for author in ("alice", "bob", "carol")]
    alice, bob, carol = (e["id"] for e in entries)
    assert codes(await vote(api, alice, "alice")) == ["FORBIDDEN"]
    first = await vote(api, bob, "alice")
    assert (first["errors"], first["entry"]["voteCount"], first["entry"]["viewerHasVoted"]) == (
        [],
        1,
        True,
    )
    assert codes(await vote(api, bob, "alice")) == ["DUPLICATE"]
    await voted(api, carol, "alice")
    # alice has used her two votes: a third is over the limit until she takes one back.
    dave = await submit(api, contest["id"], "dave")
    assert codes(await vote(api, dave["id"], "alice")) == ["CONFLICT"]
    taken = await vote(api, bob, "alice", UNVOTE)
    assert (taken["errors"], taken["entry"]["voteCount"], taken["entry"]["viewerHasVoted"]) == (
        [],
        0,
        False,
    )
    assert (await vote(api, dave["id"], "alice"))["errors"] == []
    nothing = await vote(api, bob, "alice", UNVOTE)  # no vote to take back: nothing changes
    assert (nothing["errors"], nothing["entry"]["voteCount"]) == ([], 0)
    assert await ContestVote.filter(member__mall_user_id="alice").count() == 2


async def test_anonymous_and_banned_callers_cannot_vote(api):
    contest = await open_contest(api)
    entry = await submit(api, contest["id"], "alice")
    anonymous = (await api(VOTE, {"id": entry["id"]}))["voteContestEntry"]
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    await api("{ viewer { id } }", as_="mallory")
    await Member.filter(mall_user_id="mallory").update(status=MemberStatus.BANNED)
    assert codes(await vote(api, entry["id"], "mallory")) == ["FORBIDDEN"]
    assert await ContestVote.all().count() == 0


async def test_an_entry_hidden_by_moderation_takes_no_votes_but_gives_its_votes_back(api):
    contest = await open_contest(api, votesPerMember=1)
    hidden = await submit(api, contest["id"], "alice")
    other = await submit(api, contest["id"], "bob")
    await voted(api, hidden["id"], "carol")
    assert (await moderate(api, hidden["topic"]["id"], "HIDE"))["errors"] == []
    assert codes(await vote(api, hidden["id"], "dave")) == ["NOT_FOUND"]
    assert codes(await vote(api, other["id"], "carol")) == ["CONFLICT"]
    taken = await vote(api, hidden["id"], "carol", UNVOTE)
    assert (taken["errors"], taken["entry"]) == ([], None)  # the entry is not shown any more
    assert (await vote(api, other["id"], "carol"))["errors"] == []
    assert await ContestEntry.get(id=pk_of(hidden["id"])).values("vote_count") == {"vote_count": 0}


async def test_one_members_hundred_concurrent_votes_with_three_allowed_count_exactly_three(api):
    contest = await open_contest(api, votesPerMember=3)
    entries = [await submit(api, contest["id"], f"author-{n}") for n in range(10)]
    await api("{ viewer { id } }", as_="voter")
    requests = [api.post(VOTE, {"id": entries[n % 10]["id"]}, as_="voter") for n in range(100)]
    answers = [a["voteContestEntry"] for a in await concurrently(requests)]
    assert sum(1 for a in answers if a["errors"] == []) == 3
    assert {c for a in answers for c in codes(a)} <= {"DUPLICATE", "CONFLICT"}
    assert await ContestVote.filter(member__mall_user_id="voter").count() == 3
    rows = await ContestEntry.filter(contest_id=pk_of(contest["id"]))
    for entry in rows:
        assert entry.vote_count == await ContestVote.filter(entry_id=entry.pk).count()
    assert sum(e.vote_count for e in rows) == 3
    assert {e[2] for e in await entries_by_votes(api, contest["id"])} == set(range(1, 11))


async def test_many_members_voting_at_once_are_all_counted_and_ranked(api):
    contest = await open_contest(api, votesPerMember=2)
    entries = [await submit(api, contest["id"], f"author-{n}") for n in range(4)]
    voters = [f"voter-{n}" for n in range(30)]
    for voter in voters:
        await api("{ viewer { id } }", as_=voter)
    requests = [
        api.post(VOTE, {"id": entries[(n + k) % 4 if n % 3 else 0]["id"]}, as_=voter)
        for n, voter in enumerate(voters)
        for k in (0, 1)
    ]
    answers = [a["voteContestEntry"] for a in await concurrently(requests)]
    rows = {e.pk: e for e in await ContestEntry.filter(contest_id=pk_of(contest["id"]))}
    for entry in rows.values():
        assert entry.vote_count == await ContestVote.filter(entry_id=entry.pk).count()
    assert sum(e.vote_count for e in rows.values()) == sum(1 for a in answers if not a["errors"])
    listed = await entries_by_votes(api, contest["id"])
    expected = await ranks_from_rows(contest["id"])
    assert {entry_id: rank for entry_id, _, rank in listed} == expected
    assert [votes for _, votes, _ in listed] == sorted((v for _, v, _ in listed), reverse=True)


# ---------------------------------------------------------------- the live ranking


def redis_client(app):
    return app.state.services["redis"].client


async def test_the_live_ranking_is_rebuilt_from_the_rows_after_redis_is_flushed(api, app, settings):
    contest = await open_contest(api, votesPerMember=3)
    entries = [await submit(api, contest["id"], f"author-{n}") for n in range(5)]
    for n, entry in enumerate(entries):
        await voted(api, entry["id"], *(f"voter-{k}" for k in range(n % 3 + (n == 4))))
    before = await entries_by_votes(api, contest["id"])
    assert {e: r for e, _, r in before} == await ranks_from_rows(contest["id"])
    key = app.state.services["redis"].keys.contest_ranking(pk_of(contest["id"]))
    assert await redis_client(app).zcard(key) == 5

    await delete_keys(settings)  # this run's keys only: other runs share the server
    assert await redis_client(app).exists(key) == 0
    assert await entries_by_votes(api, contest["id"]) == before
    assert await redis_client(app).zcard(key) == 5
    # Votes after the rebuild land in the rebuilt ranking.
    await voted(api, entries[0]["id"], "voter-x", "voter-y", "voter-z")
    after = await entries_by_votes(api, contest["id"])
    assert after[0][0] == entries[0]["id"] and after[0][2] == 1
    assert {e: r for e, _, r in after} == await ranks_from_rows(contest["id"])


async def test_ranks_come_from_the_rows_while_redis_is_down_and_votes_still_count(api, app):
    contest = await open_contest(api)
    entries = [await submit(api, contest["id"], f"author-{n}") for n in range(3)]
    await voted(api, entries[2]["id"], "voter-1", "voter-2")
    await voted(api, entries[1]["id"], "voter-1")
    expected = await entries_by_votes(api, contest["id"])
    store = app.state.services["redis"]
    working = store.client
    store.client = RedisStore.connect("redis://127.0.0.1:1/0", "down").client  # nothing listens
    try:
        assert await entries_by_votes(api, contest["id"]) == expected
        await voted(api, entries[0]["id"], "voter-3", "voter-4", "voter-5")
        down = await entries_by_votes(api, contest["id"])
        assert down[0][:3] == (entries[0]["id"], 3, 1)
    finally:
        await store.client.aclose()
        store.client = working
    # The ranking Redis held missed those votes: it is dropped when Redis answers again.
    assert await entries_by_votes(api, contest["id"]) == down
    assert {e: r for e, _, r in down} == await ranks_from_rows(contest["id"])


async def test_ties_go_to_the_earlier_entry_live_and_when_finalized(api):
    contest = await open_contest(api)
    first, second, third = [await submit(api, contest["id"], a) for a in ("alice", "bob", "carol")]
    await voted(api, third["id"], "v1", "v2")
    await voted(api, second["id"], "v3")
    await voted(api, first["id"], "v4")
    assert await entries_by_votes(api, contest["id"]) == [
        (third["id"], 2, 1),
        (first["id"], 1, 2),
        (second["id"], 1, 3),
    ]
    await voted(api, second["id"], "v5")  # second and third now tie: second came first
    assert await entries_by_votes(api, contest["id"]) == [
        (second["id"], 2, 1),
        (third["id"], 2, 2),
        (first["id"], 1, 3),
    ]
    clock.travel(timedelta(days=3))
    assert (await finalize(api, contest["id"]))["errors"] == []
    finished = await read_contest(api, contest["id"], sort="FINAL_SCORE")
    assert [(e["node"]["id"], e["node"]["rank"]) for e in finished["entries"]["edges"]] == [
        (second["id"], 1),
        (third["id"], 2),
        (first["id"], 3),
    ]
    assert [w["id"] for w in finished["winners"]] == [second["id"], third["id"], first["id"]]


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


# ---------------------------------------------------------------- lists


async def test_entries_page_by_votes_latest_and_final_score(api):
    contest = await open_contest(api, judgeWeight=0.5, votesPerMember=5)
    entries = [await submit(api, contest["id"], f"author-{n}") for n in range(5)]
    ids = [e["id"] for e in entries]
    for n, votes in enumerate([1, 3, 0, 3, 2]):
        await voted(api, ids[n], *(f"voter-{k}" for k in range(votes)))
    for n, score in enumerate([100, 0, 50, 20, 0]):
        await api(SCORE, {"id": ids[n], "score": score}, **JUDGE)
    # final: 0.5 × score / 100 + 0.5 × votes / 3
    expected = {
        "VOTES": [ids[1], ids[3], ids[4], ids[0], ids[2]],
        "LATEST": list(reversed(ids)),
        "FINAL_SCORE": [ids[0], ids[3], ids[1], ids[4], ids[2]],
    }
    for sort, order in expected.items():
        seen, after = [], None
        while True:
            page = (await read_contest(api, contest["id"], sort=sort, first=2, after=after))[
                "entries"
            ]
            assert page["totalCount"] == 5
            seen += [e["node"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == order, sort
    response = await api.post(CONTEST, {"id": contest["id"], "after": "bm90LWEtY3Vyc29y"})
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID"


async def test_contests_are_listed_newest_first_with_their_status_and_paged(api):
    board = await create_board(api, "show")
    hidden_board = await create_board(api, "vip", minLevelToView=3)
    soon = await create_contest(api, board["id"])
    later = await create_contest(
        api,
        board["id"],
        startsAt=at(timedelta(days=1)),
        submissionEndsAt=at(timedelta(days=2)),
        votingEndsAt=at(timedelta(days=3)),
    )
    await create_contest(api, hidden_board["id"])
    clock.travel(timedelta(hours=2))
    assert await statuses(api) == [(later["id"], "SCHEDULED"), (soon["id"], "OPEN")]
    assert await statuses(api, "DRAFT") == []
    first = (await api(CONTESTS, {"first": 1}, as_="reader"))["contests"]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (2, True)
    rest = await api(CONTESTS, {"first": 1, "after": first["pageInfo"]["endCursor"]}, as_="reader")
    assert [e["node"]["id"] for e in rest["contests"]["edges"]] == [soon["id"]]
    moderator = await api(CONTESTS, {}, **JUDGE)
    assert moderator["contests"]["totalCount"] == 3


async def test_contests_and_entries_are_nodes(api):
    contest = await open_contest(api)
    entry = await submit(api, contest["id"], "alice")
    query = """query($c: ID!, $e: ID!) {
      c: node(id: $c) { ... on Contest { title status } }
      e: node(id: $e) { ... on ContestEntry { voteCount contest { id } author { nickname } } }
    }"""
    data = await api(query, {"c": contest["id"], "e": entry["id"]}, as_="reader")
    assert data == {
        "c": {"title": "晒单有礼", "status": "OPEN"},
        "e": {"voteCount": 0, "contest": {"id": contest["id"]}, "author": {"nickname": "alice"}},
    }
    await moderate(api, entry["topic"]["id"], "HIDE")
    data = await api(query, {"c": contest["id"], "e": entry["id"]}, as_="reader")
    assert data["e"] is None


ENTRY_PAGE = """
query($id: ID!, $first: Int!) {
  contest(id: $id) {
    entries(first: $first) {
      totalCount
      edges { node { id voteCount rank finalScore viewerHasVoted
                     prize { title badge { code } }
                     topic { id title author { nickname } }
                     author { nickname } } }
    }
  }
}"""


async def fill_contest(api, slug: str, size: int, finished: bool) -> str:
    """A contest with `size` entries, votes by the reader on every other one, open or
    finalized (then three entries won a prize, one with a badge)."""
    board = await create_board(api, slug)
    contest = await create_contest(api, board["id"], votesPerMember=100)
    clock.travel(timedelta(hours=2))
    for n in range(size):
        entry = await submit(api, contest["id"], f"{slug}-{n}")
        if n % 2 == 0:
            await voted(api, entry["id"], "reader")
    if finished:
        clock.travel(timedelta(days=3))
        assert (await finalize(api, contest["id"]))["errors"] == []
    return contest["id"]


@pytest.mark.parametrize("finished", [False, True], ids=["live", "finished"])
async def test_a_page_of_twenty_entries_costs_the_statements_of_a_page_of_five(
    api, sql_statements, finished
):
    counts = {}
    for size in (5, 20):
        contest_id = await fill_contest(api, f"size-{size}", size, finished)
        await api(ENTRY_PAGE, {"id": contest_id, "first": size}, as_="reader")  # warm the ranking
        with sql_statements as counter:
            data = await api(ENTRY_PAGE, {"id": contest_id, "first": size}, as_="reader")
        edges = data["contest"]["entries"]["edges"]
        assert len(edges) == size
        assert {e["node"]["rank"] for e in edges} == set(range(1, size + 1))
        assert sum(e["node"]["viewerHasVoted"] for e in edges) == (size + 1) // 2
        assert sum(e["node"]["prize"] is not None for e in edges) == (3 if finished else 0)
        counts[size] = len(counter.statements)
        clock.reset()
    assert counts[5] == counts[20], counts
