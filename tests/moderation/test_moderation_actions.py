"""What moderators do: the queue of cases (held by hooks or reported), deciding them,
actions on topics and comments, and the log each action writes; who may do it."""

from __future__ import annotations

import pytest

from models import BadgeAward, Member, ModerationLog, PointReason, Topic
from tests.forum import MODERATOR, create_board, create_comment, create_topic, pk_of
from tests.moderation.steps import LOG, MOD, QUEUE, decide, log, moderate, node, queue, report

# ---------------------------------------------------------------- cases held by hooks


async def test_a_held_topic_waits_in_the_queue_with_the_hooks_reasons(api, hold_word):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], body="please hold-me now")
    assert topic["status"] == "PENDING_REVIEW"
    [case] = await queue(api)
    assert case["source"] == "HOOK" and case["status"] == "OPEN"
    assert case["reasons"] == [{"hook": "held_words", "code": "suspicious", "detail": "hold-me"}]
    assert case["reportCount"] == 0 and case["decidedBy"] is None
    assert case["target"]["id"] == topic["id"]
    assert case["target"]["author"]["id"] == topic["author"]["id"]


async def test_approving_a_held_topic_publishes_it_and_a_decided_case_cannot_be_decided_again(
    api, hold_word
):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], body="hold-me")
    [case] = await queue(api)
    answer = await decide(api, case["id"], True, "fine after all")
    assert answer["errors"] == []
    decided = answer["case"]
    assert decided["status"] == "APPROVED" and decided["note"] == "fine after all"
    assert decided["decidedAt"] is not None and decided["decidedBy"] is not None
    assert decided["target"]["status"] == "PUBLISHED"
    shown = await api("query($id: ID!) { topic(id: $id) { status } }", {"id": topic["id"]})
    assert shown["topic"]["status"] == "PUBLISHED"
    board_count = await api(
        "query($id: ID!) { node(id: $id) { ... on Board { topicCount } } }", {"id": board["id"]}
    )
    assert board_count["node"]["topicCount"] == 1
    author = await Member.get(mall_user_id="alice")
    assert author.points == (
        api.settings.earning(PointReason.WELCOME_GIFT).points
        + api.settings.earning(PointReason.TOPIC_CREATED).points
    )
    assert await queue(api) == []
    again = await decide(api, case["id"], False)
    assert [e["code"] for e in again["errors"]] == ["CONFLICT"]
    assert await log(api) == [("APPROVE_CASE", topic["id"], "fine after all")]


async def test_rejecting_a_held_comment_hides_it_and_keeps_the_reason_on_the_case(api, hold_word):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    comment = await create_comment(api, topic["id"], body="hold-me please")
    assert comment["status"] == "PENDING_REVIEW"
    [case] = await queue(api)
    decided = (await decide(api, case["id"], False, "contact details"))["case"]
    assert decided["status"] == "REJECTED" and decided["note"] == "contact details"
    assert decided["target"] == {
        "id": comment["id"],
        "status": "HIDDEN",
        "body": "hold-me please",  # moderators still read it
        "author": decided["target"]["author"],
    }
    assert (await node(api, topic["id"])) == {"status": "PUBLISHED", "isFeatured": False}
    count = await api("query($id: ID!) { topic(id: $id) { commentCount } }", {"id": topic["id"]})
    assert count["topic"]["commentCount"] == 0
    assert [c["status"] for c in await queue(api, "REJECTED")] == ["REJECTED"]


