"""A contest's entries and votes: entries that are topics, votes that are exact under
concurrency, and a live ranking in Redis that survives a flush."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mallforum import clock
from mallforum.redis_store import RedisStore
from models import ContestEntry, ContestVote, Member, MemberStatus, Topic
from tests.contests.steps import (
    CHALLENGE,
    SUBMIT,
    UNVOTE,
    VOTE,
    attempt_submit,
    codes,
    create_contest,
    entries_by_votes,
    fields_at_fault,
    finalize,
    open_contest,
    ranks_from_rows,
    read_contest,
    submit,
    vote,
    voted,
)
from tests.forum import concurrently, create_board, pk_of, promote
from tests.moderation.steps import moderate
from tests.stores import delete_keys

pytestmark = pytest.mark.calendar


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
