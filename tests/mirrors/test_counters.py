"""Counters in Redis: topic views (once per reader per day, flushed to the rows in batches),
like and comment counts copied exactly under concurrency, and the members active each day.

"Redis forgets everything" is every key of this run deleted (what FLUSHALL does, without
clearing the keys of other runs sharing the server)."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta

import httpx
import pytest
from tortoise.exceptions import IntegrityError

from mallforum import clock, missed_writes
from mallforum.redis_store import view_shard
from mirrors import active_members, hot, tallies
from mirrors.tallies import Tally
from mirrors.views import flush_views, flush_views_logged
from models import ActivityDay, Comment, Like, LikeSubject, Topic
from tests.clock_steps import pin_clock
from tests.forum import concurrently, create_board, create_comment, create_topic, pk_of
from tests.growth.steps import check_in
from tests.moderation.steps import moderate
from tests.stores import delete_keys

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar

VIEWS = "query($id: ID!) { topic(id: $id) { viewCount } }"
NODE = "query($id: ID!) { node(id: $id) { ... on Topic { viewCount } } }"
LIKE = "mutation($id: ID!) { like(id: $id) { likeCount errors { code } } }"
UNLIKE = "mutation($id: ID!) { unlike(id: $id) { likeCount errors { code } } }"
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) { errors { code } } }"


def store(app):
    return app.state.services["redis"]


async def views(api, topic_id, as_=None):
    """viewCount as the topic's page shows it to `as_`, whose read counts."""
    return (await api(VIEWS, {"id": topic_id}, as_=as_))["topic"]["viewCount"]


async def shown(api, topic_id):
    """viewCount where a list shows it: no read is counted."""
    return (await api(NODE, {"id": topic_id}))["node"]["viewCount"]


