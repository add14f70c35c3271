"""HOT: a sorted set per board of its published topics, scored by the HOT score the rows
store (resolvers/feeds.py), written with the tallies (mirrors.tallies).

`Board.topics(sort: HOT)` without a tag is served from it with the same cursors as the
database's listing rows; tagged lists, other orders and other feeds page the listing rows.
A set missing (or not yet complete) is rebuilt from the rows by one reader under a lock
while the others read the database; writes made during a rebuild are kept over what it
read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from functools import partial

from redis.asyncio.client import Pipeline

from mallforum.redis_store import REDIS_FAILURES, RedisStore
from mirrors import READ_TIMEOUT_SECONDS, locks
from models import Board, TopicListing
from models.topics import board_facet

log = logging.getLogger(__name__)

REBUILD_LOCK_MS = 10_000
REDIS_CHUNK = 1_000
#: The member of a HOT set that says it holds every published topic of its board.
BUILT = "built"
#: Extra entries read past a page, for topics tied with the cursor's score.
TIE_SLACK = 4

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


def ranked(topic_id: int) -> str:
    """A topic as a member of a HOT set: equal scores sort by member, so by topic id."""
    return f"{topic_id:020d}"


def put(
    redis: RedisStore, pipe: Pipeline, board_id: int, topic_id: int, score: float | None
) -> None:
    """Queue on a pipeline the topic's entry in its board's HOT set: its score, or None to
    take it out. Written to a complete set, or to one being rebuilt; a missing set waits
    for its rebuild."""
    keys = redis.keys
    pipe.eval(
        PUT_HOT,
        3,
        keys.board_hot(board_id),
        keys.board_hot_rebuild(board_id),
        keys.board_hot_touched(board_id),
        "add" if score is not None else "remove",
        ranked(topic_id),
        repr(float(score)) if score is not None else "0",
        BUILT,
        REBUILD_LOCK_MS,
    )


class HotRebuild:
    """One rebuild of a board's HOT set from its listing rows, in three steps: `begin` (take
    the lock), `read` (the rows), `write` (the draft, then swap it in). Topics written
    between `begin` and `write` are noted as touched and keep their live entries, so what
    the rebuild read before they changed never overwrites them."""

    def __init__(self, redis: RedisStore, board_id: int) -> None:
        self.redis, self.board_id, self.token = redis, board_id, locks.new_token()
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
        rows = await TopicListing.filter(facet=board_facet(self.board_id)).values_list(
            "topic_id", "hot_score"
        )
        return [(int(topic_id), float(score)) for topic_id, score in rows]

    async def write(self, rows: Sequence[tuple[int, float]]) -> bool:
        """Write the draft and swap it in; False when the lock was lost (it expired)."""
        async with self.redis.client.pipeline(transaction=False) as pipe:
            for start in range(0, len(rows), REDIS_CHUNK):
                chunk = rows[start : start + REDIS_CHUNK]
                pipe.zadd(self.draft, {ranked(topic_id): score for topic_id, score in chunk})
            pipe.pexpire(self.draft, REBUILD_LOCK_MS)
            keys = (self.hot, self.draft, self.touched, self.lock)
            pipe.eval(FINISH_HOT, len(keys), *keys, self.token, BUILT)
            return bool((await pipe.execute())[-1])

    async def abandon(self) -> None:
        with contextlib.suppress(*REDIS_FAILURES):
            await self.redis.client.delete(self.draft)
        await locks.release(self.redis, self.lock, self.token)


async def rebuild(redis: RedisStore, board_id: int, force: bool = False) -> bool:
    """Write the board's HOT set from its listing rows, unless it is complete already (or
    `force`); False when another reader is at it."""
    build = HotRebuild(redis, board_id)
    begun = await build.begin(force)
    if begun != 1:
        return begun == 2
    try:
        return await build.write(await build.read())
    except BaseException:
        await build.abandon()
        raise


async def _entries(
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


async def page_entries(
    redis: RedisStore, board_id: int, wanted: int, after: tuple[float, int] | None
) -> list[tuple[int, float]] | None:
    """Up to `wanted` (topic id, score) of the board's HOT set after the cursor's position,
    rebuilding a cold set first; None when the database must answer (Redis down, or the set
    cold while another reader rebuilds it)."""
    try:
        entries = await _entries(redis, board_id, wanted, after)
        if entries is None:
            if not await rebuild(redis, board_id):
                return None
            entries = await _entries(redis, board_id, wanted, after)
    except REDIS_FAILURES as error:
        log.warning("HOT topics of board %s read from the database (%r)", board_id, error)
        return None
    return entries


async def rebuild_all(redis: RedisStore) -> int:
    """Rewrite every board's HOT set from its listing rows; answers the sets written."""
    boards = await Board.all().order_by("id").only("id")
    for board in boards:
        await locks.until_done(partial(rebuild, redis, board.pk, True), REBUILD_LOCK_MS)
    return len(boards)
