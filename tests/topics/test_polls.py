"""Polls (投票): creating a POLL topic with its poll, and members' ballots, exact under
concurrency."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from mallforum import clock
from models import Member, MemberStatus, Poll, PollBallot, PollOption, Topic
from tests.forum import (
    MODERATOR,
    concurrently,
    create_board,
    create_topic,
    pk_of,
    promote,
)
from tests.moderation.steps import moderate

POLL_FIELDS = """
  id question maxChoices closesAt totalVoters viewerChoices isClosed
  options { id text voteCount }
  topic { id }
"""
CREATE_POLL_TOPIC = f"""
mutation($input: CreateTopicInput!) {{
  createTopic(input: $input) {{
    topic {{ id kind title status poll {{ {POLL_FIELDS} }} }}
    errors {{ field code message }}
  }}
}}"""
VOTE = f"""
mutation($pollId: ID!, $optionIds: [ID!]!) {{
  votePoll(pollId: $pollId, optionIds: $optionIds) {{
    poll {{ {POLL_FIELDS} }}
    errors {{ field code message }}
  }}
}}"""
READ_TOPIC = f"query($id: ID!) {{ topic(id: $id) {{ id kind poll {{ {POLL_FIELDS} }} }} }}"
READ_NODE = "query($id: ID!) { node(id: $id) { id ... on Poll { question totalVoters } } }"

AUTHOR = "pollster"
COLOURS = ["Red", "Blue", "Green"]


@pytest.fixture
async def board(api):
    board = await create_board(api)
    await promote(api, AUTHOR, 3)  # level 3 grants CREATE_POLL
    return board


def poll_input(**fields) -> dict:
    return {"question": "Which colour?", "options": COLOURS, **fields}


async def attempt_poll_topic(api, board_id: str, author: str = AUTHOR, roles=(), **fields):
    topic_input = {
        "boardId": board_id,
        "title": "Vote for the spring colour",
        "body": "Tell us",
        "poll": poll_input(),
        **fields,
    }
    data = await api(CREATE_POLL_TOPIC, {"input": topic_input}, as_=author, roles=roles)
    return data["createTopic"]


async def create_poll(api, board_id: str, author: str = AUTHOR, **poll_fields) -> dict:
    """A POLL topic's poll, made through the API."""
    created = await attempt_poll_topic(api, board_id, author, poll=poll_input(**poll_fields))
    assert created["errors"] == [], created
    return created["topic"]["poll"]


async def vote(api, poll: dict, options: list[str], who: str) -> dict:
    return (await api(VOTE, {"pollId": poll["id"], "optionIds": options}, as_=who))["votePoll"]


def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def stored_rows() -> tuple[int, int, int]:
    return await Topic.all().count(), await Poll.all().count(), await PollOption.all().count()


# ---------------------------------------------------------------- creating


async def test_a_member_with_create_poll_posts_a_poll_topic(api, board):
    closes = (clock.now() + timedelta(days=3)).replace(microsecond=0)
    created = await attempt_poll_topic(
        api,
        board["id"],
        poll=poll_input(
            question="  Which colour for spring?  ",
            options=[" Red ", "Blue", "Green"],
            maxChoices=2,
            closesAt=closes.isoformat(),
        ),
    )
    assert created["errors"] == []
    topic = created["topic"]
    assert (topic["kind"], topic["status"]) == ("POLL", "PUBLISHED")
    poll = topic["poll"]
    assert poll["question"] == "Which colour for spring?"
    assert [(o["text"], o["voteCount"]) for o in poll["options"]] == [
        ("Red", 0),
        ("Blue", 0),
        ("Green", 0),
    ]
    assert (poll["maxChoices"], poll["totalVoters"], poll["viewerChoices"]) == (2, 0, [])
    assert poll["closesAt"].startswith(closes.strftime("%Y-%m-%dT%H:%M:%S"))
    assert poll["isClosed"] is False and poll["topic"]["id"] == topic["id"]
    row = await Poll.get(id=pk_of(poll["id"]))
    assert row.topic_id == pk_of(topic["id"]) and row.closes_at == closes
    assert [o.text for o in await PollOption.filter(poll_id=row.pk).order_by("position")] == [
        "Red",
        "Blue",
        "Green",
    ]
    read = (await api(READ_TOPIC, {"id": topic["id"]}, as_="reader"))["topic"]
    assert read["poll"]["id"] == poll["id"] and read["kind"] == "POLL"
    node = (await api(READ_NODE, {"id": poll["id"]}))["node"]
    assert node == {"id": poll["id"], "question": "Which colour for spring?", "totalVoters": 0}


async def test_an_explicit_poll_kind_with_a_poll_is_a_poll_topic(api, board):
    created = await attempt_poll_topic(api, board["id"], kind="POLL")
    assert created["errors"] == [] and created["topic"]["kind"] == "POLL"


