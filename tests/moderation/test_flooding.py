"""Rate limits: members who write too fast are told when to retry; new members are held to
stricter limits, staff to none; the count is atomic under concurrent writes; and a Redis that
does not answer lets members write."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import count

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from mallforum import clock
from mallforum.redis_store import RedisStore
from mallforum.settings import HookSpec, Settings
from models import Comment, Member, Topic
from moderation import ContentDraft, FailPolicy, RateLimited, Stage, Standing, VerdictAction
from moderation.flooding import DEFAULT_LIMITS, FloodHook
from moderation.hooks import HookServices, build_pipeline
from tests.forum import ADMIN, MODERATOR, concurrently, create_board, promote

TOPIC = """mutation($input: CreateTopicInput!) { createTopic(input: $input) {
  topic { id status } errors { code message retryAfter } } }"""
COMMENT = """mutation($input: CreateCommentInput!) { createComment(input: $input) {
  comment { id status } errors { code message retryAfter } } }"""

NEW_TOPICS = DEFAULT_LIMITS["topic"].new_member
TOPICS = DEFAULT_LIMITS["topic"].member
NEW_COMMENTS = DEFAULT_LIMITS["comment"].new_member
COMMENTS = DEFAULT_LIMITS["comment"].member
_numbers = count()


async def post_topic(api, board_id: str, author: str = "alice", **caller) -> dict:
    """A topic with a title and body of its own, so only the rate limits can refuse it."""
    n = next(_numbers)
    topic_input = {"boardId": board_id, "title": f"Haul {n}", "body": f"Post number {n}"}
    return (await api(TOPIC, {"input": topic_input}, as_=author, **caller))["createTopic"]


async def post_comment(api, topic_id: str, author: str = "alice", **caller) -> dict:
    comment_input = {"topicId": topic_id, "body": f"Reply number {next(_numbers)}"}
    return (await api(COMMENT, {"input": comment_input}, as_=author, **caller))["createComment"]


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def retry_after(payload: dict) -> int:
    [error] = payload["errors"]
    assert error["code"] == "RATE_LIMITED"
    assert f"try again in {error['retryAfter']} s" in error["message"]
    return error["retryAfter"]


@pytest.fixture
async def board(api) -> dict:
    return await create_board(api)


@pytest.fixture
async def topic(api, board) -> dict:
    """A topic to comment on, by a moderator: the members' own limits start untouched."""
    posted = await post_topic(api, board["id"], MODERATOR, roles=("moderator",))
    assert codes(posted) == []
    return posted["topic"]


@pytest.fixture
def pipeline_of(app, settings):
    """Installs the pipeline a list of hook specs describes, as MALLFORUM_MODERATION_HOOKS."""
    services = app.state.services
    configured = services["moderation"]

    def install(*specs: dict) -> None:
        hooks = [HookSpec(**spec) for spec in specs]
        changed = settings.model_copy(update={"moderation_hooks": hooks})
        services["moderation"] = build_pipeline(HookServices(changed, services["redis"]))

    yield install
    services["moderation"] = configured


# ---------------------------------------------------------------- limits and windows


async def test_a_new_member_over_the_topic_limit_is_told_when_to_retry(api, board):
    [minute, _] = NEW_TOPICS
    for _ in range(minute.limit):
        assert codes(await post_topic(api, board["id"])) == []
    refused = await post_topic(api, board["id"])
    assert refused["topic"] is None
    assert retry_after(refused) == minute.seconds
    assert await Topic.all().count() == minute.limit


async def test_moving_the_clock_past_the_window_lets_the_member_post_again(api, board):
    [minute, _] = NEW_TOPICS
    for _ in range(minute.limit):
        await post_topic(api, board["id"])
    clock.travel(timedelta(seconds=minute.seconds / 2))
    assert retry_after(await post_topic(api, board["id"])) == minute.seconds / 2
    clock.travel(timedelta(seconds=minute.seconds / 2))
    again = await post_topic(api, board["id"])
    assert codes(again) == [] and again["topic"]["status"] == "PUBLISHED"


