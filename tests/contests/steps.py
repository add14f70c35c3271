"""Shared steps of the contest and challenge tests: create, enter, vote, score, finalize
and read contests through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mallforum import clock
from mallforum.ids import encode_id
from models import ContestEntry
from tests.forum import ADMIN, MODERATOR, create_board, pk_of

ADMIN_CALLER: dict[str, Any] = {"as_": ADMIN, "roles": ("admin",)}
JUDGE: dict[str, Any] = {"as_": MODERATOR, "roles": ("moderator",)}

CONTEST_FIELDS = """
  id title status kind awaitingFinalization entryCount votesPerMember judgeWeight
  requiredCheckIns consecutiveCheckIns startsAt submissionEndsAt votingEndsAt
  board { id }
  prizes { rankFrom rankTo title points mallRewardCode badge { code } }
"""
ENTRY_FIELDS = """
  id voteCount rank judgeScore finalScore viewerHasVoted
  prize { title points }
  author { nickname }
  topic { id title kind status board { id } }
"""
CREATE_CONTEST = f"""
mutation($input: CreateContestInput!) {{
  createContest(input: $input) {{ contest {{ {CONTEST_FIELDS} }} errors {{ field code message }} }}
}}"""
CANCEL = f"""
mutation($id: ID!) {{
  cancelContest(contestId: $id) {{ contest {{ {CONTEST_FIELDS} }} errors {{ field code message }} }}
}}"""
FINALIZE = f"""
mutation($id: ID!) {{
  finalizeContest(contestId: $id) {{
    contest {{ {CONTEST_FIELDS} }} errors {{ field code message }}
  }}
}}"""
SUBMIT = f"""
mutation($input: SubmitContestEntryInput!) {{
  submitContestEntry(input: $input) {{
    entry {{ {ENTRY_FIELDS} contest {{ entryCount }} }} errors {{ field code message }}
  }}
}}"""
VOTE = f"""
mutation($id: ID!) {{
  voteContestEntry(entryId: $id) {{ entry {{ {ENTRY_FIELDS} }} errors {{ field code message }} }}
}}"""
UNVOTE = f"""
mutation($id: ID!) {{
  unvoteContestEntry(entryId: $id) {{ entry {{ {ENTRY_FIELDS} }} errors {{ field code message }} }}
}}"""
SCORE = f"""
mutation($id: ID!, $score: Float!) {{
  scoreContestEntry(entryId: $id, score: $score) {{
    entry {{ {ENTRY_FIELDS} }} errors {{ field code message }}
  }}
}}"""
CONTEST = f"""
query($id: ID!, $sort: ContestEntrySort, $first: Int, $after: String) {{
  contest(id: $id) {{
    {CONTEST_FIELDS}
    entries(sort: $sort, first: $first, after: $after) {{
      totalCount pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{ {ENTRY_FIELDS} }} }}
    }}
    winners {{ {ENTRY_FIELDS} }}
    viewerEntry {{ id }}
    viewerProgress {{ checkIns }}
  }}
}}"""
CONTESTS = """
query($status: ContestStatus, $first: Int, $after: String) {
  contests(status: $status, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id status } }
  }
}"""


# ---------------------------------------------------------------- steps


def admin_or(caller: dict[str, Any] | None) -> dict[str, Any]:
    return ADMIN_CALLER if caller is None else caller


def reader_or(caller: dict[str, Any] | None) -> dict[str, Any]:
    return {"as_": "reader"} if caller is None else caller


def at(delta: timedelta) -> str:
    return (clock.now() + delta).isoformat()


def contest_input(board_id: str, **fields: Any) -> dict[str, Any]:
    """A SUBMISSION contest that opens in an hour, takes entries for a day and votes for
    another day."""
    return {
        "boardId": board_id,
        "title": "晒单有礼",
        "description": "Show your order and win.",
        "kind": "SUBMISSION",
        "startsAt": at(timedelta(hours=1)),
        "submissionEndsAt": at(timedelta(days=1)),
        "votingEndsAt": at(timedelta(days=2)),
        "votesPerMember": 3,
        "prizes": [
            {
                "rankFrom": 1,
                "rankTo": 1,
                "title": "一等奖",
                "points": 500,
                "badgeCode": "CONTEST_WINNER",
                "mallRewardCode": "GIFT-100",
            },
            {"rankFrom": 2, "rankTo": 3, "title": "二等奖", "points": 100},
        ],
        **fields,
    }


async def attempt_create(api, board_id: str, caller=None, **fields: Any) -> dict[str, Any]:
    variables = {"input": contest_input(board_id, **fields)}
    return (await api(CREATE_CONTEST, variables, **admin_or(caller)))["createContest"]


async def create_contest(api, board_id: str, **fields: Any) -> dict[str, Any]:
    answer = await attempt_create(api, board_id, **fields)
    assert answer["errors"] == [], answer
    return answer["contest"]


async def attempt_submit(api, contest_id: str, author: str, **fields: Any) -> dict[str, Any]:
    entry = {"contestId": contest_id, "title": f"{author}'s order", "body": "Look!", **fields}
    return (await api(SUBMIT, {"input": entry}, as_=author))["submitContestEntry"]


async def submit(api, contest_id: str, author: str, **fields: Any) -> dict[str, Any]:
    answer = await attempt_submit(api, contest_id, author, **fields)
    assert answer["errors"] == [], answer
    return answer["entry"]


async def vote(api, entry_id: str, voter: str, mutation: str = VOTE) -> dict[str, Any]:
    data = await api(mutation, {"id": entry_id}, as_=voter)
    return next(iter(data.values()))


async def voted(api, entry_id: str, *voters: str) -> None:
    for voter in voters:
        assert (await vote(api, entry_id, voter))["errors"] == []


async def read_contest(api, contest_id: str, caller=None, **variables: Any) -> dict[str, Any]:
    data = await api(CONTEST, {"id": contest_id, **variables}, **reader_or(caller))
    return data["contest"]


async def statuses(api, status: str | None = None) -> list[tuple[str, str]]:
    data = await api(CONTESTS, {"status": status}, as_="reader")
    return [(e["node"]["id"], e["node"]["status"]) for e in data["contests"]["edges"]]


def codes(answer: dict[str, Any]) -> list[str]:
    return [error["code"] for error in answer["errors"]]


def fields_at_fault(answer: dict[str, Any]) -> list[list[str] | None]:
    return [error["field"] for error in answer["errors"]]


async def finalize(api, contest_id: str, caller=None) -> dict[str, Any]:
    return (await api(FINALIZE, {"id": contest_id}, **admin_or(caller)))["finalizeContest"]


async def cancel(api, contest_id: str, caller=None) -> dict[str, Any]:
    return (await api(CANCEL, {"id": contest_id}, **admin_or(caller)))["cancelContest"]


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


#: The fields that make a new contest a challenge.
CHALLENGE = {
    "kind": "CHALLENGE",
    "votingEndsAt": None,
    "requiredCheckIns": 1,
    "prizes": [{"rankFrom": 1, "rankTo": 1, "title": "完成奖", "points": 50}],
}