async def test_topics_without_a_poll_have_none(api, board):
    topic = await create_topic(api, board["id"], author="alice")
    read = (await api(READ_TOPIC, {"id": topic["id"]}))["topic"]
    assert read == {"id": topic["id"], "kind": "DISCUSSION", "poll": None}


@pytest.mark.parametrize("kind", ["QUESTION", "ANNOUNCEMENT", "CONTEST_ENTRY"])
async def test_a_poll_on_a_topic_of_another_kind_is_refused(api, board, kind):
    created = await attempt_poll_topic(api, board["id"], kind=kind, roles=("moderator",))
    assert created["topic"] is None
    assert codes(created) == [("INVALID", ["input", "kind"])]
    assert await stored_rows() == (0, 0, 0)


async def test_a_poll_kind_without_a_poll_is_refused(api, board):
    created = await attempt_poll_topic(api, board["id"], kind="POLL", poll=None)
    assert codes(created) == [("INVALID", ["input", "kind"])]
    assert await stored_rows() == (0, 0, 0)


async def test_a_member_below_the_create_poll_level_is_refused(api, board):
    await promote(api, "newbie", 2)
    created = await attempt_poll_topic(api, board["id"], author="newbie")
    assert codes(created) == [("LEVEL_TOO_LOW", None)]
    assert "level 3" in created["errors"][0]["message"]
    assert await stored_rows() == (0, 0, 0)


async def test_moderators_hold_the_create_poll_privilege_at_any_level(api, board):
    created = await attempt_poll_topic(api, board["id"], author=MODERATOR, roles=("moderator",))
    assert created["errors"] == [] and created["topic"]["poll"]["question"] == "Which colour?"


async def test_every_problem_of_a_poll_is_reported_with_its_field_at_once(api, board):
    created = await attempt_poll_topic(
        api,
        board["id"],
        title=" ",
        poll={
            "question": " ",
            "options": ["Red", "  ", "red ", "x" * 101, "Blue"],
            "maxChoices": 6,
            "closesAt": (clock.now() - timedelta(minutes=1)).isoformat(),
        },
    )
    assert created["topic"] is None
    assert sorted(codes(created)) == [
        ("INVALID", ["input", "poll", "closesAt"]),
        ("INVALID", ["input", "poll", "maxChoices"]),
        ("INVALID", ["input", "poll", "options", "1"]),
        ("INVALID", ["input", "poll", "options", "2"]),
        ("INVALID", ["input", "poll", "options", "3"]),
        ("INVALID", ["input", "poll", "question"]),
        ("INVALID", ["input", "title"]),
    ]
    assert all(e["message"] for e in created["errors"])
    assert await stored_rows() == (0, 0, 0)


@pytest.mark.parametrize("count", [0, 1, 21])
async def test_a_poll_needs_two_to_twenty_options(api, board, count):
    options = [f"Option {n}" for n in range(count)]
    created = await attempt_poll_topic(api, board["id"], poll=poll_input(options=options))
    assert ("INVALID", ["input", "poll", "options"]) in codes(created)
    assert await stored_rows() == (0, 0, 0)


async def test_twenty_options_and_as_many_choices_are_allowed(api, board):
    options = [f"Option {n}" for n in range(20)]
    poll = await create_poll(api, board["id"], options=options, maxChoices=20)
    assert len(poll["options"]) == 20 and poll["maxChoices"] == 20


@pytest.mark.parametrize("max_choices", [0, 4])
async def test_max_choices_is_one_to_the_number_of_options(api, board, max_choices):
    created = await attempt_poll_topic(api, board["id"], poll=poll_input(maxChoices=max_choices))
    assert codes(created) == [("INVALID", ["input", "poll", "maxChoices"])]


async def test_a_masked_word_in_the_question_or_an_option_is_stored_masked(api, board):
    poll = await create_poll(
        api, board["id"], question="白痴才选哪个?", options=["Red", "笨蛋才买绿色", "Blue"]
    )
    assert poll["question"] == "**才选哪个?"
    assert [o["text"] for o in poll["options"]] == ["Red", "**才买绿色", "Blue"]
    row = await Poll.get(id=pk_of(poll["id"]))
    assert row.question == "**才选哪个?"
    assert await PollOption.filter(poll_id=row.pk, text="**才买绿色").count() == 1


async def test_a_blocked_word_in_an_option_refuses_the_whole_topic(api, board):
    created = await attempt_poll_topic(
        api, board["id"], poll=poll_input(options=["Red", "刷单返现群", "Blue"])
    )
    assert created["topic"] is None
    assert codes(created) == [("REJECTED_BY_MODERATION", None)]
    assert await stored_rows() == (0, 0, 0)


# ---------------------------------------------------------------- voting