async def test_the_queue_lists_open_cases_oldest_first_and_pages_through_them(api, hold_word):
    board = await create_board(api)
    first = await create_topic(api, board["id"], body="hold-me 1")
    second = await create_topic(api, board["id"], author="bob", body="hold-me 2")
    third = await create_topic(api, board["id"], author="carol")
    await report(api, third["id"], "dave", "ABUSE", "rude")
    cases = await queue(api)
    assert [c["target"]["id"] for c in cases] == [first["id"], second["id"], third["id"]]
    assert [c["source"] for c in cases] == ["HOOK", "HOOK", "REPORT"]
    assert cases[2]["reasons"] == [{"hook": "report", "code": "ABUSE", "detail": "rude"}]
    assert cases[2]["reportCount"] == 1
    page = (await api(QUEUE, {"first": 2}, **MOD))["moderationQueue"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    rest = await api(QUEUE, {"first": 2, "after": page["pageInfo"]["endCursor"]}, **MOD)
    assert [e["node"]["target"]["id"] for e in rest["moderationQueue"]["edges"]] == [third["id"]]
    await decide(api, cases[0]["id"], True)
    assert [c["target"]["id"] for c in await queue(api)] == [second["id"], third["id"]]
    assert [c["target"]["id"] for c in await queue(api, "APPROVED")] == [first["id"]]


@pytest.mark.usefixtures("no_rate_limits")
async def test_an_edit_held_again_adds_its_reasons_to_the_open_case(api, hold_word):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], body="hold-me")
    update = """mutation($input: UpdateTopicInput!) {
      updateTopic(input: $input) { topic { status } errors { code } } }"""
    edited = await api(update, {"input": {"id": topic["id"], "body": "still hold-me"}}, as_="alice")
    assert edited["updateTopic"] == {"topic": {"status": "PENDING_REVIEW"}, "errors": []}
    [case] = await queue(api)
    assert len(case["reasons"]) == 2


# ---------------------------------------------------------------- actions on content


async def test_each_action_on_a_topic_changes_it_and_writes_its_log_entry(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    steps = [
        ("HIDE", {"status": "HIDDEN"}, 0),
        ("RESTORE", {"status": "PUBLISHED"}, 1),
        ("LOCK", {"isLocked": True}, 1),
        ("UNLOCK", {"isLocked": False}, 1),
        ("PIN", {"isPinned": True}, 1),
        ("UNPIN", {"isPinned": False}, 1),
        ("FEATURE", {"isFeatured": True}, 1),
        ("UNFEATURE", {"isFeatured": False}, 1),
        ("DELETE", {"status": "DELETED"}, 0),
        ("RESTORE", {"status": "PUBLISHED"}, 1),
    ]
    for number, (action, expected, board_count) in enumerate(steps):
        answer = await moderate(api, topic["id"], action, f"step {number}")
        assert answer["errors"] == [], action
        target = answer["target"]
        assert {name: target[name] for name in expected} == expected, action
        assert target["board"]["topicCount"] == board_count, action
    assert await log(api) == [
        (action, topic["id"], f"step {number}")
        for number, (action, _, _) in reversed(list(enumerate(steps)))
    ]
    entry = await ModerationLog.filter(action="HIDE").first()
    assert entry is not None and entry.actor_id == (await Member.get(mall_user_id=MODERATOR)).pk


async def test_held_content_is_approved_or_rejected_and_its_case_closed(api, hold_word):
    board = await create_board(api)
    kept = await create_topic(api, board["id"], body="hold-me")
    dropped = await create_topic(api, board["id"], author="bob", body="hold-me too")
    assert (await moderate(api, kept["id"], "APPROVE"))["target"]["status"] == "PUBLISHED"
    assert (await moderate(api, dropped["id"], "REJECT", "no"))["target"]["status"] == "HIDDEN"
    assert await queue(api) == []
    assert [c["target"]["id"] for c in await queue(api, "APPROVED")] == [kept["id"]]
    [rejected] = await queue(api, "REJECTED")
    assert rejected["target"]["id"] == dropped["id"] and rejected["note"] == "no"


async def test_hiding_and_restoring_a_comment_keeps_the_topics_count(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    comment = await create_comment(api, topic["id"])
    hidden = await moderate(api, comment["id"], "HIDE")
    assert hidden["target"] == {
        "id": comment["id"],
        "status": "HIDDEN",
        "topic": {"commentCount": 0},
    }
    restored = await moderate(api, comment["id"], "RESTORE")
    assert restored["target"]["status"] == "PUBLISHED"
    assert restored["target"]["topic"] == {"commentCount": 1}
    deleted = await moderate(api, comment["id"], "DELETE")
    assert deleted["target"]["status"] == "DELETED"
    assert deleted["target"]["topic"] == {"commentCount": 0}


@pytest.mark.parametrize(
    ("on", "action", "status"),
    [
        ("comment", "LOCK", None),
        ("comment", "FEATURE", None),
        ("topic", "RESTORE", "PUBLISHED"),
        ("topic", "APPROVE", "PUBLISHED"),
        ("topic", "REJECT", "PUBLISHED"),
        ("topic", "UNPIN", None),
        ("topic", "UNLOCK", None),
        ("hidden topic", "HIDE", "HIDDEN"),
        ("hidden topic", "FEATURE", "HIDDEN"),
    ],
)
async def test_an_action_that_does_not_fit_the_content_is_invalid(api, on, action, status):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    item = topic if on != "comment" else await create_comment(api, topic["id"])
    if on == "hidden topic":
        await moderate(api, topic["id"], "HIDE")
    logged = await ModerationLog.all().count()
    answer = await moderate(api, item["id"], action)
    assert answer["target"] is None
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("INVALID", ["input", "action"])]
    if status is not None:
        assert (await node(api, item["id"]))["status"] == status
    assert await ModerationLog.all().count() == logged


async def test_an_unknown_item_is_not_found(api):
    answer = await moderate(api, "VG9waWM6OTk5", "HIDE")  # Topic:999
    assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]


