"""Tallies: a copy in Redis of each topic's like and comment counts, and of its comments'
like counts, with the topic's entry in its board's HOT set (mirrors.hot).

Every copy is written after the write commits, from the row read FOR SHARE and before that
lock is released, so copies land in the order of the writes and a missing copy is simply
read from the row again: exact under any concurrency, no warm-up needed. The API shows the
rows' own columns (it loads the rows anyway); `topic_tallies` is the fast read for pages
that show counts without the rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import Tortoise
from tortoise.exceptions import BaseORMException
from tortoise.transactions import in_transaction

from mallforum import missed_writes
from mallforum.redis_store import REDIS_FAILURES, RedisStore
from mallforum.transactions import after_commit
from mirrors import READ_TIMEOUT_SECONDS, hot
from mirrors.postgres import for_share, id_list
from models import Comment, ContentStatus

log = logging.getLogger(__name__)

TALLY_TTL_SECONDS = 7 * 86_400
#: Topics rewritten by one statement and one round trip of a rebuild.
REBUILD_BATCH = 500
REDIS_CHUNK = 1_000

Connection = Any  # a Tortoise connection (a transaction's or the pool's)
Row = dict[str, Any]


@dataclass(frozen=True)
class Tally:
    """A topic's like and comment counts."""

    likes: int
    comments: int


async def topic_changed(redis: RedisStore, topic_id: int) -> None:
    """The topic's counts, HOT score or status changed: once the write commits, copy the row
    to its tally and its board's HOT set. Call in the write's transaction."""
    await after_commit(lambda: copy_topics(redis, [topic_id]))


async def comment_likes_changed(redis: RedisStore, comment_id: int) -> None:
    """The comment's like count changed: copy it once the write commits."""
    await after_commit(lambda: _copy_comments(redis, [comment_id]))


async def copy_topics(redis: RedisStore, topic_ids: Sequence[int]) -> list[Row]:
    """Copy the topics' rows, read FOR SHARE, to Redis before the lock is released."""
    try:
        async with in_transaction() as connection:
            rows = await topic_rows(connection, topic_ids, lock=True)
            await write_topics(redis, rows)
    except BaseORMException:
        log.exception("topics %s not copied to Redis: the database failed", list(topic_ids))
        missed_writes.note()
        return []
    return rows


async def topic_rows(connection: Connection, topic_ids: Sequence[int], lock: bool) -> list[Row]:
    if not topic_ids:
        return []
    rows: list[Row] = await connection.execute_query_dict(
        'SELECT "id", "board_id", "status", "like_count", "comment_count", "hot_score"'
        f' FROM "topic" WHERE "id" IN ({id_list(topic_ids)})' + (for_share() if lock else "")
    )
    return rows


async def write_topics(redis: RedisStore, rows: Sequence[Row]) -> None:
    """Write the rows' tallies and HOT entries in one round trip."""
    if not rows:
        return
    keys = redis.keys
    async with redis.client.pipeline(transaction=False) as pipe:
        for row in rows:
            tally = keys.topic_tally(row["id"])
            pipe.hset(tally, mapping={"likes": row["like_count"], "comments": row["comment_count"]})
            pipe.expire(tally, TALLY_TTL_SECONDS)
            hot.put(
                redis,
                pipe,
                row["board_id"],
                row["id"],
                row["hot_score"] if row["status"] == ContentStatus.PUBLISHED else None,
            )
        await pipe.execute()


async def _copy_comments(redis: RedisStore, comment_ids: Sequence[int]) -> list[Row]:
    """Copy the comments' like counts, read FOR SHARE, to Redis before the lock is released."""
    try:
        async with in_transaction() as connection:
            rows: list[Row] = await connection.execute_query_dict(
                'SELECT "id", "topic_id", "like_count" FROM "comment"'
                f' WHERE "id" IN ({id_list(comment_ids)})' + for_share()
            )
            await write_comments(redis, rows)
    except BaseORMException:
        log.exception("comments %s not copied to Redis: the database failed", list(comment_ids))
        missed_writes.note()
        return []
    return rows