async def test_a_ballot_counts_and_shows_as_the_viewers_choices(api, board):
    poll = await create_poll(api, board["id"], maxChoices=2)
    red, blue, green = (o["id"] for o in poll["options"])
    voted = await vote(api, poll, [green, red], "voter-1")
    assert voted["errors"] == []
    assert voted["poll"]["totalVoters"] == 1
    assert [o["voteCount"] for o in voted["poll"]["options"]] == [1, 0, 1]
    assert voted["poll"]["viewerChoices"] == [green, red]
    second = await vote(api, poll, [blue], "voter-2")
    assert [o["voteCount"] for o in second["poll"]["options"]] == [1, 1, 1]
    assert second["poll"]["totalVoters"] == 2 and second["poll"]["viewerChoices"] == [blue]
    topic_id = poll["topic"]["id"]
    as_first = (await api(READ_TOPIC, {"id": topic_id}, as_="voter-1"))["topic"]["poll"]
    as_reader = (await api(READ_TOPIC, {"id": topic_id}, as_="reader"))["topic"]["poll"]
    anonymous = (await api(READ_TOPIC, {"id": topic_id}))["topic"]["poll"]
    assert as_first["viewerChoices"] == [green, red]
    assert as_reader["viewerChoices"] == [] and anonymous["viewerChoices"] == []
    assert anonymous["totalVoters"] == 2
    ballots = await PollBallot.filter(poll_id=pk_of(poll["id"])).order_by("id")
    assert [b.option_ids for b in ballots] == [[pk_of(green), pk_of(red)], [pk_of(blue)]]


async def test_a_second_ballot_is_a_duplicate_and_changes_nothing(api, board):
    poll = await create_poll(api, board["id"])
    red, blue, _ = (o["id"] for o in poll["options"])
    assert (await vote(api, poll, [red], "voter"))["errors"] == []
    again = await vote(api, poll, [blue], "voter")
    assert again["poll"] is None and codes(again) == [("DUPLICATE", None)]
    row = await Poll.get(id=pk_of(poll["id"]))
    assert row.total_voters == 1
    assert [o.vote_count for o in await PollOption.filter(poll_id=row.pk).order_by("position")] == [
        1,
        0,
        0,
    ]


async def test_choices_must_be_one_to_max_choices_distinct_options_of_this_poll(api, board):
    poll = await create_poll(api, board["id"], maxChoices=2)
    await promote(api, "pollster-2", 3)
    other = await create_poll(api, board["id"], author="pollster-2")
    red, blue, green = (o["id"] for o in poll["options"])
    attempts = [
        [],
        [red, blue, green],
        [red, red],
        [red, other["options"][0]["id"]],
        [poll["id"]],
        ["not-an-id"],
    ]
    for options in attempts:
        answer = await vote(api, poll, options, "voter")
        assert codes(answer) == [("INVALID", ["optionIds"])], options
    assert await PollBallot.all().count() == 0
    assert (await Poll.get(id=pk_of(poll["id"]))).total_voters == 0


async def test_voting_is_for_signed_in_members_who_are_not_banned(api, board):
    poll = await create_poll(api, board["id"])
    red = poll["options"][0]["id"]
    anonymous = (await api(VOTE, {"pollId": poll["id"], "optionIds": [red]}))["votePoll"]
    assert codes(anonymous) == [("UNAUTHENTICATED", None)]
    for sub, status in (("banned", MemberStatus.BANNED), ("muted", MemberStatus.MUTED)):
        await api("{ viewer { id } }", as_=sub)
        await Member.filter(mall_user_id=sub).update(status=status)
    assert codes(await vote(api, poll, [red], "banned")) == [("FORBIDDEN", None)]
    muted = await vote(api, poll, [red], "muted")  # muted members may vote, as they may like
    assert muted["errors"] == [] and muted["poll"]["totalVoters"] == 1


async def test_a_poll_nobody_may_see_is_not_found(api, board):
    poll = await create_poll(api, board["id"])
    red = poll["options"][0]["id"]
    unknown = await api(VOTE, {"pollId": "UG9sbDo5OTk5", "optionIds": [red]}, as_="voter")
    assert codes(unknown["votePoll"]) == [("NOT_FOUND", ["pollId"])]
    assert (await moderate(api, poll["topic"]["id"], "HIDE"))["errors"] == []
    hidden = await vote(api, poll, [red], "voter")
    assert codes(hidden) == [("NOT_FOUND", ["pollId"])]
    assert (await api(READ_NODE, {"id": poll["id"]}, as_="voter"))["node"] is None
    assert await PollBallot.all().count() == 0


