"""Q&A (问答): the question's author (or a moderator) accepts one answer; its author earns,
and switching to another answer moves the reward rather than doubling it."""

from __future__ import annotations

from collections import Counter

import pytest

from models import BadgeAward, Member, PointReason, PointTransaction, Topic
from tests.forum import (
    CREATE_TOPIC,
    MODERATOR,
    concurrently,
    create_board,
    create_comment,
    create_topic,
    pk_of,
)
from tests.moderation.steps import MOD, moderate

ACCEPT = """
mutation($id: ID!) {
  acceptAnswer(commentId: $id) {
    topic { id acceptedAnswer { id isAcceptedAnswer author { nickname } } }
    errors { field code message }
  }
}"""
QUESTION_PAGE = """
query($id: ID!) {
  topic(id: $id) {
    acceptedAnswer { id }
    comments(first: 50) {
      edges { node { id isAcceptedAnswer replies { edges { node { id isAcceptedAnswer } } } } }
    }
  }
}"""
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) { deletedId errors { code } } }"

ASKER = "asker"


@pytest.fixture
async def question(api):
    board = await create_board(api)
    return await create_topic(api, board["id"], ASKER, title="Which size?", kind="QUESTION")


async def answers(api, question: dict, *authors: str) -> list[str]:
    """One answer by each author, as comment IDs."""
    return [
        (await create_comment(api, question["id"], author, f"Answer by {author}"))["id"]
        for author in authors
    ]


async def accept(api, comment_id: str, who: str = ASKER, roles=()) -> dict:
    return (await api(ACCEPT, {"id": comment_id}, as_=who, roles=roles))["acceptAnswer"]


def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def reward(api) -> int:
    return api.settings.earning(PointReason.ANSWER_ACCEPTED).points


async def points(sub: str) -> int:
    return (await Member.get(mall_user_id=sub)).points


async def acceptance_ledger(comment_id: str) -> list[tuple[str, int]]:
    """The ledger rows under the answer's acceptance reference, oldest first."""
    rows = await PointTransaction.filter(reference=f"Answer:{pk_of(comment_id)}").order_by("id")
    return [(row.reason, row.delta) for row in rows]


async def accepted_id(question: dict) -> int | None:
    return (await Topic.get(id=pk_of(question["id"]))).accepted_answer_id


async def test_the_questions_author_accepts_an_answer_and_its_author_earns(api, question):
    [first, second] = await answers(api, question, "ann", "ben")
    before = await points("ann")
    accepted = await accept(api, first)
    assert accepted["errors"] == []
    answer = accepted["topic"]["acceptedAnswer"]
    assert answer == {"id": first, "isAcceptedAnswer": True, "author": {"nickname": "ann"}}
    assert await points("ann") == before + reward(api)
    assert await acceptance_ledger(first) == [("ANSWER_ACCEPTED", reward(api))]
    ann = await Member.get(mall_user_id="ann")
    assert await BadgeAward.filter(member_id=ann.pk, badge__code="FIRST_ANSWER").count() == 1
    page = (await api(QUESTION_PAGE, {"id": question["id"]}))["topic"]
    assert page["acceptedAnswer"] == {"id": first}
    flags = {
        edge["node"]["id"]: edge["node"]["isAcceptedAnswer"] for edge in page["comments"]["edges"]
    }
    assert flags == {first: True, second: False}


async def test_accepting_the_accepted_answer_again_changes_nothing(api, question):
    [first] = await answers(api, question, "ann")
    assert (await accept(api, first))["errors"] == []
    after_first = await points("ann")
    again = await accept(api, first)
    assert again["errors"] == [] and again["topic"]["acceptedAnswer"]["id"] == first
    assert await points("ann") == after_first
    assert await acceptance_ledger(first) == [("ANSWER_ACCEPTED", reward(api))]


async def test_switching_answers_moves_the_reward_and_switching_back_earns_once_more(api, question):
    [first, second] = await answers(api, question, "ann", "ben")
    ann, ben = await points("ann"), await points("ben")
    award = reward(api)

    assert (await accept(api, first))["errors"] == []
    switched = await accept(api, second)
    assert switched["errors"] == []
    assert switched["topic"]["acceptedAnswer"]["id"] == second
    assert (await points("ann"), await points("ben")) == (ann, ben + award)
    assert await acceptance_ledger(first) == [
        ("ANSWER_ACCEPTED", award),
        ("CONTENT_REMOVED", -award),
    ]
    assert await acceptance_ledger(second) == [("ANSWER_ACCEPTED", award)]

    back = await accept(api, first)
    assert back["topic"]["acceptedAnswer"]["id"] == first
    assert (await points("ann"), await points("ben")) == (ann + award, ben)
    assert await acceptance_ledger(first) == [
        ("ANSWER_ACCEPTED", award),
        ("CONTENT_REMOVED", -award),
        ("ANSWER_ACCEPTED", award),
    ]
    assert await acceptance_ledger(second) == [
        ("ANSWER_ACCEPTED", award),
        ("CONTENT_REMOVED", -award),
    ]

    assert (await accept(api, first))["errors"] == []  # already accepted: nothing more
    assert (await points("ann"), await points("ben")) == (ann + award, ben)
    assert len(await acceptance_ledger(first)) == 3
    page = (await api(QUESTION_PAGE, {"id": question["id"]}))["topic"]
    flags = {
        edge["node"]["id"]: edge["node"]["isAcceptedAnswer"] for edge in page["comments"]["edges"]
    }
    assert flags == {first: True, second: False}