async def test_the_hour_window_holds_when_each_minute_has_room(api, board):
    await promote(api, "bob", 1)
    minute, hour = TOPICS
    posted, elapsed = 0, 0.0
    while posted < hour.limit:
        for _ in range(min(minute.limit, hour.limit - posted)):
            assert codes(await post_topic(api, board["id"], "bob")) == []
            posted += 1
        clock.travel(timedelta(seconds=minute.seconds))
        elapsed += minute.seconds
    # the first topic leaves the hour window `hour.seconds` after it was written; the clock
    # runs at the real rate, so the second or two the 20 posts took count too
    waited = hour.seconds - elapsed
    assert waited - 3 <= retry_after(await post_topic(api, board["id"], "bob")) <= waited
    clock.travel(timedelta(seconds=hour.seconds - elapsed))
    assert codes(await post_topic(api, board["id"], "bob")) == []


async def test_refused_attempts_do_not_count_so_retrying_does_not_lock_a_member_out(api, board):
    [minute, _] = NEW_TOPICS
    for _ in range(minute.limit):
        await post_topic(api, board["id"])
    for second in range(10):  # hammering retry, once a second for ten seconds
        assert retry_after(await post_topic(api, board["id"])) == minute.seconds - second
        clock.travel(timedelta(seconds=1))
    clock.travel(timedelta(seconds=minute.seconds - 10))
    assert codes(await post_topic(api, board["id"])) == []


async def test_established_members_may_post_more_than_new_members(api, board):
    await promote(api, "bob", 1)
    assert TOPICS[0].limit > NEW_TOPICS[0].limit
    answers = [await post_topic(api, board["id"], "bob") for _ in range(TOPICS[0].limit + 1)]
    assert [codes(a) for a in answers] == [[]] * TOPICS[0].limit + [["RATE_LIMITED"]]
    answers = [await post_topic(api, board["id"]) for _ in range(TOPICS[0].limit)]
    refused = [a for a in answers if codes(a) == ["RATE_LIMITED"]]
    assert len(refused) == TOPICS[0].limit - NEW_TOPICS[0].limit


async def test_a_member_of_three_days_at_level_0_is_no_longer_new(api, board):
    await api("{ viewer { id } }", as_="carol")
    clock.travel(timedelta(days=3))
    answers = [await post_topic(api, board["id"], "carol") for _ in range(TOPICS[0].limit + 1)]
    assert [codes(a) for a in answers] == [[]] * TOPICS[0].limit + [["RATE_LIMITED"]]


async def test_comments_may_come_faster_than_topics_and_are_counted_apart(api, board, topic):
    [minute, _] = NEW_TOPICS
    for _ in range(minute.limit):
        await post_topic(api, board["id"])
    assert codes(await post_topic(api, board["id"])) == ["RATE_LIMITED"]
    [comments, _] = NEW_COMMENTS
    assert comments.limit > minute.limit
    answers = [await post_comment(api, topic["id"]) for _ in range(comments.limit + 1)]
    assert [codes(a) for a in answers] == [[]] * comments.limit + [["RATE_LIMITED"]]
    assert retry_after(answers[-1]) == comments.seconds
    assert await Comment.filter(author__mall_user_id="alice").count() == comments.limit


async def test_a_flood_is_refused_before_the_other_hooks_look(api, topic):
    assert Settings().moderation_hooks[0].hook == "flooding"
    for _ in range(NEW_COMMENTS[0].limit):
        await post_comment(api, topic["id"])
    spam = {"input": {"topicId": topic["id"], "body": "专业刷单，信誉保证"}}
    refused = (await api(COMMENT, spam, as_="alice"))["createComment"]
    assert codes(refused) == ["RATE_LIMITED"]  # not REJECTED_BY_MODERATION: no word was read


@pytest.mark.parametrize(("sub", "role"), [(MODERATOR, "moderator"), (ADMIN, "admin")])
async def test_moderators_and_admins_have_no_rate_limits(api, board, sub, role):
    writes = 2 * TOPICS[0].limit + 1
    answers = [await post_topic(api, board["id"], sub, roles=(role,)) for _ in range(writes)]
    assert all(codes(a) == [] for a in answers)
    assert await Topic.filter(author__mall_user_id=sub).count() == writes


async def test_concurrent_comments_by_one_member_get_exactly_the_limit_through(api, topic):
    await promote(api, "eager", 2)
    [minute, _] = COMMENTS
    attempts = 3 * minute.limit
    datas = await concurrently(
        api.post(
            COMMENT,
            {"input": {"topicId": topic["id"], "body": f"Me too, {n}"}},
            as_="eager",
        )
        for n in range(attempts)
    )
    outcomes = sorted(tuple(codes(d["createComment"])) for d in datas)
    assert outcomes == [()] * minute.limit + [("RATE_LIMITED",)] * (attempts - minute.limit)
    assert await Comment.filter(author__mall_user_id="eager").count() == minute.limit