async def test_a_poll_closes_when_the_clock_passes_closes_at(api, board):
    poll = await create_poll(
        api, board["id"], closesAt=(clock.now() + timedelta(hours=1)).isoformat()
    )
    red, blue, _ = (o["id"] for o in poll["options"])
    assert (await vote(api, poll, [red], "early"))["errors"] == []
    clock.travel(timedelta(minutes=61))
    late = await vote(api, poll, [blue], "late")
    assert late["poll"] is None and codes(late) == [("CLOSED", None)]
    read = (await api(READ_TOPIC, {"id": poll["topic"]["id"]}))["topic"]["poll"]
    assert read["isClosed"] is True and read["totalVoters"] == 1
    assert [o["voteCount"] for o in read["options"]] == [1, 0, 0]


async def test_thirty_members_voting_at_once_are_all_counted_exactly(api, board):
    poll = await create_poll(api, board["id"], maxChoices=2)
    ids = [o["id"] for o in poll["options"]]
    choices = {
        f"voter-{n}": [ids[n % 3]] + ([ids[(n + 1) % 3]] if n % 4 == 0 else []) for n in range(30)
    }
    for voter in choices:
        await api("{ viewer { id } }", as_=voter)  # members exist before the rush
    answers = await concurrently(
        api.post(VOTE, {"pollId": poll["id"], "optionIds": chosen}, as_=voter)
        for voter, chosen in choices.items()
    )
    assert all(a["votePoll"]["errors"] == [] for a in answers)
    expected = Counter(option for chosen in choices.values() for option in chosen)
    read = (await api(READ_TOPIC, {"id": poll["topic"]["id"]}))["topic"]["poll"]
    assert read["totalVoters"] == 30
    assert {o["id"]: o["voteCount"] for o in read["options"]} == {i: expected[i] for i in ids}
    assert await PollBallot.filter(poll_id=pk_of(poll["id"])).count() == 30


async def test_one_members_ten_ballots_at_once_count_once(api, board):
    poll = await create_poll(api, board["id"])
    ids = [o["id"] for o in poll["options"]]
    await api("{ viewer { id } }", as_="eager")
    answers = await concurrently(
        api.post(VOTE, {"pollId": poll["id"], "optionIds": [ids[n % 3]]}, as_="eager")
        for n in range(10)
    )
    outcomes = Counter(
        "ok" if not a["votePoll"]["errors"] else a["votePoll"]["errors"][0]["code"] for a in answers
    )
    assert outcomes == {"ok": 1, "DUPLICATE": 9}
    row = await Poll.get(id=pk_of(poll["id"]))
    assert row.total_voters == 1
    assert sum(o.vote_count for o in await PollOption.filter(poll_id=row.pk)) == 1
    assert await PollBallot.filter(poll_id=row.pk).count() == 1


# ---------------------------------------------------------------- cost

BOARD_POLLS = f"""
query($slug: String!, $first: Int!) {{
  board(slug: $slug) {{
    topics(first: $first) {{ edges {{ node {{ id kind poll {{ {POLL_FIELDS} }} }} }} }}
  }}
}}"""
VIEWER = "reader"


async def fill_board_with_polls(api, slug: str, size: int) -> None:
    """`size` topics by rotating authors, two in three with a poll; the viewer voted in
    every other poll."""
    board = await create_board(api, slug)
    for n in range(size):
        author = f"{slug}-author-{n % 4}"
        if n % 3 == 2:
            await create_topic(api, board["id"], author, title=f"t{n}")
            continue
        await promote(api, author, 3)
        poll = await create_poll(api, board["id"], author, question=f"q{n}")
        if n % 2 == 0:
            assert (await vote(api, poll, [poll["options"][n % 3]["id"]], VIEWER))["errors"] == []


@pytest.mark.usefixtures("no_rate_limits")
async def test_a_board_page_of_20_polls_costs_what_a_page_of_5_costs(api, sql_statements):
    await fill_board_with_polls(api, "short", 5)
    await fill_board_with_polls(api, "long", 20)
    for reader in (None, VIEWER):
        counts = []
        for slug, size in (("short", 5), ("long", 20)):
            with sql_statements as counter:
                data = await api(BOARD_POLLS, {"slug": slug, "first": size}, as_=reader)
            counts.append(len(counter.statements))
            nodes = [edge["node"] for edge in data["board"]["topics"]["edges"]]
            polls = [node["poll"] for node in nodes if node["kind"] == "POLL"]
            assert len(nodes) == size and len(polls) == size - size // 3
            assert all(node["poll"] is None for node in nodes if node["kind"] != "POLL")
            assert all(len(poll["options"]) == 3 for poll in polls)
            chosen = [poll for poll in polls if poll["viewerChoices"]]
            assert len(chosen) == (0 if reader is None else (size - size // 3 + 1) // 2)
            assert sum(poll["totalVoters"] for poll in polls) == (size - size // 3 + 1) // 2
        print(f"\npoll topics, pages of 5 and 20 ({reader or 'anonymous'}): {counts} statements")
        assert counts[0] == counts[1], counts