async def anonymous_views(app, topic_id, address):
    """viewCount as an anonymous reader at `address` sees it (and counts once a day)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://mallforum.test") as c:
        response = await c.post("/graphql", json={"query": VIEWS, "variables": {"id": topic_id}})
    return response.json()["data"]["topic"]["viewCount"]


async def row_views(topic_id):
    return (await Topic.get(id=pk_of(topic_id))).view_count


async def pending(app, topic_id) -> int | None:
    redis = store(app)
    pk = pk_of(topic_id)
    held = await redis.client.hget(redis.keys.pending_views(view_shard(pk)), str(pk))
    return None if held is None else int(held)


async def a_topic(api, **fields):
    board = await create_board(api)
    return await create_topic(api, board["id"], author="alice", **fields)


# ---------------------------------------------------------------- views


async def test_a_reader_counts_once_a_day_and_again_the_next_day(api, app):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    topic = await a_topic(api)
    assert await views(api, topic["id"], as_="bob") == 1
    assert await views(api, topic["id"], as_="bob") == 1
    clock.travel(timedelta(days=1))
    assert await views(api, topic["id"], as_="bob") == 2
    assert await views(api, topic["id"], as_="bob") == 2


async def test_anonymous_readers_count_once_a_day_by_address(api, app):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    topic = await a_topic(api)
    assert await anonymous_views(app, topic["id"], "203.0.113.7") == 1
    assert await anonymous_views(app, topic["id"], "203.0.113.7") == 1
    assert await anonymous_views(app, topic["id"], "198.51.100.20") == 2
    clock.travel(timedelta(days=1))
    assert await anonymous_views(app, topic["id"], "203.0.113.7") == 3


async def test_views_wait_in_redis_and_show_at_once(api, app):
    topic = await a_topic(api)
    for reader in ("bob", "carol", "dave"):
        await views(api, topic["id"], as_=reader)
    assert await row_views(topic["id"]) == 0  # not written per view
    assert await pending(app, topic["id"]) == 3
    assert await shown(api, topic["id"]) == 3  # the row's count and the pending views


async def test_a_flush_adds_the_views_of_many_topics_with_one_update(
    api, app, sql_statements, no_rate_limits
):
    board = await create_board(api)
    topics = [await create_topic(api, board["id"], title=f"t{n}") for n in range(6)]
    readers = [f"reader-{n}" for n in range(4)]
    for n, topic in enumerate(topics):
        for reader in readers[: 1 + n % 4]:
            await views(api, topic["id"], as_=reader)
    expected = {t["id"]: 1 + n % 4 for n, t in enumerate(topics)}
    with sql_statements as counted:
        flushed = await flush_views(store(app))
    assert flushed == sum(expected.values())
    updates = [s for s in counted.statements if s.lstrip().upper().startswith("WITH")]
    assert len(updates) == 1 and len(counted.statements) == 1, counted.statements
    for topic_id, count in expected.items():
        assert await row_views(topic_id) == count
        assert await pending(app, topic_id) is None
        assert await shown(api, topic_id) == count  # shown once, not twice
    with sql_statements as counted:
        assert await flush_views(store(app)) == 0
    assert counted.statements == []


async def test_views_counted_while_flushes_run_are_not_lost(api, app):
    topic = await a_topic(api)
    readers = [f"reader-{n}" for n in range(40)]
    for reader in readers:  # members exist first, so the reads below are only reads
        await api("{ viewer { id } }", as_=reader)
    reads = [api.post(VIEWS, {"id": topic["id"]}, as_=reader) for reader in readers]
    flushes = [flush_views(store(app)) for _ in range(8)]
    mixed: list = [*reads, *flushes]
    random.Random(3).shuffle(mixed)
    for answer in await asyncio.gather(*mixed):
        if isinstance(answer, httpx.Response):
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    await flush_views(store(app))
    assert await row_views(topic["id"]) == 40
    assert await pending(app, topic["id"]) is None
    assert await shown(api, topic["id"]) == 40


async def test_a_failed_flush_puts_the_views_back(api, app, no_rate_limits):
    board = await create_board(api)
    read = await create_topic(api, board["id"], title="read")
    broken = await create_topic(api, board["id"], title="broken")
    for reader in ("bob", "carol", "dave"):
        await views(api, read["id"], as_=reader)
    redis, broken_pk = store(app), pk_of(broken["id"])
    broken_key = redis.keys.pending_views(view_shard(broken_pk))
    await redis.client.hincrby(broken_key, str(broken_pk), -5)  # breaks view_count >= 0
    with pytest.raises(IntegrityError):
        await flush_views(redis)
    assert await row_views(read["id"]) == 0
    assert await pending(app, read["id"]) == 3 and await pending(app, broken["id"]) == -5
    assert await shown(api, read["id"]) == 3
    await redis.client.hdel(broken_key, str(broken_pk))
    assert await flush_views(redis) == 3
    assert await row_views(read["id"]) == 3


async def test_a_read_while_redis_is_down_answers_without_counting(api, app, redis_down):
    topic = await a_topic(api)
    assert await views(api, topic["id"], as_="bob") == 1
    async with redis_down():
        assert await views(api, topic["id"], as_="carol") == 0  # the row's count alone
        assert await flush_views_logged(store(app)) == 0
    assert await views(api, topic["id"], as_="carol") == 2


# ---------------------------------------------------------------- like and comment counts


async def held_tally(app, topic_id) -> dict[str, int]:
    """The topic's tally as Redis holds it (empty when it holds none)."""
    redis = store(app)
    held = await redis.client.hgetall(redis.keys.topic_tally(pk_of(topic_id)))
    return {k.decode(): int(v) for k, v in held.items()}


async def held_comment_likes(app, topic_id, comment_id) -> int | None:
    redis = store(app)
    key = redis.keys.comment_likes(pk_of(topic_id))
    held = await redis.client.hget(key, str(pk_of(comment_id)))
    return None if held is None else int(held)


async def like_rows(kind, subject_id) -> int:
    return await Like.filter(subject_kind=kind, subject_id=pk_of(subject_id)).count()


