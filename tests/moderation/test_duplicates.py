"""Near-duplicates: a member's repeated text is held and then refused, near copies (a few
characters changed, spaced out, in traditional characters) count as copies, a ring of new
accounts posting one text is refused from its third account on, and short replies are never
fingerprinted."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from mallforum import clock
from mallforum.redis_store import RedisStore
from models import Comment, Member, ModerationCase
from moderation import ContentDraft, Standing, VerdictAction
from moderation.duplicates import DuplicateHook
from tests.forum import MODERATOR, concurrently, create_board, promote

TOPIC = """mutation($input: CreateTopicInput!) { createTopic(input: $input) {
  topic { id status } errors { code message } } }"""
COMMENT = """mutation($input: CreateCommentInput!) { createComment(input: $input) {
  comment { id status } errors { code message } } }"""

REVIEW = "这款面霜用了两周，脸上干皮起皮的地方好多了，味道也很淡，回购第三瓶"
#: The same review spaced out, in traditional characters, two weeks become three, and a "!".
REVIEW_AGAIN = "這款面霜用了 三 周，臉上乾皮起皮的地方好多了！味道也很淡，回購第三瓶"
OTHER_REVIEW = "耳机降噪效果一般，地铁里还是能听到报站，不过续航确实很长，充一次电能用一周"
ENGLISH = "Fits true to size and the fabric is lovely, I would buy it again in another colour"
ENGLISH_AGAIN = "Fits true to size and the fabric is lovely; I'd buy it again in another color!"
AD = "双十一这款面霜只要九十九，库存不多了，大家快去商城首页抢购吧"
AD_VARIANTS = [
    AD,
    "双十一这款面霜只要九十九！库存不多啦，大家快去商城首页抢购吧～",
    "雙十一這款面霜只要九十九，庫存不多了，大家快去商城首頁搶購吧",
    "双十一 这款面霜 只要九十九，库存不多了，大家赶紧去商城首页抢购吧",
]


@pytest.fixture
async def topic(api) -> dict:
    """A topic to comment on, by a moderator (whose posts are never fingerprinted)."""
    board = await create_board(api)
    topic_input = {"boardId": board["id"], "title": "晒单", "body": "Show us your hauls"}
    posted = await api(TOPIC, {"input": topic_input}, as_=MODERATOR, roles=("moderator",))
    return posted["createTopic"]["topic"]


async def comment(api, topic: dict, body: str, author: str = "bob", **caller) -> dict:
    variables = {"input": {"topicId": topic["id"], "body": body}}
    return (await api(COMMENT, variables, as_=author, **caller))["createComment"]


def outcome(payload: dict) -> str:
    """PUBLISHED, PENDING_REVIEW, or the error code."""
    if payload["errors"]:
        [error] = payload["errors"]
        return error["code"]
    return payload["comment"]["status"]


async def held_reasons() -> list[tuple[str, str]]:
    cases = await ModerationCase.filter(target_kind="Comment")
    return [(r["hook"], r["code"]) for case in cases for r in case.reasons]


async def fingerprint_keys(settings) -> list[bytes]:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return [k async for k in client.scan_iter(match=f"{settings.redis_prefix}:dup:*")]
    finally:
        await client.aclose()


@pytest.fixture
async def established(api) -> str:
    """bob, at level 1: not a new member, so only his own repeats are in question."""
    await promote(api, "bob", 1)
    return "bob"


# ---------------------------------------------------------------- a member's own repeats


async def test_the_same_text_again_is_held_for_review_with_a_case(api, topic, established):
    assert outcome(await comment(api, topic, REVIEW)) == "PUBLISHED"
    assert outcome(await comment(api, topic, REVIEW)) == "PENDING_REVIEW"
    assert await held_reasons() == [("duplicates", "repeated_post")]
    shown = await Comment.filter(status="PUBLISHED").count()
    assert shown == 1


@pytest.mark.parametrize(("first", "again"), [(REVIEW, REVIEW_AGAIN), (ENGLISH, ENGLISH_AGAIN)])
async def test_a_near_copy_is_held_like_the_same_text(api, topic, established, first, again):
    assert outcome(await comment(api, topic, first)) == "PUBLISHED"
    assert outcome(await comment(api, topic, again)) == "PENDING_REVIEW"


async def test_a_different_text_by_the_same_member_passes(api, topic, established):
    assert outcome(await comment(api, topic, REVIEW)) == "PUBLISHED"
    assert outcome(await comment(api, topic, OTHER_REVIEW)) == "PUBLISHED"
    assert outcome(await comment(api, topic, ENGLISH)) == "PUBLISHED"
    assert await ModerationCase.all().count() == 0


async def test_the_same_text_by_two_members_is_no_repeat(api, topic, established):
    await promote(api, "carol", 1)
    assert outcome(await comment(api, topic, REVIEW)) == "PUBLISHED"
    assert outcome(await comment(api, topic, REVIEW, "carol")) == "PUBLISHED"


async def test_a_topic_body_repeated_as_a_comment_is_held(api, topic, established):
    board = await create_board(api, "phones")
    topic_input = {"boardId": board["id"], "title": "面霜反馈", "body": REVIEW}
    posted = (await api(TOPIC, {"input": topic_input}, as_="bob"))["createTopic"]
    assert posted["topic"]["status"] == "PUBLISHED"
    assert outcome(await comment(api, topic, REVIEW_AGAIN)) == "PENDING_REVIEW"


async def test_the_fourth_copy_within_the_window_is_refused(api, topic, established):
    outcomes = [outcome(await comment(api, topic, REVIEW)) for _ in range(4)]
    assert outcomes == ["PUBLISHED", "PENDING_REVIEW", "PENDING_REVIEW", "REJECTED_BY_MODERATION"]
    assert await Comment.all().count() == 3


async def test_a_copy_after_the_repeat_window_passes(api, topic, established):
    assert outcome(await comment(api, topic, REVIEW)) == "PUBLISHED"
    clock.travel(timedelta(hours=23))
    assert outcome(await comment(api, topic, REVIEW_AGAIN)) == "PENDING_REVIEW"
    clock.travel(timedelta(hours=24, minutes=1))  # a day after the held copy too
    assert outcome(await comment(api, topic, REVIEW)) == "PUBLISHED"


async def test_moderators_may_post_the_same_notice_again(api):
    board = await create_board(api)
    notice = {"boardId": board["id"], "title": "社区公告", "body": AD + "（活动以商城页面为准）"}
    answers = [
        (await api(TOPIC, {"input": notice}, as_=MODERATOR, roles=("moderator",)))["createTopic"]
        for _ in range(4)
    ]
    assert [a["topic"]["status"] for a in answers] == ["PUBLISHED"] * 4


# ---------------------------------------------------------------- spam rings of new accounts


async def test_a_ring_of_new_accounts_is_refused_from_its_third_account_on(api, topic):
    answers = [await comment(api, topic, text, f"spam-{n}") for n, text in enumerate(AD_VARIANTS)]
    assert [outcome(a) for a in answers] == ["PUBLISHED", "PUBLISHED"] + [
        "REJECTED_BY_MODERATION"
    ] * 2
    assert "spam_ring" in answers[2]["errors"][0]["message"]
    assert await Comment.filter(author__mall_user_id__startswith="spam-").count() == 2


async def test_established_members_posting_one_text_are_not_a_ring(api, topic):
    for sub in ("fan-1", "fan-2", "fan-3"):
        await promote(api, sub, 1)
        assert outcome(await comment(api, topic, AD, sub)) == "PUBLISHED"
    # nor do they count towards one: the second new account still passes, the third does not
    new_accounts = [outcome(await comment(api, topic, AD, f"spam-{n}")) for n in range(3)]
    assert new_accounts == ["PUBLISHED", "PUBLISHED", "REJECTED_BY_MODERATION"]


async def test_a_ring_is_counted_within_its_window(api, topic):
    for n in range(2):
        assert outcome(await comment(api, topic, AD, f"spam-{n}")) == "PUBLISHED"
    clock.travel(timedelta(hours=6, minutes=1))
    assert outcome(await comment(api, topic, AD, "spam-2")) == "PUBLISHED"
    assert outcome(await comment(api, topic, AD, "spam-3")) == "PUBLISHED"
    assert outcome(await comment(api, topic, AD, "spam-4")) == "REJECTED_BY_MODERATION"


async def test_a_ring_posting_at_once_gets_at_most_two_accounts_through(api, topic):
    spammers = [f"spam-{n}" for n in range(6)]
    for sub in spammers:
        await api("{ viewer { id } }", as_=sub)
    variables = {"input": {"topicId": topic["id"], "body": AD}}
    datas = await concurrently(api.post(COMMENT, variables, as_=sub) for sub in spammers)
    outcomes = [outcome(d["createComment"]) for d in datas]
    assert set(outcomes) <= {"PUBLISHED", "REJECTED_BY_MODERATION"}
    assert outcomes.count("PUBLISHED") <= 2
    assert await Comment.filter(author__mall_user_id__in=spammers).count() <= 2


# ---------------------------------------------------------------- short texts


async def test_short_replies_are_never_fingerprinted(api, topic, settings, established):
    replies = ["同款！", "谢谢分享 👍", "+1", "谢谢分享，我也买了同款，质量不错"]
    for reply in replies:
        for _ in range(2):
            assert outcome(await comment(api, topic, reply)) == "PUBLISHED"
    for n in range(4):
        assert outcome(await comment(api, topic, replies[-1], f"newbie-{n}")) == "PUBLISHED"
    assert await fingerprint_keys(settings) == []


# ---------------------------------------------------------------- when Redis fails


async def test_when_redis_does_not_answer_texts_pass_and_it_is_logged(api, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = RedisStore(redis.Redis(port=port, retry=Retry(NoBackoff(), 0)), "mfclosed")
    await api("{ viewer { id } }", as_="bob")
    member = await Member.get(mall_user_id="bob")
    draft = ContentDraft("comment", {"body": AD}, member, Standing.of(member, clock.now()))
    try:
        with caplog.at_level(logging.WARNING, logger="moderation.duplicates"):
            verdicts = [await DuplicateHook(store).review(draft) for _ in range(4)]
    finally:
        await store.close()
    assert all(v.action == VerdictAction.ALLOW and not v.reasons for v in verdicts)
    assert "duplicates not checked" in caplog.text


async def test_near_copies_are_found_on_the_embedded_redis_stand_in(api, settings):
    """With no MALLFORUM_REDIS_URL the service runs on an in-process stand-in, which must
    run the band index's Lua script too."""
    store = RedisStore.from_settings(settings.model_copy(update={"redis_url": None}))
    hook = DuplicateHook(store)
    await promote(api, "bob", 1)
    member = await Member.get(mall_user_id="bob")

    def draft(text: str) -> ContentDraft:
        return ContentDraft("comment", {"body": text}, member, Standing.of(member, clock.now()))

    try:
        first = await hook.review(draft(REVIEW))
        again = await hook.review(draft(REVIEW_AGAIN))
        other = await hook.review(draft(OTHER_REVIEW))
    finally:
        await store.close()
    assert [first.action, again.action, other.action] == [
        VerdictAction.ALLOW,
        VerdictAction.REVIEW,
        VerdictAction.ALLOW,
    ]
