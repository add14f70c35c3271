"""UGC contests (有奖征集): a lifecycle that follows the clock, who may create, cancel and
finalize them, their input checked field by field, and their lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mallforum import clock
from mallforum.ids import encode_id
from models import Contest
from tests.contests.steps import (
    CHALLENGE,
    CONTEST,
    CONTESTS,
    JUDGE,
    SCORE,
    at,
    attempt_create,
    attempt_submit,
    cancel,
    codes,
    create_contest,
    fields_at_fault,
    finalize,
    open_contest,
    read_contest,
    statuses,
    submit,
    vote,
    voted,
)
from tests.forum import create_board
from tests.moderation.steps import moderate

pytestmark = pytest.mark.calendar


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
