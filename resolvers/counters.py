"""Counters and rankings kept in Redis: topic views, like and comment counts, each board's
HOT order, and the members active each day. PostgreSQL holds the truth; Redis answers
fast and is rebuilt from it.

- Views: the first read of a topic per reader (member, or anonymous address) per day
  counts. Readers go into a HyperLogLog per topic and day; when its estimate grows, the
  growth is added to a hash of pending views, which a task in every process drains
  atomically every `MALLFORUM_VIEW_FLUSH_SECONDS` and adds to `topic.view_count` with one
  UPDATE per 500 topics. `Topic.viewCount` shows the row plus the pending views, so a
  reader sees their own view at once. The HyperLogLog is near exact for the few thousand
  readers a topic has in a day and within about 1% beyond; when Redis does not answer the
  view is not counted (the page still answers), and views pending in a Redis that loses
  its data are lost: the sketches only deduplicate, so they cannot be rebuilt.
- Tallies: a copy of each topic's like and comment counts, and of its comments' like
  counts. Every copy is written after the write commits, from the row read FOR SHARE and
  before that lock is released, so copies land in the order of the writes and a missing
  copy is simply read from the row again: exact under any concurrency, no warm-up needed.
  The API shows the rows' own columns (it loads the rows anyway); `topic_tallies` is the
  fast read for pages that show counts without the rows.
- HOT: a sorted set per board of its published topics scored by the HOT score the rows
  store (see resolvers/topics.py), written with the tallies. `Board.topics(sort: HOT)`
  without a tag is served from it with the same cursors as the database's listing rows;
  tagged lists, other orders and other feeds page the listing rows. A set missing (or not
  yet complete) is rebuilt from the rows by one reader under a lock while the others read
  the database; writes made during a rebuild are kept over what it read.
- Active members: a HyperLogLog per day, added to when a member's `ActivityDay` row is
  first written that day; `active_members` counts it (the rows when Redis cannot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError
from strawberry.dataloader import DataLoader
from tortoise import Tortoise
from tortoise.exceptions import BaseORMException
from tortoise.transactions import in_transaction

from mallforum import clock, reconcile
from mallforum.context import Context
from mallforum.errors import ErrorCode, QueryError
from mallforum.redis_store import VIEW_SHARDS, RedisStore, view_shard
from mallforum.settings import Settings
from mallforum.transactions import after_commit
from models import ActivityDay, Board, Comment, ContentStatus, Topic, TopicListing
from resolvers import topics as feeds  # imports this module too: use its names at call time
from resolvers.contest_ranking import on_postgres
from resolvers.pagination import Page, decode_cursor, encode_cursor, page_size

log = logging.getLogger(__name__)

#: Reads that the database can answer instead give Redis this long. Writes are bounded by
#: the client's own socket timeout (`RedisStore.connect`): a copy of committed data given up
#: early would be missed for nothing when the event loop, not Redis, is slow.
READ_TIMEOUT_SECONDS = 0.25
#: Counting a view waits this long at most, then the page answers without it.
VIEW_TIMEOUT_SECONDS = 1.0
READERS_TTL_SECONDS = 2 * 86_400
TALLY_TTL_SECONDS = 7 * 86_400
ACTIVE_TTL_SECONDS = 400 * 86_400
#: Days of active members (today and the days before) that `rebuild_all` writes.
ACTIVE_REBUILD_DAYS = 7
FLUSH_BATCH = 500
REBUILD_LOCK_MS = 10_000
REDIS_CHUNK = 1_000
#: The member of a HOT set that says it holds every published topic of its board.
BUILT = "built"
#: Extra entries read past a page, for topics tied with the cursor's score.
TIE_SLACK = 4

Connection = Any  # a Tortoise connection (a transaction's or the pool's)
Row = dict[str, Any]

# ---------------------------------------------------------------- scripts

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
#: KEYS: a board's HOT set, its rebuild lock, its touched set. ARGV: 'add' or 'remove', the
#: topic, its score, the built marker, the lock's milliseconds. Writes to a complete set, or
#: to one being rebuilt (noting the topic as touched); a missing set waits for its rebuild.
PUT_HOT = """
local rebuilding = redis.call('EXISTS', KEYS[2]) == 1
if not rebuilding and not redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 0 end
if ARGV[1] == 'add' then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
else
  redis.call('ZREM', KEYS[1], ARGV[2])
