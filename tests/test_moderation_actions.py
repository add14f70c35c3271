"""What moderators do: the queue of cases (held by hooks or reported), deciding them,
actions on topics and comments, and the log each action writes; who may do it.

The steps other moderation tests share (report, moderate, read the queue and the log) are
defined here.
"""

from __future__ import annotations

from typing import Any

import pytest

from models import BadgeAward, Member, ModerationLog, PointReason, Topic
from moderation import ContentDraft, Reason, Verdict, VerdictAction
from tests.forum import MODERATOR, create_board, create_comment, create_topic, pk_of

MOD = {"as_": MODERATOR, "roles": ("moderator",)}

REPORT = """
mutation($input: ReportContentInput!) {
  reportContent(input: $input) { reported errors { field code message } }
}"""
MODERATE = """
mutation($input: ModerateContentInput!) {
  moderateContent(input: $input) {
    target {
      ... on Topic { id status isLocked isPinned isFeatured board { topicCount } }
      ... on Comment { id status topic { commentCount } }
    }
    errors { field code message }
  }
}"""
CASE_FIELDS = """
  id source status reportCount createdAt decidedAt note
  reasons { hook code detail }
  decidedBy { id }
  target {
    ... on Topic { id status author { id } }
    ... on Comment { id status body author { id } }
    ... on Member { id }
  }
"""
QUEUE = f"""
query($status: ModerationCaseStatus, $first: Int, $after: String) {{
  moderationQueue(status: $status, first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{ {CASE_FIELDS} }} }}
  }}
}}"""
DECIDE = f"""
mutation($caseId: ID!, $approve: Boolean!, $note: String) {{
  decideModerationCase(caseId: $caseId, approve: $approve, note: $note) {{
    case {{ {CASE_FIELDS} }}
    errors {{ field code message }}
  }}
}}"""
LOG = """
query($first: Int) {
  moderationLog(first: $first) {
    totalCount
    edges { node { id action targetId note createdAt actor { id } } }
  }
}"""


async def report(api, item_id: str, reporter: str, reason: str = "SPAM", note=None) -> dict:
    variables = {"input": {"id": item_id, "reason": reason, "note": note}}
    return (await api(REPORT, variables, as_=reporter))["reportContent"]


async def moderate(api, item_id: str, action: str, note=None, **caller: Any) -> dict:
    variables = {"input": {"id": item_id, "action": action, "note": note}}
    return (await api(MODERATE, variables, **(caller or MOD)))["moderateContent"]


async def queue(api, status: str = "OPEN") -> list[dict]:
    data = await api(QUEUE, {"status": status}, **MOD)
    return [edge["node"] for edge in data["moderationQueue"]["edges"]]


async def decide(api, case_id: str, approve: bool, note=None, **caller: Any) -> dict:
    variables = {"caseId": case_id, "approve": approve, "note": note}
    return (await api(DECIDE, variables, **(caller or MOD)))["decideModerationCase"]


async def log(api) -> list[tuple[str, str, str | None]]:
    """The moderation log, newest first, as (action, target ID, note)."""
    data = await api(LOG, {"first": 100}, **MOD)
    return [
        (e["node"]["action"], e["node"]["targetId"], e["node"]["note"])
        for e in data["moderationLog"]["edges"]
    ]


async def node(api, item_id: str) -> dict:
    query = """query($id: ID!) { node(id: $id) {
      ... on Topic { status isFeatured } ... on Comment { status } } }"""
    return (await api(query, {"id": item_id}, **MOD))["node"]


class HoldWord:
    """A moderation hook that holds for review any text containing `word`."""

    name = "held_words"

    def __init__(self, word: str) -> None:
        self.word = word

    async def review(self, draft: ContentDraft) -> Verdict:
        if any(self.word in text for text in draft.texts.values()):
            return Verdict(VerdictAction.REVIEW, [Reason(self.name, "suspicious", self.word)])
        return Verdict()


@pytest.fixture
def hold_word(app):
    """Hooks the app's pipeline to hold any text with "hold-me" for review."""
    pipeline = app.state.services["moderation"]
    hook = HoldWord("hold-me")
    stage = pipeline.add(hook)
    yield hook
    pipeline.stages.remove(stage)


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
