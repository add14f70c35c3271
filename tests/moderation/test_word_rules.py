"""Word rules admins write: who may, what is valid, how they sit over the shipped list, the
log they leave, and how fast every server process applies them."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tortoise.transactions import in_transaction

from mallforum.ids import encode_id
from models import Member, ModerationLog, Topic, WordRule, WordRuleRevision
from moderation.normalize import normalize
from moderation.rule_store import WordRuleStore, next_revision
from resolvers import word_rules
from tests.forum import ADMIN, CALLERS, MODERATOR, concurrently, create_board, promote
from tests.servers import free_port

WRITERS = itertools.count(1)
ROOT = Path(__file__).resolve().parents[2]
ADMIN_CALL = {"as_": ADMIN, "roles": ("admin",)}
MOD_CALL = {"as_": MODERATOR, "roles": ("moderator",)}

UPSERT = """mutation($input: WordRuleInput!) { upsertWordRule(input: $input) {
  rule { id pattern action category overridesDefault createdAt updatedAt updatedBy { id } }
  errors { field code message } } }"""
DELETE = """mutation($id: ID!) { deleteWordRule(id: $id) {
  deletedId errors { field code message } } }"""
RULES = "{ wordRules { id pattern action category overridesDefault } }"
LOG = """{ moderationLog(first: 20) { edges { node {
  action targetId note actor { id } } } } }"""
CREATE_TOPIC = """mutation($input: CreateTopicInput!) { createTopic(input: $input) {
  topic { id status body } errors { code message } } }"""


@pytest.fixture(autouse=True)
async def store(app, clean_state) -> AsyncIterator[WordRuleStore]:
    """The app's word rules, read again after the tables were emptied; afterwards only the
    shipped rules are left, for whichever test runs next."""
    rules: WordRuleStore = app.state.services["word_rules"]
    await rules.refresh()
    yield rules
    await WordRule.all().delete()
    await WordRuleRevision.all().delete()
    await rules.redis.client.delete(rules.revision_key)
    await rules.refresh()


async def upsert(api, pattern: str, action: str, category: str, **caller) -> dict:
    rule_input = {"pattern": pattern, "action": action, "category": category}
    data = await api(UPSERT, {"input": rule_input}, **(caller or ADMIN_CALL))
    return data["upsertWordRule"]


async def delete(api, rule_id: str, **caller) -> dict:
    return (await api(DELETE, {"id": rule_id}, **(caller or ADMIN_CALL)))["deleteWordRule"]


async def post(api, board_id: str, body: str) -> dict:
    """Post a topic as a new established member each time, so the rate limits and the
    repeat checks of the other hooks never speak: only the words decide."""
    author = f"writer-{next(WRITERS)}"
    await promote(api, author, 2)
    variables = {"input": {"boardId": board_id, "title": "My haul", "body": body}}
    return (await api(CREATE_TOPIC, variables, as_=author))["createTopic"]


def codes(answer: dict) -> list[str]:
    return [e["code"] for e in answer["errors"]]


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("anonymous", "UNAUTHENTICATED"),
        ("member", "FORBIDDEN"),
        ("moderator", "FORBIDDEN"),
        ("service", "FORBIDDEN"),
    ],
)
async def test_only_admins_write_word_rules(api, caller, code):
    rule = await upsert(api, "砍一刀", "BLOCK", "referral")
    sub, roles = CALLERS[caller]
    who = {"as_": sub, "roles": roles}
    refused = await upsert(api, "帮我点", "BLOCK", "referral", **who)
    assert refused["rule"] is None and codes(refused) == [code]
    not_deleted = await delete(api, rule["rule"]["id"], **who)
    assert not_deleted["deletedId"] is None and codes(not_deleted) == [code]
    assert await WordRule.all().values_list("pattern", flat=True) == ["砍一刀"]
    assert await ModerationLog.all().count() == 1  # the admin's own upsert


async def test_a_banned_admin_writes_no_rules(api):
    await api("{ viewer { id } }", **ADMIN_CALL)
    await Member.filter(mall_user_id=ADMIN).update(status="BANNED")
    refused = await upsert(api, "砍一刀", "BLOCK", "referral")
    assert codes(refused) == ["FORBIDDEN"] and await WordRule.all().count() == 0


@pytest.mark.parametrize(("caller", "code"), [(None, "UNAUTHENTICATED"), ("bob", "FORBIDDEN")])
async def test_only_moderators_read_word_rules(api, caller, code):
    body = (await api.post(RULES, as_=caller)).json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]


async def test_moderators_read_the_admins_rules_but_not_the_shipped_ones(api):
    referral = (await upsert(api, "砍一刀", "REVIEW", "referral"))["rule"]
    softened = (await upsert(api, "刷 单", "MASK", "spam"))["rule"]
    rules = (await api(RULES, **MOD_CALL))["wordRules"]
    listed = ("id", "pattern", "action", "category", "overridesDefault")
    assert rules == [{k: rule[k] for k in listed} for rule in (referral, softened)]
    assert [r["overridesDefault"] for r in rules] == [False, True]


async def test_word_rules_are_nodes_only_moderators_see(api):
    rule = (await upsert(api, "砍一刀", "BLOCK", "referral"))["rule"]
    query = "query($id: ID!) { node(id: $id) { id ... on WordRule { pattern action } } }"
    seen = await api(query, {"id": rule["id"]}, **MOD_CALL)
    assert seen["node"] == {"id": rule["id"], "pattern": "砍一刀", "action": "BLOCK"}
    assert (await api(query, {"id": rule["id"]}, as_="bob"))["node"] is None


# ---------------------------------------------------------------- what is valid


@pytest.mark.parametrize(
    ("pattern", "category", "fields"),
    [
        ("", "spam", [["input", "pattern"]]),
        ("   ", "spam", [["input", "pattern"]]),
        ("砍" * 101, "spam", [["input", "pattern"]]),
        ("!! ？？ 🌸", "spam", [["input", "pattern"]]),
        ("<>", "spam", [["input", "pattern"]]),
        ("砍一刀", "", [["input", "category"]]),
        ("砍一刀", "Spam", [["input", "category"]]),
        ("砍一刀", "spam-links", [["input", "category"]]),
        ("砍一刀", "s" * 33, [["input", "category"]]),
        ("", "垃圾", [["input", "pattern"], ["input", "category"]]),
    ],
)
async def test_bad_patterns_and_categories_are_invalid_with_the_field_at_fault(
    api, pattern, category, fields
):
    refused = await upsert(api, pattern, "BLOCK", category)
    assert refused["rule"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", f) for f in fields]
    assert await WordRule.all().count() == 0 and await ModerationLog.all().count() == 0


async def test_a_pattern_and_category_are_stored_trimmed(api):
    rule = (await upsert(api, "  砍一刀 ", "BLOCK", " referral "))["rule"]
    assert (rule["pattern"], rule["category"]) == ("砍一刀", "referral")


async def test_a_pattern_that_folds_like_a_rule_changes_that_rule(api):
    first = (await upsert(api, "砍一刀", "REVIEW", "referral"))["rule"]
    again = (await upsert(api, "砍 一 刀！", "BLOCK", "spam"))["rule"]
    assert again["id"] == first["id"]
    assert (again["pattern"], again["action"], again["category"]) == ("砍 一 刀！", "BLOCK", "spam")
    assert again["createdAt"] == first["createdAt"] and again["updatedAt"] >= first["updatedAt"]
    assert await WordRule.all().count() == 1


async def test_a_whole_word_pattern_is_a_rule_of_its_own(api):
    loose = (await upsert(api, "砍一刀", "REVIEW", "referral"))["rule"]
    whole = (await upsert(api, "<砍一刀>", "BLOCK", "referral"))["rule"]
    assert whole["id"] != loose["id"] and await WordRule.all().count() == 2


async def test_concurrent_writes_of_one_pattern_make_one_rule(api):
    spellings = ["砍一刀", "砍 一刀", "砍-一-刀", "砍一刀!", "砍 一 刀"]
    answers = await concurrently(
        api.post(
            UPSERT,
            {"input": {"pattern": p, "action": "BLOCK", "category": "referral"}},
            **ADMIN_CALL,
        )
        for p in spellings
    )
    assert all(a["upsertWordRule"]["errors"] == [] for a in answers)
    assert len({a["upsertWordRule"]["rule"]["id"] for a in answers}) == 1
    assert await WordRule.all().count() == 1
    logged = await ModerationLog.all().values_list("action", flat=True)
    assert sorted(logged) == ["CREATE_WORD_RULE"] + ["UPDATE_WORD_RULE"] * 4


async def test_rules_past_the_cap_are_refused_even_when_written_at_once(api, monkeypatch):
    monkeypatch.setattr(word_rules, "MAX_RULES", 3)
    kept = (await upsert(api, "砍一刀", "BLOCK", "referral"))["rule"]
    await upsert(api, "帮我点", "BLOCK", "referral")
    patterns = ["助力", "拼团群", "集赞", "互助群", "免单群"]
    answers = await concurrently(
        api.post(
            UPSERT,
            {"input": {"pattern": p, "action": "REVIEW", "category": "referral"}},
            **ADMIN_CALL,
        )
        for p in patterns
    )
    outcomes = sorted(codes(a["upsertWordRule"]) for a in answers)
    assert outcomes == [[]] + [["INVALID"]] * 4
    assert await WordRule.all().count() == 3
    changed = await upsert(api, "砍一刀", "MASK", "referral")  # changing one is not adding
    assert changed["errors"] == [] and changed["rule"]["id"] == kept["id"]


async def test_deleting_a_rule_that_is_not_there_is_not_found(api):
    rule = (await upsert(api, "砍一刀", "BLOCK", "referral"))["rule"]
    assert (await delete(api, rule["id"]))["deletedId"] == rule["id"]
    again = await delete(api, rule["id"])
    assert again["deletedId"] is None
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("NOT_FOUND", ["id"])]
    board = await create_board(api)
    not_a_rule = await delete(api, board["id"])
    assert codes(not_a_rule) == ["NOT_FOUND"]


# ---------------------------------------------------------------- rules at work


@pytest.mark.parametrize(
    ("action", "outcome"),
    [
        ("BLOCK", ("REJECTED_BY_MODERATION", None, None)),
        ("MASK", (None, "PUBLISHED", "这家店***真的很划算")),
        ("REVIEW", (None, "PENDING_REVIEW", "这家店砍一刀真的很划算")),
    ],
)
async def test_a_new_rule_applies_to_the_next_post(api, action, outcome):
    board = await create_board(api)
    before = await post(api, board["id"], "朋友帮我砍一刀，终于免费拿到了")
    assert before["errors"] == [] and before["topic"]["status"] == "PUBLISHED"
    await upsert(api, "砍一刀", action, "referral")
    after = await post(api, board["id"], "这家店砍一刀真的很划算")
    code, status, body = outcome
    if code:
        assert codes(after) == [code] and "(referral)" in after["errors"][0]["message"]
    else:
        assert after["errors"] == []
        assert (after["topic"]["status"], after["topic"]["body"]) == (status, body)


async def test_an_admin_softens_a_shipped_block_word_and_deleting_restores_it(api):
    board = await create_board(api)
    text = "有没有人一起刷单的"
    assert codes(await post(api, board["id"], text)) == ["REJECTED_BY_MODERATION"]
    softened = (await upsert(api, "刷单", "MASK", "spam"))["rule"]
    assert softened["overridesDefault"] is True
    masked = await post(api, board["id"], text)
    assert masked["errors"] == [] and masked["topic"]["body"] == "有没有人一起**的"
    await delete(api, softened["id"])
    assert codes(await post(api, board["id"], text + "？")) == ["REJECTED_BY_MODERATION"]
    assert await Topic.all().count() == 1


async def test_an_admin_hardens_a_shipped_mask_word_into_a_block(api):
    board = await create_board(api)
    masked = await post(api, board["id"], "这个客服真是个白痴")
    assert masked["topic"]["body"] == "这个客服真是个**"
    await upsert(api, "白 痴", "BLOCK", "abuse")
    assert codes(await post(api, board["id"], "这个客服真是个白痴！")) == ["REJECTED_BY_MODERATION"]


# ---------------------------------------------------------------- the log


async def test_each_change_is_written_to_the_moderation_log(api):
    created = (await upsert(api, "砍一刀", "REVIEW", "referral"))["rule"]
    await upsert(api, "砍 一刀", "BLOCK", "referral")
    softened = (await upsert(api, "刷单", "MASK", "spam"))["rule"]
    await delete(api, created["id"])
    entries = [e["node"] for e in (await api(LOG, **MOD_CALL))["moderationLog"]["edges"]]
    admin = await Member.get(mall_user_id=ADMIN)
    assert {e["actor"]["id"] for e in entries} == {encode_id("Member", admin.pk)}
    assert created["updatedBy"]["id"] == encode_id("Member", admin.pk)
    assert [(e["action"], e["targetId"], e["note"]) for e in entries] == [
        ("DELETE_WORD_RULE", created["id"], "砍 一刀: BLOCK (referral)"),
        (
            "CREATE_WORD_RULE",
            softened["id"],
            "刷单: MASK (spam), over the shipped 刷单: BLOCK (spam)",
        ),
        (
            "UPDATE_WORD_RULE",
            created["id"],
            "砍 一刀: BLOCK (referral), was 砍一刀: REVIEW (referral)",
        ),
        ("CREATE_WORD_RULE", created["id"], "砍一刀: REVIEW (referral)"),
    ]


# ---------------------------------------------------------------- every process


async def test_a_change_whose_notice_was_lost_is_read_within_the_check_interval(store):
    """A change committed and its revision key raised, but no notice heard: as when this
    process was reconnecting to Redis when the notice went out."""
    admin = await Member.create(mall_user_id="admin-x", nickname="admin")
    async with in_transaction():
        revision = await next_revision()
        await WordRule.create(
            pattern="砍一刀",
            folded="砍一刀",
            action="BLOCK",
            category="referral",
            created_by_id=admin.pk,
            created_at=admin.joined_at,
            updated_by_id=admin.pk,
            updated_at=admin.joined_at,
        )
    await store.redis.client.set(store.revision_key, revision)
    started = time.monotonic()
    while not store.matcher().find(normalize("帮我砍一刀")):
        assert time.monotonic() - started < store.check_seconds + 1, "never reloaded"
        await asyncio.sleep(0.05)
    assert store.revision == revision


@pytest.fixture
async def second_server(settings, tmp_path) -> AsyncIterator[str]:
    """Another server process on this run's database and Redis prefix, with the word rules
    as its only hook; killed however the test ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLFORUM_")} | {
        "MALLFORUM_ENV": settings.env,
        "MALLFORUM_DATABASE_URL": settings.database_url or "",
        "MALLFORUM_REDIS_URL": settings.redis_url or "",
        "MALLFORUM_REDIS_PREFIX": settings.redis_prefix,
        "MALLFORUM_JWT_SECRET": settings.jwt_secret or "",
        "MALLFORUM_MALL_DOMAINS": json.dumps(settings.mall_domains),
        "MALLFORUM_MODERATION_HOOKS": json.dumps([{"hook": "sensitive_words"}]),
    }
    port = free_port()
    output = tmp_path / "server.log"
    with output.open("w") as log:
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "mallforum", "serve", "--port", str(port)),
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            deadline = time.monotonic() + 60
            while True:
                assert server.returncode is None, output.read_text()
                assert time.monotonic() < deadline, output.read_text()
                try:
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), timeout=15)
        except TimeoutError:
            server.kill()
            await server.wait()