async def test_featuring_earns_the_author_once_per_topic_and_the_featured_badge(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    author = await Member.get(mall_user_id="alice")
    before = author.points
    for action in ("FEATURE", "UNFEATURE", "FEATURE"):
        assert (await moderate(api, topic["id"], action))["errors"] == []
    author = await Member.get(mall_user_id="alice")
    assert author.points == before + api.settings.earning(PointReason.TOPIC_FEATURED).points
    awards = await BadgeAward.filter(member_id=author.pk).prefetch_related("badge")
    assert "BEST_SHARER" in [award.badge.code for award in awards]
    assert await Topic.filter(id=pk_of(topic["id"]), is_featured=True).exists()


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize(
    ("caller", "roles", "code"),
    [(None, (), "UNAUTHENTICATED"), ("bob", (), "FORBIDDEN")],
)
async def test_only_moderators_act_on_content_and_decide_cases(api, hold_word, caller, roles, code):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], body="hold-me")
    [case] = await queue(api)
    who = {"as_": caller, "roles": roles}
    acted = await moderate(api, topic["id"], "APPROVE", **who)
    assert acted["target"] is None and [e["code"] for e in acted["errors"]] == [code]
    decided = await decide(api, case["id"], True, **who)
    assert decided["case"] is None and [e["code"] for e in decided["errors"]] == [code]
    assert (await node(api, topic["id"]))["status"] == "PENDING_REVIEW"
    assert await ModerationLog.all().count() == 0


@pytest.mark.parametrize(("caller", "code"), [(None, "UNAUTHENTICATED"), ("bob", "FORBIDDEN")])
async def test_only_moderators_read_the_queue_and_the_log(api, caller, code):
    for query in (QUEUE, LOG):
        response = await api.post(query, {}, as_=caller)
        body = response.json()
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]


async def test_cases_are_nodes_only_moderators_see(api, hold_word):
    board = await create_board(api)
    await create_topic(api, board["id"], body="hold-me")
    [case] = await queue(api)
    query = "query($id: ID!) { node(id: $id) { id ... on ModerationCase { status } } }"
    seen = await api(query, {"id": case["id"]}, **MOD)
    assert seen["node"] == {"id": case["id"], "status": "OPEN"}
    assert (await api(query, {"id": case["id"]}, as_="alice"))["node"] is None
