"""The pipeline as configured: shipped and plug-in hooks by dotted path, time limits and
fail policies, the standing hooks see, and nicknames through the same hooks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mallforum import clock
from mallforum.settings import HookSpec, Settings
from models import Member, ModerationCase, Topic
from moderation.hooks import HookServices, build_pipeline
from tests.forum import MODERATOR, create_board, create_topic, promote

MOD = {"as_": MODERATOR, "roles": ("moderator",)}

DECIDE = """mutation($id: ID!, $approve: Boolean!) {
  decideModerationCase(caseId: $id, approve: $approve, note: "checked") {
    case { id status } errors { code } } }"""

QUEUE = """{ moderationQueue(first: 20) { edges { node {
  id reasons { hook code detail } target { ... on Member { id nickname } } } } } }"""


@pytest.fixture
def hooks(app, settings):
    """Installs a pipeline built from hook specs, as MALLFORUM_MODERATION_HOOKS would."""
    services = app.state.services
    original = services["moderation"]

    def install(*specs: dict) -> None:
        configured = settings.model_copy(
            update={"moderation_hooks": [HookSpec(**spec) for spec in specs]}
        )
        services["moderation"] = build_pipeline(HookServices(configured, services["redis"]))

    yield install
    services["moderation"] = original


async def post(api, board_id: str, body: str, author: str = "alice") -> dict:
    query = """mutation($input: CreateTopicInput!) { createTopic(input: $input) {
      topic { id status body } errors { code message } } }"""
    variables = {"input": {"boardId": board_id, "title": "My haul", "body": body}}
    return (await api(query, variables, as_=author))["createTopic"]


async def case_reasons() -> list[tuple[str, str]]:
    """The reasons on cases about topics (the members' nicknames pass the hooks too)."""
    cases = await ModerationCase.filter(target_kind="Topic")
    return [(r["hook"], r["code"]) for case in cases for r in case.reasons]


# ---------------------------------------------------------------- configuration


def test_hooks_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(
        "MALLFORUM_MODERATION_HOOKS",
        '[{"hook": "contact_info", "options": {"action": "block"}},'
        ' {"hook": "tests.moderation.plugin_hooks:SlowScanner", "options": {"seconds": 2},'
        '  "timeout_ms": 80, "on_failure": "review"}]',
    )
    specs = Settings().moderation_hooks
    assert [(s.hook, s.options, s.timeout_ms, s.on_failure) for s in specs] == [
        ("contact_info", {"action": "block"}, 500, "allow"),
        ("tests.moderation.plugin_hooks:SlowScanner", {"seconds": 2}, 80, "review"),
    ]


def test_the_default_pipeline_lists_the_shipped_hooks():
    names = [spec.hook for spec in Settings().moderation_hooks]
    assert {"sensitive_words", "contact_info"} <= set(names)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"hook": "no_such_hook"}, "unknown moderation hook"),
        ({"hook": "tests.moderation.plugin_hooks:Missing"}, "cannot load moderation hook"),
        ({"hook": "contact_info", "options": {"action": "shout"}}, "must be 'review' or 'block'"),
    ],
)
async def test_a_bad_hook_entry_stops_start_up_with_its_name(settings, spec, message):
    configured = settings.model_copy(update={"moderation_hooks": [HookSpec(**spec)]})
    with pytest.raises(ValueError, match=message):
        build_pipeline(HookServices(configured, None))  # type: ignore[arg-type]


async def test_a_plug_in_hook_by_dotted_path_gives_verdicts(api, hooks):
    hooks({"hook": "tests.moderation.plugin_hooks.brand_guard", "options": {"words": ["某宝店"]}})
    board = await create_board(api)
    refused = await post(api, board["id"], "同款在某宝店便宜二十")
    assert [e["code"] for e in refused["errors"]] == ["REJECTED_BY_MODERATION"]
    assert "competitor" in refused["errors"][0]["message"]
    assert await Topic.all().count() == 0
    passed = await post(api, board["id"], "同款在商城旗舰店买的")
    assert passed["errors"] == [] and passed["topic"]["status"] == "PUBLISHED"


# ---------------------------------------------------------------- time limits and failures


async def test_a_slow_hook_under_the_allow_policy_publishes_and_flags(api, hooks):
    hooks(
        {
            "hook": "tests.moderation.plugin_hooks:SlowScanner",
            "timeout_ms": 50,
            "on_failure": "allow",
        }
    )
    board = await create_board(api)
    answer = await post(api, board["id"], "Fits true to size, lovely fabric")
    assert answer["errors"] == [] and answer["topic"]["status"] == "PUBLISHED"
    assert await case_reasons() == [("slow_scanner", "hook_timeout")]


async def test_a_slow_hook_under_the_review_policy_holds_the_post(api, hooks):
    hooks(
        {
            "hook": "tests.moderation.plugin_hooks:SlowScanner",
            "timeout_ms": 50,
            "on_failure": "review",
        }
    )
    board = await create_board(api)
    answer = await post(api, board["id"], "Fits true to size, lovely fabric")
    assert answer["topic"]["status"] == "PENDING_REVIEW"
    assert await case_reasons() == [("slow_scanner", "hook_timeout")]