async def write_comments(redis: RedisStore, rows: Sequence[Row], fresh: Sequence[int] = ()) -> None:
    """Write the comments' like counts, after emptying the hashes of the `fresh` topics."""
    keys = redis.keys
    async with redis.client.pipeline(transaction=False) as pipe:
        for topic_id in fresh:
            pipe.delete(keys.comment_likes(topic_id))
        for row in rows:
            key = keys.comment_likes(row["topic_id"])
            pipe.hset(key, str(row["id"]), row["like_count"])
            pipe.expire(key, TALLY_TTL_SECONDS)
        await pipe.execute()


async def topic_tallies(redis: RedisStore, topic_ids: Sequence[int]) -> dict[int, Tally]:
    """The topics' like and comment counts from Redis in one round trip; those Redis does
    not hold are read from the rows (and copied). From the rows when Redis does not answer."""
    try:
        async with (
            asyncio.timeout(READ_TIMEOUT_SECONDS),
            redis.client.pipeline(transaction=False) as pipe,
        ):
            for topic_id in topic_ids:
                pipe.hmget(redis.keys.topic_tally(topic_id), ["likes", "comments"])
            held = await pipe.execute()
        tallies = {
            topic_id: Tally(int(likes), int(comments))
            for topic_id, (likes, comments) in zip(topic_ids, held, strict=True)
            if likes is not None and comments is not None
        }
        missing = [topic_id for topic_id in topic_ids if topic_id not in tallies]
        rows = await copy_topics(redis, missing) if missing else []
    except REDIS_FAILURES as error:
        log.warning("tallies read from the rows: Redis did not answer (%r)", error)
        tallies = {}
        rows = await topic_rows(Tortoise.get_connection("default"), topic_ids, lock=False)
    tallies.update({row["id"]: Tally(row["like_count"], row["comment_count"]) for row in rows})
    return tallies


async def comment_like_counts(
    redis: RedisStore, topic_id: int, comment_ids: Sequence[int]
) -> dict[int, int]:
    """Like counts of comments of one topic, from Redis, else from the rows."""
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            held = await redis.client.hmget(
                redis.keys.comment_likes(topic_id), [str(c) for c in comment_ids]
            )
        counts = {c: int(v) for c, v in zip(comment_ids, held, strict=True) if v is not None}
        missing = [c for c in comment_ids if c not in counts]
        if missing:
            copied = await _copy_comments(redis, missing)
            counts.update({row["id"]: row["like_count"] for row in copied})
    except REDIS_FAILURES as error:
        log.warning("comment likes read from the rows: Redis did not answer (%r)", error)
        rows = await Comment.filter(id__in=list(comment_ids)).values_list("id", "like_count")
        counts = {int(comment_id): int(likes) for comment_id, likes in rows}
    return counts


async def rebuild_all(redis: RedisStore) -> int:
    """Rewrite every tally and comment-likes hash Redis holds from the rows (a missing one
    is read from the rows when asked for); answers the topics rewritten."""
    pattern = f"{redis.keys.prefix}:tally:*"
    topic_ids: set[int] = set()
    async for key in redis.client.scan_iter(match=pattern, count=REDIS_CHUNK):
        tag = key.decode().split("{t", 1)[1]
        topic_ids.add(int(tag.split("}", 1)[0]))
    ordered = sorted(topic_ids)
    for start in range(0, len(ordered), REBUILD_BATCH):
        batch = ordered[start : start + REBUILD_BATCH]
        async with in_transaction() as connection:
            await write_topics(redis, await topic_rows(connection, batch, lock=True))
            comments = await connection.execute_query_dict(
                'SELECT "id", "topic_id", "like_count" FROM "comment"'
                f' WHERE "topic_id" IN ({id_list(batch)}) AND "like_count" > 0' + for_share()
            )
            await write_comments(redis, comments, fresh=batch)
    return len(ordered)