async def test_switching_between_two_answers_of_one_member_keeps_one_reward(api, question):
    [first] = await answers(api, question, "ann")
    [second] = await answers(api, question, "ann")
    before = await points("ann")
    for comment_id in (first, second, first, second):
        assert (await accept(api, comment_id))["errors"] == []
    assert await points("ann") == before + reward(api)
    rows = await PointTransaction.filter(reference__startswith="Answer:").values_list(
        "delta", flat=True
    )
    assert sum(rows) == reward(api) and len(rows) == 7


async def test_concurrent_acceptances_leave_one_accepted_answer_and_one_reward(api, question):
    authors = [f"helper-{n}" for n in range(8)]
    comment_ids = await answers(api, question, *authors)
    before = {author: await points(author) for author in authors}
    callers = [(ASKER, ()), (MODERATOR, ("moderator",))]
    results = await concurrently(
        api.post(ACCEPT, {"id": comment_ids[n % 8]}, as_=callers[n % 2][0], roles=callers[n % 2][1])
        for n in range(16)
    )
    assert all(r["acceptAnswer"]["errors"] == [] for r in results)
    winner = await accepted_id(question)
    assert winner in {pk_of(c) for c in comment_ids}
    gained = {author: await points(author) - before[author] for author in authors}
    winner_author = authors[[pk_of(c) for c in comment_ids].index(winner)]
    assert gained == {a: reward(api) if a == winner_author else 0 for a in authors}
    net = Counter()
    for row in await PointTransaction.filter(reference__startswith="Answer:"):
        net[row.reference] += row.delta
    assert {ref: total for ref, total in net.items() if total} == {f"Answer:{winner}": reward(api)}
    page = (await api(QUESTION_PAGE, {"id": question["id"]}))["topic"]
    flagged = [e["node"]["id"] for e in page["comments"]["edges"] if e["node"]["isAcceptedAnswer"]]
    assert [pk_of(c) for c in flagged] == [winner]


async def test_the_same_answer_accepted_at_once_earns_once(api, question):
    [answer] = await answers(api, question, "ann")
    before = await points("ann")
    results = await concurrently(api.post(ACCEPT, {"id": answer}, as_=ASKER) for _ in range(10))
    assert all(r["acceptAnswer"]["errors"] == [] for r in results)
    assert await points("ann") == before + reward(api)
    assert await acceptance_ledger(answer) == [("ANSWER_ACCEPTED", reward(api))]


async def test_a_moderator_may_accept_an_answer_to_anyones_question(api, question):
    [answer] = await answers(api, question, "ann")
    accepted = await accept(api, answer, MODERATOR, ("moderator",))
    assert accepted["errors"] == [] and accepted["topic"]["acceptedAnswer"]["id"] == answer


async def test_only_the_questions_author_or_a_moderator_may_accept(api, question):
    [answer] = await answers(api, question, "ann")
    anonymous = (await api(ACCEPT, {"id": answer}))["acceptAnswer"]
    assert codes(anonymous) == [("UNAUTHENTICATED", None)]
    assert codes(await accept(api, answer, "ben")) == [("FORBIDDEN", None)]
    assert codes(await accept(api, answer, "ann")) == [("FORBIDDEN", None)]  # its own author
    assert await accepted_id(question) is None


async def test_an_unknown_comment_is_not_found(api, question):
    missing = await accept(api, "Q29tbWVudDo5OTk5")  # Comment:9999
    assert codes(missing) == [("NOT_FOUND", ["commentId"])]
    assert codes(await accept(api, question["id"])) == [("NOT_FOUND", ["commentId"])]


async def test_the_questions_author_cannot_accept_their_own_answer(api, question):
    [own] = await answers(api, question, ASKER)
    refused = await accept(api, own)
    assert codes(refused) == [("INVALID", ["commentId"])]
    assert "own answer" in refused["errors"][0]["message"]
    moderator = await accept(api, own, MODERATOR, ("moderator",))
    assert codes(moderator) == [("INVALID", ["commentId"])]
    assert await accepted_id(question) is None


async def test_only_comments_on_questions_can_be_accepted(api, question):
    discussion = await create_topic(api, question["board"]["id"], "talker", title="Just talk")
    [comment] = await answers(api, discussion, "ann")
    refused = await accept(api, comment, "talker")
    assert codes(refused) == [("INVALID", ["commentId"])]
    assert (await Topic.get(id=pk_of(discussion["id"]))).accepted_answer_id is None