async def test_counts_in_redis_are_exact_after_fifty_concurrent_likes(api, app):
    topic = await a_topic(api)
    comment = await create_comment(api, topic["id"], author="carol")
    fans = [f"fan-{n}" for n in range(50)]
    await concurrently(api.post(LIKE, {"id": topic["id"]}, as_=fan) for fan in fans)
    await concurrently(api.post(LIKE, {"id": comment["id"]}, as_=fan) for fan in fans[:20])
    assert await held_tally(app, topic["id"]) == {"likes": 50, "comments": 1}
    assert await like_rows(LikeSubject.TOPIC, topic["id"]) == 50
    assert (await Topic.get(id=pk_of(topic["id"]))).like_count == 50
    assert await held_comment_likes(app, topic["id"], comment["id"]) == 20
    assert (await Comment.get(id=pk_of(comment["id"]))).like_count == 20
    await concurrently(api.post(UNLIKE, {"id": topic["id"]}, as_=fan) for fan in fans[:25])
    assert await held_tally(app, topic["id"]) == {"likes": 25, "comments": 1}
    held = await tallies.topic_tallies(store(app), [pk_of(topic["id"])])
    assert held == {pk_of(topic["id"]): Tally(likes=25, comments=1)}


async def test_counts_in_redis_equal_the_rows_after_concurrent_likes_and_unlikes(api, app):
    topic = await a_topic(api)
    comment = await create_comment(api, topic["id"], author="carol")
    members = [f"m-{n}" for n in range(12)]
    shuffle = random.Random(11)
    calls = [
        (shuffle.choice((LIKE, UNLIKE)), subject["id"], shuffle.choice(members))
        for subject in (topic, comment)
        for _ in range(40)
    ]
    await concurrently(api.post(m, {"id": subject}, as_=who) for m, subject, who in calls)
    topic_likes = await like_rows(LikeSubject.TOPIC, topic["id"])
    assert (await held_tally(app, topic["id"]))["likes"] == topic_likes
    assert (await Topic.get(id=pk_of(topic["id"]))).like_count == topic_likes
    comment_likes = await like_rows(LikeSubject.COMMENT, comment["id"])
    assert await held_comment_likes(app, topic["id"], comment["id"]) == comment_likes


async def test_comment_counts_follow_new_deleted_and_hidden_comments(api, app, no_rate_limits):
    topic = await a_topic(api)
    comments = await concurrently(
        api.post(
            "mutation($input: CreateCommentInput!) { createComment(input: $input) "
            "{ comment { id } errors { code } } }",
            {"input": {"topicId": topic["id"], "body": f"comment {n}"}},
            as_=f"writer-{n}",
        )
        for n in range(10)
    )
    ids = [c["createComment"]["comment"]["id"] for c in comments]
    assert await held_tally(app, topic["id"]) == {"likes": 0, "comments": 10}
    await api(DELETE_COMMENT, {"id": ids[0]}, as_="writer-0")
    assert (await held_tally(app, topic["id"]))["comments"] == 9
    await moderate(api, ids[1], "HIDE")
    assert (await held_tally(app, topic["id"]))["comments"] == 8
    await moderate(api, ids[1], "RESTORE")
    assert (await held_tally(app, topic["id"]))["comments"] == 9
    assert (await Topic.get(id=pk_of(topic["id"]))).comment_count == 9


async def test_counts_come_back_from_the_rows_after_redis_forgets_everything(api, app, settings):
    topic = await a_topic(api)
    comment = await create_comment(api, topic["id"], author="carol")
    await create_comment(api, topic["id"], author="dave")
    for fan in ("bob", "erin", "frank"):
        await api(LIKE, {"id": topic["id"]}, as_=fan)
    await api(LIKE, {"id": comment["id"]}, as_="bob")
    await delete_keys(settings)
    assert await held_tally(app, topic["id"]) == {}
    pk, comment_pk = pk_of(topic["id"]), pk_of(comment["id"])
    assert await tallies.topic_tallies(store(app), [pk]) == {pk: Tally(likes=3, comments=2)}
    assert await held_tally(app, topic["id"]) == {"likes": 3, "comments": 2}  # copied again
    assert await tallies.comment_like_counts(store(app), pk, [comment_pk]) == {comment_pk: 1}
    assert await held_comment_likes(app, topic["id"], comment["id"]) == 1
    await api(LIKE, {"id": topic["id"]}, as_="gina")  # and kept from there
    assert await held_tally(app, topic["id"]) == {"likes": 4, "comments": 2}