async def test_a_second_server_process_applies_a_change_within_a_second(api, second_server):
    board = await create_board(api)
    token = api.token("carol")

    async def post_there(client: httpx.AsyncClient, n: int) -> dict:
        variables = {"input": {"boardId": board["id"], "title": "Deal", "body": f"帮我砍一刀 {n}"}}
        response = await client.post(
            f"{second_server}/graphql",
            json={"query": CREATE_TOPIC, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.json()["data"]["createTopic"]

    async def seconds_until(client: httpx.AsyncClient, change, refused: bool) -> float:
        """Make the change through this process, then post in the other until the post is
        refused (or published again): how long that took, from before the change."""
        started = time.monotonic()
        await change
        for n in range(1, 10_000):
            answer = await post_there(client, n)
            if bool(answer["errors"]) == refused:
                elapsed = time.monotonic() - started
                if refused:
                    assert codes(answer) == ["REJECTED_BY_MODERATION"]
                    assert "(referral)" in answer["errors"][0]["message"]
                return elapsed
            assert time.monotonic() - started < 5, "the other process never applied it"
        raise AssertionError("unreachable")

    async with httpx.AsyncClient(timeout=5) as client:
        allowed = await post_there(client, 0)
        assert allowed["errors"] == [] and allowed["topic"]["status"] == "PUBLISHED"
        blocking = upsert(api, "砍一刀", "BLOCK", "referral")
        added = await seconds_until(client, blocking, refused=True)
        [rule] = await WordRule.all()
        gid = word_rules.rule_gid(rule)
        removed = await seconds_until(client, delete(api, gid), refused=False)
    assert added < 1.0 and removed < 1.0, (added, removed)