async def test_only_published_comments_can_be_accepted(api, question):
    [answer] = await answers(api, question, "ann")
    assert (await moderate(api, answer, "HIDE"))["errors"] == []
    assert codes(await accept(api, answer)) == [("NOT_FOUND", ["commentId"])]  # unseen
    assert codes(await accept(api, answer, MODERATOR, ("moderator",))) == [
        ("INVALID", ["commentId"])
    ]
    assert await accepted_id(question) is None


async def test_a_reply_in_a_thread_can_be_the_answer(api, question):
    [answer] = await answers(api, question, "ann")
    reply = await create_comment(api, question["id"], "ben", "Actually, M", answer)
    assert (await accept(api, reply["id"]))["errors"] == []
    page = (await api(QUESTION_PAGE, {"id": question["id"]}))["topic"]
    [thread] = page["comments"]["edges"]
    assert thread["node"]["isAcceptedAnswer"] is False
    assert thread["node"]["replies"]["edges"][0]["node"] == {
        "id": reply["id"],
        "isAcceptedAnswer": True,
    }


async def test_a_deleted_answer_is_no_longer_accepted_and_its_reward_goes_back(api, question):
    [answer] = await answers(api, question, "ann")
    before = await points("ann")  # the comment's own earnings included
    comment_earning = api.settings.earning(PointReason.COMMENT_CREATED).points
    assert (await accept(api, answer))["errors"] == []
    deleted = (await api(DELETE_COMMENT, {"id": answer}, as_="ann"))["deleteComment"]
    assert deleted["errors"] == []
    assert await accepted_id(question) is None
    assert (await api(QUESTION_PAGE, {"id": question["id"]}, **MOD))["topic"][
        "acceptedAnswer"
    ] is None
    assert await points("ann") == before - comment_earning
    assert await acceptance_ledger(answer) == [
        ("ANSWER_ACCEPTED", reward(api)),
        ("CONTENT_REMOVED", -reward(api)),
    ]


async def test_an_answer_a_moderator_deletes_takes_its_reward_back(api, question):
    [first, second] = await answers(api, question, "ann", "ben")
    assert (await accept(api, first))["errors"] == []
    assert (await moderate(api, first, "DELETE"))["errors"] == []
    assert await accepted_id(question) is None
    assert sum(delta for _, delta in await acceptance_ledger(first)) == 0
    ben = await points("ben")
    assert (await accept(api, second))["errors"] == []  # a new answer, not a switch
    assert await points("ben") == ben + reward(api)
    assert len(await acceptance_ledger(first)) == 2


async def test_a_hidden_answer_is_shown_only_to_moderators(api, question):
    [answer] = await answers(api, question, "ann")
    assert (await accept(api, answer))["errors"] == []
    assert (await moderate(api, answer, "HIDE"))["errors"] == []
    as_member = (await api(QUESTION_PAGE, {"id": question["id"]}, as_=ASKER))["topic"]
    as_moderator = (await api(QUESTION_PAGE, {"id": question["id"]}, **MOD))["topic"]
    assert as_member["acceptedAnswer"] is None
    assert as_moderator["acceptedAnswer"] == {"id": answer}


# ---------------------------------------------------------------- cost

BOARD_QUESTIONS = """
query($slug: String!, $first: Int!) {
  board(slug: $slug) {
    topics(first: $first) {
      edges { node { id acceptedAnswer { id isAcceptedAnswer body author { nickname } } } }
    }
  }
}"""


async def fill_board_with_questions(api, slug: str, size: int) -> None:
    """`size` questions by rotating authors, each with two answers; every other question
    has one accepted."""
    board = await create_board(api, slug)
    for n in range(size):
        asker = f"{slug}-asker-{n % 3}"
        variables = {
            "input": {"boardId": board["id"], "title": f"q{n}", "body": "?", "kind": "QUESTION"}
        }
        topic = (await api(CREATE_TOPIC, variables, as_=asker))["createTopic"]["topic"]
        first, _ = await answers(api, topic, f"{slug}-helper-{n % 5}", f"{slug}-other-{n % 2}")
        if n % 2 == 0:
            assert (await accept(api, first, asker))["errors"] == []


@pytest.mark.usefixtures("no_rate_limits")
async def test_a_board_page_of_20_answered_questions_costs_what_a_page_of_5_costs(
    api, sql_statements
):
    await fill_board_with_questions(api, "short", 5)
    await fill_board_with_questions(api, "long", 20)
    await api("{ viewer { id } }", as_="reader")  # signed in before, as readers are
    counts = []
    for slug, size in (("short", 5), ("long", 20)):
        with sql_statements as counter:
            data = await api(BOARD_QUESTIONS, {"slug": slug, "first": size}, as_="reader")
        counts.append(len(counter.statements))
        nodes = [edge["node"] for edge in data["board"]["topics"]["edges"]]
        answered = [node["acceptedAnswer"] for node in nodes if node["acceptedAnswer"]]
        assert len(nodes) == size and len(answered) == (size + 1) // 2
        assert all(answer["isAcceptedAnswer"] and answer["body"] for answer in answered)
    print(f"\nanswered questions, pages of 5 and 20: {counts} statements")
    assert counts[0] == counts[1], counts