async def test_likes_while_redis_is_down_count_and_a_rebuild_catches_redis_up(
    api, app, settings, redis_down
):
    topic = await a_topic(api)
    await api(LIKE, {"id": topic["id"]}, as_="bob")
    pk = pk_of(topic["id"])
    async with redis_down():
        for fan in ("carol", "dave"):
            assert (await api(LIKE, {"id": topic["id"]}, as_=fan))["like"]["likeCount"] >= 2
        assert await tallies.topic_tallies(store(app), [pk]) == {pk: Tally(3, 0)}  # the rows
        assert missed_writes.pending()
    assert await held_tally(app, topic["id"]) == {"likes": 1, "comments": 0}  # it missed two
    assert await tallies.rebuild_all(store(app)) >= 1
    assert await held_tally(app, topic["id"]) == {"likes": 3, "comments": 0}


# ---------------------------------------------------------------- active members


async def held_active(app, day) -> int:
    redis = store(app)
    return int(await redis.client.pfcount(redis.keys.active_members(day)))


async def test_active_members_count_each_member_once_a_day(api, app, settings):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    topic = await a_topic(api)  # alice is active
    await create_comment(api, topic["id"], author="bob")
    await api(LIKE, {"id": topic["id"]}, as_="bob")  # bob again: still one
    await api(LIKE, {"id": topic["id"]}, as_="carol")
    day = clock.now().astimezone(settings.zone).date()
    assert await held_active(app, day) == 3  # added as each member's first activity committed
    assert await active_members.active_members(store(app), day) == 3
    clock.travel(timedelta(days=1))
    await check_in(api, "carol")
    await check_in(api, "dave")
    next_day = day + timedelta(days=1)
    assert await active_members.active_members(store(app), next_day) == 2
    assert await active_members.active_members(store(app), day) == 3
    assert await ActivityDay.filter(day=next_day).count() == 2


async def test_active_members_come_back_from_the_rows(api, app, settings, redis_down):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    topic = await a_topic(api)
    for member in ("bob", "carol", "dave", "erin"):
        await api(LIKE, {"id": topic["id"]}, as_=member)
    day = clock.now().astimezone(settings.zone).date()
    await delete_keys(settings)
    assert await active_members.active_members(store(app), day) == 5  # rebuilt from rows
    assert await held_active(app, day) == 5
    async with redis_down():
        await api(LIKE, {"id": topic["id"]}, as_="frank")
        assert await active_members.active_members(store(app), day) == 6  # the rows
    assert await active_members.active_members(store(app), day) == 5  # Redis missed frank
    await active_members.rebuild_recent(settings, store(app))
    assert await active_members.active_members(store(app), day) == 6
    quiet_day = day - timedelta(days=30)
    assert await active_members.active_members(store(app), quiet_day) == 0


async def test_rebuild_all_writes_every_board_and_the_recent_days(
    api, app, settings, no_rate_limits
):
    for slug in ("beauty", "fashion"):
        board = await create_board(api, slug)
        await create_topic(api, board["id"], author="alice", title=slug)
    redis = store(app)
    assert await hot.rebuild_all(redis) == 2  # the boards
    assert await tallies.rebuild_all(redis) == 2  # the tallies Redis holds
    days = await active_members.rebuild_recent(settings, redis)
    assert days == active_members.ACTIVE_REBUILD_DAYS
    for board_pk in (1, 2):
        assert await redis.client.zscore(redis.keys.board_hot(board_pk), hot.BUILT)