end
if rebuilding then
  redis.call('SADD', KEYS[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return 1
"""
#: KEYS: a board's HOT set, its rebuild lock, its touched set. ARGV: a token, the lock's
#: milliseconds, the built marker, and 'force' to rebuild a complete set too. Answers 1 when
#: the caller holds the lock to rebuild, 2 when the set is complete (a reader that found it
#: missing came after another's rebuild), 0 when another holds the lock.
BEGIN_HOT = """
if ARGV[4] ~= 'force' and redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 2 end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('DEL', KEYS[3])
return 1
"""
#: KEYS: a board's HOT set, the rebuild's draft, the touched set, the lock. ARGV: the token,
#: the built marker. Topics written during the rebuild keep their live entry (or absence);
#: the draft, marked built, replaces the set (and keeps no expiry: drafts expire, sets not).
FINISH_HOT = """
if redis.call('GET', KEYS[4]) ~= ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 0
end
for _, topic in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local score = redis.call('ZSCORE', KEYS[1], topic)
  if score then
    redis.call('ZADD', KEYS[2], score, topic)
  else
    redis.call('ZREM', KEYS[2], topic)
  end
end
redis.call('ZADD', KEYS[2], '-inf', ARGV[2])
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('PERSIST', KEYS[1])
redis.call('DEL', KEYS[3], KEYS[4])
return 1
"""
#: KEYS[1]: a lock; ARGV[1]: its holder's token. Releases it only for its holder.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

REDIS_FAILURES = (RedisError, OSError, TimeoutError)


def _ranked(topic_id: int) -> str:
    """A topic as a member of a HOT set: equal scores sort by member, so by topic id."""
    return f"{topic_id:020d}"


def _local_day(settings: Settings) -> date:
    return clock.now().astimezone(settings.zone).date()


def _ids(values: Iterable[int]) -> str:
    """A SQL list of integers (the only values these raw statements hold)."""
    return ",".join(str(int(value)) for value in values)


def _for_share() -> str:
    """Rows read to be copied to Redis are share-locked until the copy is written, so no
    write of them commits in between: copies land in the order of the writes."""
    return " FOR SHARE" if on_postgres() else ""


# ---------------------------------------------------------------- views


async def count_view(settings: Settings, redis: RedisStore, topic_id: int, reader: str) -> int:
    """Count a read of the topic by `reader` ("m:<member id>" or "anon:<address>"): the
    first per reader per day adds a pending view. Answers the views added (0 or 1, rarely
    more when the estimate jumps). When Redis does not answer the view is not counted."""
    day, keys = _local_day(settings), redis.keys
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


async def _pending_views(redis: RedisStore, topic_ids: Sequence[int]) -> list[int]:
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


async def view_count(ctx: Context, topic: Topic) -> int:
    """What `Topic.viewCount` shows: the row's count and the views not yet flushed to it
    (batched for a page of topics). Views being flushed at that instant are briefly left
    out, never counted twice."""
    loaders = ctx.loaders
    if loaders.pending_views_by_topic_id is None:

        async def load(topic_ids: Sequence[int]) -> list[int]:
            return await _pending_views(ctx.redis, topic_ids)

        loaders.pending_views_by_topic_id = DataLoader(load_fn=load)
    return topic.view_count + await loaders.pending_views_by_topic_id.load(topic.pk)


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


# ---------------------------------------------------------------- tallies and HOT sets


@dataclass(frozen=True)
class Tally:
    """A topic's like and comment counts."""

    likes: int
    comments: int


async def topic_changed(redis: RedisStore, topic_id: int) -> None:
    """The topic's counts, HOT score or status changed: once the write commits, copy the row
    to its tally and its board's HOT set. Call in the write's transaction."""
    await after_commit(lambda: _copy_topics(redis, [topic_id]))


async def comment_likes_changed(redis: RedisStore, comment_id: int) -> None:
    """The comment's like count changed: copy it once the write commits."""
    await after_commit(lambda: _copy_comments(redis, [comment_id]))


async def _copy_topics(redis: RedisStore, topic_ids: Sequence[int]) -> list[Row]:
    """Copy the topics' rows, read FOR SHARE, to Redis before the lock is released."""
    try:
        async with in_transaction() as connection:
            rows = await _topic_rows(connection, topic_ids, lock=True)
            await _write_topics(redis, rows)
    except BaseORMException:
        log.exception("topics %s not copied to Redis: the database failed", list(topic_ids))
        reconcile.missed()
        return []
    return rows


async def _topic_rows(connection: Connection, topic_ids: Sequence[int], lock: bool) -> list[Row]:
    if not topic_ids:
        return []
    rows: list[Row] = await connection.execute_query_dict(
        'SELECT "id", "board_id", "status", "like_count", "comment_count", "hot_score"'
        f' FROM "topic" WHERE "id" IN ({_ids(topic_ids)})' + (_for_share() if lock else "")
    )
    return rows


async def _write_topics(redis: RedisStore, rows: Sequence[Row]) -> None:
    """Write the rows' tallies and HOT entries in one round trip."""
    if not rows:
        return
    keys = redis.keys
    async with redis.client.pipeline(transaction=False) as pipe:
        for row in rows:
            tally = keys.topic_tally(row["id"])
            pipe.hset(tally, mapping={"likes": row["like_count"], "comments": row["comment_count"]})
            pipe.expire(tally, TALLY_TTL_SECONDS)
            _put_hot(
                redis,
                pipe,
                row["board_id"],
                row["id"],
                row["hot_score"] if row["status"] == ContentStatus.PUBLISHED else None,
            )
        await pipe.execute()


def _put_hot(
    redis: RedisStore, pipe: Pipeline, board_id: int, topic_id: int, score: float | None
) -> None:
    keys = redis.keys
    pipe.eval(
        PUT_HOT,
        3,
        keys.board_hot(board_id),
        keys.board_hot_rebuild(board_id),
        keys.board_hot_touched(board_id),
        "add" if score is not None else "remove",
        _ranked(topic_id),
        repr(float(score)) if score is not None else "0",
        BUILT,
        REBUILD_LOCK_MS,
    )


async def _copy_comments(redis: RedisStore, comment_ids: Sequence[int]) -> list[Row]:
    """Copy the comments' like counts, read FOR SHARE, to Redis before the lock is released."""
    try:
        async with in_transaction() as connection:
            rows: list[Row] = await connection.execute_query_dict(
                'SELECT "id", "topic_id", "like_count" FROM "comment"'
                f' WHERE "id" IN ({_ids(comment_ids)})' + _for_share()
            )
            await _write_comments(redis, rows)
    except BaseORMException:
        log.exception("comments %s not copied to Redis: the database failed", list(comment_ids))
        reconcile.missed()
        return []
    return rows


async def _write_comments(
    redis: RedisStore, rows: Sequence[Row], fresh: Sequence[int] = ()
) -> None:
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
        rows = await _copy_topics(redis, missing) if missing else []
    except REDIS_FAILURES as error:
        log.warning("tallies read from the rows: Redis did not answer (%r)", error)
        tallies = {}
        rows = await _topic_rows(Tortoise.get_connection("default"), topic_ids, lock=False)
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


# ---------------------------------------------------------------- HOT listing


class HotRebuild:
    """One rebuild of a board's HOT set from its listing rows, in three steps: `begin` (take
    the lock), `read` (the rows), `write` (the draft, then swap it in). Topics written
    between `begin` and `write` are noted as touched and keep their live entries, so what
    the rebuild read before they changed never overwrites them."""

    def __init__(self, redis: RedisStore, board_id: int) -> None:
        self.redis, self.board_id, self.token = redis, board_id, secrets.token_hex(8)
        keys = redis.keys
        self.hot, self.lock = keys.board_hot(board_id), keys.board_hot_rebuild(board_id)
        self.touched = keys.board_hot_touched(board_id)
        self.draft = keys.board_hot_draft(board_id, self.token)

    async def begin(self, force: bool = False) -> int:
        """1: the lock is ours, rebuild; 2: the set is complete (unless `force`); 0: another
        reader holds the lock."""
        keys = (self.hot, self.lock, self.touched)
        mode = "force" if force else ""
        return int(
            await self.redis.client.eval(
                BEGIN_HOT, len(keys), *keys, self.token, REBUILD_LOCK_MS, BUILT, mode
            )
        )

    async def read(self) -> list[tuple[int, float]]:
        rows = await TopicListing.filter(facet=feeds.board_facet(self.board_id)).values_list(
            "topic_id", "hot_score"
        )
        return [(int(topic_id), float(score)) for topic_id, score in rows]

    async def write(self, rows: Sequence[tuple[int, float]]) -> bool:
        """Write the draft and swap it in; False when the lock was lost (it expired)."""
        async with self.redis.client.pipeline(transaction=False) as pipe:
            for start in range(0, len(rows), REDIS_CHUNK):
                chunk = rows[start : start + REDIS_CHUNK]
                pipe.zadd(self.draft, {_ranked(topic_id): score for topic_id, score in chunk})
            pipe.pexpire(self.draft, REBUILD_LOCK_MS)
            keys = (self.hot, self.draft, self.touched, self.lock)
            pipe.eval(FINISH_HOT, len(keys), *keys, self.token, BUILT)
            return bool((await pipe.execute())[-1])

    async def abandon(self) -> None:
        with contextlib.suppress(*REDIS_FAILURES):
            await self.redis.client.delete(self.draft)
            await self.redis.client.eval(RELEASE, 1, self.lock, self.token)


async def rebuild_hot(redis: RedisStore, board_id: int, force: bool = False) -> bool:
    """Write the board's HOT set from its listing rows, unless it is complete already (or
    `force`); False when another reader is at it."""
    rebuild = HotRebuild(redis, board_id)
    begun = await rebuild.begin(force)
    if begun != 1:
        return begun == 2
    try:
        return await rebuild.write(await rebuild.read())
    except BaseException:
        await rebuild.abandon()
        raise


async def _hot_entries(
    redis: RedisStore, board_id: int, wanted: int, after: tuple[float, int] | None
) -> list[tuple[int, float]] | None:
    """Up to `wanted` (topic id, score) of the board's HOT set after the cursor's position;
    None when the set is not complete (missing, or being rebuilt for the first time)."""
    key = redis.keys.board_hot(board_id)
    top = "+inf" if after is None else repr(after[0])
    limit = wanted + TIE_SLACK
    while True:
        async with (
            asyncio.timeout(READ_TIMEOUT_SECONDS),
            redis.client.pipeline(transaction=False) as pipe,
        ):
            pipe.zscore(key, BUILT)
            pipe.zrange(
                key, top, "(-inf", desc=True, byscore=True, offset=0, num=limit, withscores=True
            )
            built, entries = await pipe.execute()
        if built is None:
            return None
        found = [(int(member), float(score)) for member, score in entries]
        if after is not None:  # the cursor's own score is included: keep what follows it
            found = [(t, s) for t, s in found if s < after[0] or t < after[1]]
        if len(found) >= wanted or len(entries) < limit:
            return found[:wanted]
        limit *= 2


def _hot_cursor(after: str) -> tuple[float, int]:
    score, topic_id = decode_cursor(feeds.TOPIC_SORTS[feeds.TopicSort.HOT], after)
    if not (
        isinstance(score, int | float)
        and math.isfinite(score)
        and isinstance(topic_id, int)
        and -(2**63) <= topic_id < 2**63
    ):
        raise QueryError(ErrorCode.INVALID, "after is not a cursor of this list.")
    return float(score), topic_id


async def board_hot_page(
    ctx: Context, board: Board, first: int | None, after: str | None
) -> Page[Topic] | None:
    """A page of the board's topics in HOT order from its Redis set, with the cursors the
    listing rows give; None when the database must answer (Redis down, or the set cold
    while another reader rebuilds it).

    Same page as `topic_page` over the board's listing rows: the board is only listed to
    viewers whose level may see it, and its rows carry its viewing level, so the rows' level
    filter passes them all; pinning does not change a board's order. A topic that left the
    board but is still in the set (its removal not yet copied) is left out of the page."""
    size, key = page_size(first), feeds.TOPIC_SORTS[feeds.TopicSort.HOT]
    position = _hot_cursor(after) if after else None
    try:
        entries = await _hot_entries(ctx.redis, board.pk, size + 1, position)
        if entries is None:
            if not await rebuild_hot(ctx.redis, board.pk):
                return None
            entries = await _hot_entries(ctx.redis, board.pk, size + 1, position)
            if entries is None:
                return None
    except REDIS_FAILURES as error:
        log.warning("HOT topics of board %s read from the database (%r)", board.pk, error)
        return None
    shown = entries[:size]
    topics = {t.pk: t for t in await Topic.filter(id__in=[t for t, _ in shown])} if shown else {}
    ctx.loaders.prime_many(ctx.loaders.topic_by_id, list(topics.values()))
    items = [
        (encode_cursor(key, [score, topic_id]), topic)
        for topic_id, score in shown
        if (topic := topics.get(topic_id)) is not None
        and topic.status == ContentStatus.PUBLISHED
        and topic.board_id == board.pk
    ]
    listed = TopicListing.filter(min_level__lte=ctx.viewer_level, facet=feeds.board_facet(board.pk))
    return Page(items, len(entries) > size, after is not None, listed.count)


# ---------------------------------------------------------------- active members


async def member_active(redis: RedisStore, member_id: int, day: date) -> None:
    """Add the member to the day's active members; call after their activity row commits."""
    key = redis.keys.active_members(day)
    async with redis.client.pipeline() as pipe:
        pipe.pfadd(key, str(member_id))
        pipe.expire(key, ACTIVE_TTL_SECONDS)
        await pipe.execute()


async def active_members(settings: Settings, redis: RedisStore, day: date) -> int:
    """How many members were active on `day` (HyperLogLog: about 1% off beyond a few
    thousand). A day Redis does not hold whole is rebuilt from the activity rows by one
    reader; the others, and all while Redis does not answer, count the rows."""
    keys = redis.keys
    try:
        for _ in range(2):
            async with (
                asyncio.timeout(READ_TIMEOUT_SECONDS),
                redis.client.pipeline(transaction=False) as pipe,
            ):
                pipe.exists(keys.active_members_built(day))
                pipe.pfcount(keys.active_members(day))
                built, count = await pipe.execute()
            if built:
                return int(count)
            if not await _rebuild_active(redis, day):
                break
    except REDIS_FAILURES as error:
        log.warning("active members of %s counted from the rows (%r)", day, error)
    return await ActivityDay.filter(day=day).count()


async def _rebuild_active(redis: RedisStore, day: date, force: bool = False) -> bool:
    """Add every member active on `day` to its HyperLogLog and mark it whole; False when
    another reader is at it. Adding is a union, so activity recorded meanwhile is kept."""
    keys, token = redis.keys, secrets.token_hex(8)
    lock, key = keys.active_members_rebuild(day), keys.active_members(day)
    if not await redis.client.set(lock, token, nx=True, px=REBUILD_LOCK_MS):
        return False
    try:
        if not force and await redis.client.exists(keys.active_members_built(day)):
            return True  # rebuilt by the reader who held the lock before
        members = await ActivityDay.filter(day=day).values_list("member_id", flat=True)
        async with redis.client.pipeline(transaction=False) as pipe:
            pipe.pfadd(key)  # the day exists, even with nobody active
            for start in range(0, len(members), REDIS_CHUNK):
                pipe.pfadd(key, *(str(m) for m in members[start : start + REDIS_CHUNK]))
            pipe.expire(key, ACTIVE_TTL_SECONDS)
            pipe.set(keys.active_members_built(day), 1, ex=ACTIVE_TTL_SECONDS)
            await pipe.execute()
    finally:
        with contextlib.suppress(*REDIS_FAILURES):
            await redis.client.eval(RELEASE, 1, lock, token)
    return True


# ---------------------------------------------------------------- rebuilding everything


async def _until_done(rebuild: Any, *args: Any) -> None:
    """Run a locked rebuild, waiting while a reader's rebuild holds the lock."""
    deadline = asyncio.get_running_loop().time() + REBUILD_LOCK_MS / 1000
    while not await rebuild(*args):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{rebuild.__name__}{args[1:]} stayed locked")
        await asyncio.sleep(0.05)


async def _rebuild_tallies(redis: RedisStore) -> int:
    """Rewrite every tally and comment-likes hash Redis holds from the rows (a missing one
    is read from the rows when asked for); answers the topics rewritten."""
    pattern = f"{redis.keys.prefix}:tally:*"
    topic_ids: set[int] = set()
    async for key in redis.client.scan_iter(match=pattern, count=REDIS_CHUNK):
        tag = key.decode().split("{t", 1)[1]
        topic_ids.add(int(tag.split("}", 1)[0]))
    ordered = sorted(topic_ids)
    for start in range(0, len(ordered), FLUSH_BATCH):
        batch = ordered[start : start + FLUSH_BATCH]
        async with in_transaction() as connection:
            await _write_topics(redis, await _topic_rows(connection, batch, lock=True))
            comments = await connection.execute_query_dict(
                'SELECT "id", "topic_id", "like_count" FROM "comment"'
                f' WHERE "topic_id" IN ({_ids(batch)}) AND "like_count" > 0' + _for_share()
            )
            await _write_comments(redis, comments, fresh=batch)
    return len(ordered)


async def rebuild_all(settings: Settings, redis: RedisStore) -> int:
    """Rebuild every board's HOT set, the tallies Redis holds and the last
    `ACTIVE_REBUILD_DAYS` days of active members from PostgreSQL; answers the keys written
    (not counting their markers). Pending views and view sketches cannot be rebuilt: they
    exist only in Redis."""
    written = 0
    for board in await Board.all().order_by("id").only("id"):
        await _until_done(rebuild_hot, redis, board.pk, True)
        written += 1
    written += await _rebuild_tallies(redis)
    today = _local_day(settings)
    for back in range(ACTIVE_REBUILD_DAYS):
        await _until_done(_rebuild_active, redis, today - timedelta(days=back), True)
        written += 1
    return written