# ---------------------------------------------------------------- configuration


async def test_configured_limits_replace_the_defaults_of_their_kind(api, board, topic, pipeline_of):
    pipeline_of({"hook": "flooding", "options": {"limits": {"comment": {"member": [[10, 2]]}}}})
    await promote(api, "bob", 1)
    answers = [await post_comment(api, topic["id"], "bob") for _ in range(3)]
    assert [codes(a) for a in answers] == [[], [], ["RATE_LIMITED"]]
    assert retry_after(answers[-1]) == 10
    # topics keep their default limits
    answers = [await post_topic(api, board["id"], "bob") for _ in range(TOPICS[0].limit + 1)]
    assert codes(answers[-1]) == ["RATE_LIMITED"] and codes(answers[-2]) == []


@pytest.mark.parametrize(
    "limits",
    [
        {"comment": {"member": [[60, 0]]}},
        {"comment": {"member": [[-1, 5]]}},
        {"comment": {"member": [["soon", 5]]}},
        {"comment": {"veterans": [[60, 5]]}},
    ],
)
async def test_a_malformed_limit_stops_start_up_with_its_kind(settings, limits):
    spec = HookSpec(hook="flooding", options={"limits": limits})
    configured = settings.model_copy(update={"moderation_hooks": [spec]})
    store = RedisStore(redis.Redis(), settings.redis_prefix)
    with pytest.raises(ValueError, match="flooding: limits of 'comment'"):
        build_pipeline(HookServices(configured, store))
    await store.close()


# ---------------------------------------------------------------- when Redis fails


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _draft(api, sub: str = "alice") -> ContentDraft:
    await api("{ viewer { id } }", as_=sub)
    member = await Member.get(mall_user_id=sub)
    standing = Standing.of(member, clock.now())
    return ContentDraft("comment", {"body": "Arrived today"}, member, standing)


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[RedisStore]:
    """A real client of a port nobody listens on, retrying nothing so each call fails at once."""
    client = redis.Redis(port=_closed_port(), retry=Retry(NoBackoff(), 0))
    store = RedisStore(client, "mfclosed")
    yield store
    await store.close()


async def test_when_redis_does_not_answer_members_may_write_and_it_is_logged(
    api, unreachable_redis, caplog
):
    draft = await _draft(api)
    hook = FloodHook(unreachable_redis)
    with caplog.at_level(logging.WARNING, logger="moderation.flooding"):
        verdicts = [await hook.review(draft) for _ in range(NEW_COMMENTS[0].limit + 2)]
    assert all(v.action == VerdictAction.ALLOW and not v.reasons for v in verdicts)
    assert "rate limits not applied" in caplog.text


async def test_failing_closed_leaves_the_decision_to_the_stage_policy(api, unreachable_redis):
    draft = await _draft(api)
    stage = Stage(FloodHook(unreachable_redis, fail_open=False), on_failure=FailPolicy.REVIEW)
    verdict = await stage.review(draft)
    assert verdict.action == VerdictAction.REVIEW
    assert [(r.hook, r.code) for r in verdict.reasons] == [("flooding", "hook_error")]


async def test_a_redis_that_hangs_is_given_up_on_within_the_hooks_time_limit(api):
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1 << 16):  # reads every command, answers none, until closed
            pass
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = RedisStore(redis.Redis(port=port), "mfhanging")
    try:
        draft = await _draft(api)
        started = time.monotonic()
        verdict = await FloodHook(store, redis_timeout_ms=100).review(draft)
        assert verdict.action == VerdictAction.ALLOW
        assert time.monotonic() - started < 1
    finally:
        await store.close()
        server.close()
        await server.wait_closed()


async def test_the_limits_hold_on_the_embedded_redis_stand_in(api, settings):
    """With no MALLFORUM_REDIS_URL the service runs on an in-process stand-in, which must
    run the limits' Lua script too."""
    store = RedisStore.from_settings(settings.model_copy(update={"redis_url": None}))
    hook = FloodHook(store)
    draft = await _draft(api)
    [minute, _] = NEW_COMMENTS
    for _ in range(minute.limit):
        assert (await hook.review(draft)).action == VerdictAction.ALLOW
    with pytest.raises(RateLimited) as refused:
        await hook.review(draft)
    assert minute.seconds - 1 < refused.value.retry_after <= minute.seconds
    await store.close()
