"""Topic views, counted in Redis and added to the rows in batches.

The first read of a topic per reader (member, or anonymous address) per day counts.
Readers go into a HyperLogLog per topic and day; when its estimate grows, the growth is
added to a hash of pending views, which a task in every process drains atomically every
`MALLFORUM_VIEW_FLUSH_SECONDS` and adds to `topic.view_count` with one UPDATE per 500
topics. `Topic.viewCount` shows the row plus the pending views, so a reader sees their own
view at once. The HyperLogLog is near exact for the few thousand readers a topic has in a
day and within about 1% beyond; when Redis does not answer the view is not counted (the
page still answers), and views pending in a Redis that loses its data are lost: the
sketches only deduplicate, so they cannot be rebuilt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from tortoise import Tortoise

from mallforum.clock import today
from mallforum.redis_store import REDIS_FAILURES, VIEW_SHARDS, RedisStore, view_shard
from mallforum.settings import Settings
from mirrors import READ_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

#: Counting a view waits this long at most, then the page answers without it.
VIEW_TIMEOUT_SECONDS = 1.0
READERS_TTL_SECONDS = 2 * 86_400
FLUSH_BATCH = 500

#: KEYS: the topic's readers that day, how many of them were counted, the shard's pending
#: views. ARGV: the reader, the topic id, the seconds the readers are kept. Adds the growth
#: of the readers' estimate to the pending views; answers the views added.
COUNT_VIEW = """
if redis.call('PFADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
local readers = redis.call('PFCOUNT', KEYS[1])
local counted = tonumber(redis.call('GET', KEYS[2]) or '0')
if readers <= counted then return 0 end
redis.call('SET', KEYS[2], readers, 'EX', ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[2], readers - counted)
return readers - counted
"""
#: KEYS[1]: a shard's pending views. Takes them all (topic, views, topic, views...).
DRAIN_VIEWS = """
local pending = redis.call('HGETALL', KEYS[1])
if #pending > 0 then redis.call('DEL', KEYS[1]) end
return pending
"""


async def count_view(settings: Settings, redis: RedisStore, topic_id: int, reader: str) -> int:
    """Count a read of the topic by `reader` ("m:<member id>" or "anon:<address>"): the
    first per reader per day adds a pending view. Answers the views added (0 or 1, rarely
    more when the estimate jumps). When Redis does not answer the view is not counted."""
    day, keys = today(settings.zone), redis.keys
    try:
        async with asyncio.timeout(VIEW_TIMEOUT_SECONDS):
            added = await redis.client.eval(
                COUNT_VIEW,
                3,
                keys.topic_readers(topic_id, day),
                keys.topic_readers_counted(topic_id, day),
                keys.pending_views(view_shard(topic_id)),
                reader,
                topic_id,
                READERS_TTL_SECONDS,
            )
    except REDIS_FAILURES as error:
        log.warning("view of topic %s not counted: Redis did not answer (%r)", topic_id, error)
        return 0
    return int(added)


async def pending_views(redis: RedisStore, topic_ids: Sequence[int]) -> list[int]:
    """PendingViewsByTopicId: views counted in Redis and not yet in the topics' rows, in one
    round trip; none when Redis does not answer."""
    try:
        async with (
            asyncio.timeout(READ_TIMEOUT_SECONDS),
            redis.client.pipeline(transaction=False) as pipe,
        ):
            for topic_id in topic_ids:
                pipe.hget(redis.keys.pending_views(view_shard(topic_id)), str(topic_id))
            values = await pipe.execute()
    except REDIS_FAILURES as error:
        log.warning("pending views not read: Redis did not answer (%r)", error)
        return [0] * len(topic_ids)
    return [int(value or 0) for value in values]


async def flush_views(redis: RedisStore) -> int:
    """Move the pending views into the topics' rows; answers the views added.

    Each shard's pending views are taken atomically (views counted meanwhile wait for the
    next flush), then added with one UPDATE per `FLUSH_BATCH` topics. When an UPDATE fails,
    its views and those not yet added go back to the pending views and the error is raised.
    """
    async with redis.client.pipeline(transaction=False) as pipe:
        for shard in range(VIEW_SHARDS):
            pipe.eval(DRAIN_VIEWS, 1, redis.keys.pending_views(shard))
        drained = await pipe.execute()
    views: dict[int, int] = {}
    for pending in drained:
        for topic, added in zip(pending[::2], pending[1::2], strict=True):
            views[int(topic)] = views.get(int(topic), 0) + int(added)
    topic_ids = sorted(topic_id for topic_id, added in views.items() if added)
    flushed = 0
    for start in range(0, len(topic_ids), FLUSH_BATCH):
        batch = {topic_id: views[topic_id] for topic_id in topic_ids[start : start + FLUSH_BATCH]}
        try:
            await _add_views(batch)
        except Exception:
            await _put_back(redis, {t: views[t] for t in topic_ids[start:]})
            raise
        flushed += sum(batch.values())
    return flushed


async def _add_views(views: dict[int, int]) -> None:
    """One UPDATE adding each topic's views to its row."""
    values = ", ".join(f"({int(topic_id)}, {int(added)})" for topic_id, added in views.items())
    await Tortoise.get_connection("default").execute_query(
        f'WITH "pending"("id", "views") AS (VALUES {values}) UPDATE "topic"'
        ' SET "view_count" = "view_count" + "pending"."views" FROM "pending"'
        ' WHERE "topic"."id" = "pending"."id"'
    )


async def _put_back(redis: RedisStore, views: dict[int, int]) -> None:
    try:
        async with redis.client.pipeline(transaction=False) as pipe:
            for topic_id, added in views.items():
                pipe.hincrby(redis.keys.pending_views(view_shard(topic_id)), str(topic_id), added)
            await pipe.execute()
    except REDIS_FAILURES as error:
        lost = sum(views.values())
        log.error("%d views lost: not flushed, and Redis did not take them back (%r)", lost, error)


async def flush_views_logged(redis: RedisStore) -> int:
    """`flush_views`, logging rather than raising: for the task and for shutting down."""
    try:
        return await flush_views(redis)
    except REDIS_FAILURES as error:
        log.warning("views not flushed: Redis did not answer (%r)", error)
    except Exception:
        log.exception("views not flushed; they wait for the next flush")
    return 0


async def flushing_views(settings: Settings, redis: RedisStore) -> None:
    """The task of every process: flush the pending views every `view_flush_seconds`
    (0: never; the tests flush when they mean to)."""
    every = settings.view_flush_seconds
    while every > 0:
        await asyncio.sleep(every)
        await flush_views_logged(redis)