@pytest.mark.parametrize(
    ("policy", "status"), [("allow", "PUBLISHED"), ("review", "PENDING_REVIEW")]
)
async def test_a_failing_hook_follows_its_policy(api, hooks, policy, status):
    hooks(
        {"hook": "sensitive_words"},
        {"hook": "tests.moderation.plugin_hooks:BrokenScanner", "on_failure": policy},
    )
    board = await create_board(api)
    answer = await post(api, board["id"], "Arrived in two days, well packed")
    assert answer["errors"] == [] and answer["topic"]["status"] == status
    assert await case_reasons() == [("broken_scanner", "hook_error")]


async def test_a_failing_hook_does_not_soften_another_hooks_block(api, hooks):
    hooks(
        {"hook": "tests.moderation.plugin_hooks:BrokenScanner", "on_failure": "allow"},
        {"hook": "sensitive_words"},
    )
    board = await create_board(api)
    answer = await post(api, board["id"], "专业刷单，信誉保证")
    assert [e["code"] for e in answer["errors"]] == ["REJECTED_BY_MODERATION"]
    assert await Topic.all().count() == 0 and await case_reasons() == []


async def test_a_fast_hook_within_its_limit_adds_nothing(api, hooks):
    hooks({"hook": "tests.moderation.plugin_hooks:SlowScanner", "options": {"seconds": 0.01}})
    board = await create_board(api)
    answer = await post(api, board["id"], "Arrived in two days, well packed")
    assert answer["topic"]["status"] == "PUBLISHED"
    assert await ModerationCase.all().count() == 0  # nor a case about the nickname


# ---------------------------------------------------------------- what hooks see


async def test_hooks_see_the_kind_texts_and_the_authors_standing(api, hooks):
    from tests.moderation.plugin_hooks import Recorder

    hooks({"hook": "tests.moderation.plugin_hooks:Recorder"})
    board = await create_board(api)
    await post(api, board["id"], "First post")
    clock.travel(timedelta(days=5))
    await promote(api, "alice", 2)
    topic = await create_topic(api, board["id"], body="Second post")
    await api(
        """mutation($id: ID!) { moderateContent(input: {id: $id, action: HIDE}) {
        errors { code } } }""",
        {"id": topic["id"]},
        **MOD,
    )
    await post(api, board["id"], "Third post")
    topics = [d for d in Recorder.drafts if d.kind == "topic"]
    assert [d.texts["body"] for d in topics] == ["First post", "Second post", "Third post"]
    first, second, third = topics
    assert first.by_new_member and first.standing.account_age < timedelta(minutes=1)
    assert not second.by_new_member and second.author.level == 2
    assert second.standing.account_age >= timedelta(days=5)
    assert (first.standing.recent_rejections, third.standing.recent_rejections) == (0, 1)


# ---------------------------------------------------------------- nicknames


async def sign_in(api, sub: str, nickname: str) -> str:
    """A request with the mall's token carrying `nickname`; the name the community shows."""
    token = api.token(sub, nickname=nickname)
    response = await api.client.post(
        "/graphql",
        json={"query": "{ viewer { nickname } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()["data"]["viewer"]["nickname"]


async def test_a_clean_nickname_is_shown_as_the_mall_gives_it(api):
    assert await sign_in(api, "u-100001", "小鹿爱穿搭") == "小鹿爱穿搭"
    assert await sign_in(api, "u-100001", "小鹿爱通勤") == "小鹿爱通勤"


async def test_a_nickname_with_masked_words_is_shown_masked(api):
    assert await sign_in(api, "u-100002", "白痴客服退钱") == "**客服退钱"


async def test_a_new_members_contact_nickname_gets_the_default_name_and_no_case(api):
    assert await sign_in(api, "u-100003", "加薇abc12345") == "用户100003"
    member = await Member.get(mall_user_id="u-100003")
    assert member.mall_nickname == "加薇abc12345"
    assert await ModerationCase.all().count() == 0


async def test_a_held_nickname_waits_for_a_moderator_who_may_approve_it(api):
    assert await sign_in(api, "u-100004", "Lily") == "Lily"
    clock.travel(timedelta(days=10))  # no longer new: contact details are held, not refused
    assert await sign_in(api, "u-100004", "Lily 138 1234 5678") == "用户100004"
    assert await sign_in(api, "u-100004", "Lily 138 1234 5678") == "用户100004"
    [case] = (await api(QUEUE, **MOD))["moderationQueue"]["edges"]
    reasons = {(r["hook"], r["code"], r["detail"]) for r in case["node"]["reasons"]}
    assert ("contact_info", "phone", None) in reasons
    assert ("nickname", "held_nickname", "Lily 138 1234 5678") in reasons
    assert len(case["node"]["reasons"]) == 2  # the second request did not screen it again
    assert case["node"]["target"]["nickname"] == "用户100004"
    decided = await api(DECIDE, {"id": case["node"]["id"], "approve": True}, **MOD)
    assert decided["decideModerationCase"]["case"]["status"] == "APPROVED"
    assert (await Member.get(mall_user_id="u-100004")).nickname == "Lily 138 1234 5678"


async def test_a_nickname_is_screened_once_per_change(api, hooks):
    from tests.moderation.plugin_hooks import Recorder

    hooks({"hook": "tests.moderation.plugin_hooks:Recorder"})
    for name in ("Ann", "Ann", "Ann", "Anna", "Anna"):
        await sign_in(api, "u-100005", name)
    nicknames = [d.texts for d in Recorder.drafts if d.kind == "nickname"]
    assert nicknames == [{"nickname": "Ann"}, {"nickname": "Anna"}]
