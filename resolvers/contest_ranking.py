"""The live ranking of a contest: a Redis sorted set per contest, rebuilt from the rows.

Members of the set are entry ids zero-padded to 20 digits, scored by minus their votes, so
`1 + ZRANK` is the place by votes with ties to the earlier entry (equal scores sort by
member). A vote's count is written while the entry's row is locked, so counts reach Redis
in the order they were made, and only to a ranking that exists: a missing one is rebuilt
whole from the rows (one reader at a time, under a short Redis lock), never started from
one entry. Ranks are among published entries: the unpublished ones ahead of an entry are
taken off its place. When Redis does not answer, the rows answer, and votes still count;
the rankings that missed a vote are dropped as soon as Redis answers again, and each
ranking expires an hour after it was built.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import secrets

from redis.exceptions import RedisError
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from mallforum.context import Context
from mallforum.redis_store import RedisStore
from models import ContentStatus, Contest, ContestEntry

log = logging.getLogger(__name__)

RANKING_TTL_MS = 3_600_000
REBUILD_LOCK_MS = 5_000
REDIS_TIMEOUT_SECONDS = 0.25

#: KEYS[1]: a contest's ranking. ARGV: score, member, and "new" to add an entry without
#: touching one already there. Writes only to a ranking that exists: a missing one is
#: rebuilt whole from the rows, never started from one entry.
PUT_IF_RANKED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] == 'new' then return redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) end
return redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
"""
#: KEYS[1]: a lock; ARGV[1]: its holder's token. Releases it only for its holder.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _ranked(entry_id: int) -> str:
    """An entry as a member of the sorted set: equal scores sort by member, so by entry id."""
    return f"{entry_id:020d}"


#: Rankings this process could not update while Redis failed: dropped, to be rebuilt from
#: the rows, as soon as Redis answers again (they also expire an hour after each rebuild).
_stale_rankings: set[int] = set()


async def _drop_stale(ctx: Context) -> None:
    if not _stale_rankings:
        return
    stale = list(_stale_rankings)
    async with ctx.redis.client.pipeline(transaction=False) as pipe:
        for contest_id in stale:
            pipe.delete(ctx.redis.keys.contest_ranking(contest_id))
        await pipe.execute()
    _stale_rankings.difference_update(stale)


def on_postgres() -> bool:
    return bool(Tortoise.get_connection("default").capabilities.dialect == "postgres")


async def put_ranking(ctx: Context, contest_id: int, entry_id: int, votes: int, new: bool) -> None:
    """Write an entry's votes to the contest's ranking, if Redis holds it. Vote counts are
    written while the entry's row is locked, so they arrive in order; when Redis does not
    answer the vote still counts, and the ranking heals when it expires."""
    key = ctx.redis.keys.contest_ranking(contest_id)
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await _drop_stale(ctx)
            await ctx.redis.client.eval(
                PUT_IF_RANKED, 1, key, -votes, _ranked(entry_id), "new" if new else ""
            )
    except (RedisError, OSError, TimeoutError) as error:
        _stale_rankings.add(contest_id)
        log.warning(
            "ranking of contest %s not updated: Redis did not answer (%s)", contest_id, error
        )


async def forget_ranking(ctx: Context, contest_id: int) -> None:
    """Drop the live ranking of a contest that has ended for good."""
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await ctx.redis.client.delete(ctx.redis.keys.contest_ranking(contest_id))
    except (RedisError, OSError, TimeoutError) as error:
        log.warning(
            "ranking of contest %s not dropped: Redis did not answer (%s)", contest_id, error
        )


async def forget_all(redis: RedisStore) -> int:
    """Drop every contest's live ranking, to be rebuilt from the rows at its next read
    (`mallforum rebuild-redis`, and the reconcile after Redis missed writes)."""
    contests = await Contest.all().only("id")
    keys = [redis.keys.contest_ranking(contest.pk) for contest in contests]
    async with redis.client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.delete(key)
        await pipe.execute()
    _stale_rankings.clear()
    return len(keys)


async def rebuild_ranking(ctx: Context, contest_id: int) -> bool:
    """Write the contest's ranking from the rows; False when another reader is at it.

    The entries are read FOR SHARE, so a vote being counted is waited for and the next one
    waits until the ranking is written: no vote falls between the rows and the set."""
    client, keys = ctx.redis.client, ctx.redis.keys
    lock, token = keys.contest_ranking_rebuild(contest_id), secrets.token_hex(8)
    if not await client.set(lock, token, nx=True, px=REBUILD_LOCK_MS):
        return False
    try:
        async with in_transaction() as connection:
            _, rows = await connection.execute_query(
                'SELECT "id", "vote_count" FROM "contest_entry"'
                f' WHERE "contest_id" = {int(contest_id)} ORDER BY "id"'
                + (" FOR SHARE" if on_postgres() else "")
            )
            key = keys.contest_ranking(contest_id)
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS), client.pipeline() as pipe:
                pipe.delete(key)
                if rows:
                    pipe.zadd(key, {_ranked(row["id"]): -row["vote_count"] for row in rows})
                    pipe.pexpire(key, RANKING_TTL_MS)
                await pipe.execute()
    finally:
        await client.eval(RELEASE, 1, lock, token)
    return True


async def _redis_places(ctx: Context, contest_id: int, entry_ids: list[int]) -> list[int | None]:
    key = ctx.redis.keys.contest_ranking(contest_id)
    async with (
        asyncio.timeout(REDIS_TIMEOUT_SECONDS),
        ctx.redis.client.pipeline(transaction=False) as pipe,
    ):
        for entry_id in entry_ids:
            pipe.zrank(key, _ranked(entry_id))
        return list(await pipe.execute())


async def _unpublished_entries(contest_id: int) -> list[int]:
    unpublished = ContestEntry.filter(
        contest_id=contest_id, topic__status__not=ContentStatus.PUBLISHED
    )
    return [entry.pk for entry in await unpublished.only("id")]


async def _redis_ranks(
    ctx: Context, contest_id: int, entry_ids: list[int]
) -> dict[int, int] | None:
    """Live ranks from Redis, among published entries: each entry's place in the sorted set
    less the unpublished entries ahead of it. None when the set cannot be trusted now."""
    unpublished = set(await _unpublished_entries(contest_id))
    wanted = list(dict.fromkeys([*entry_ids, *unpublished]))
    places = await _redis_places(ctx, contest_id, wanted)
    if None in places:  # missing, or an entry added while it was rebuilt
        if not await rebuild_ranking(ctx, contest_id):
            return None
        places = await _redis_places(ctx, contest_id, wanted)
        if None in places:
            return None
    place = dict(zip(wanted, places, strict=True))
    ahead = sorted(p for i, p in place.items() if i in unpublished and p is not None)
    return {
        i: 1 + p - bisect.bisect_left(ahead, p)
        for i in entry_ids
        if i not in unpublished and (p := place[i]) is not None
    }


async def _rows_ranks(contest_id: int, entry_ids: list[int]) -> dict[int, int]:
    """Live ranks computed from the rows: what the Redis ranking holds."""
    if not entry_ids:
        return {}
    ids = ",".join(str(int(i)) for i in entry_ids)
    _, rows = await Tortoise.get_connection("default").execute_query(
        'SELECT "id", "place" FROM (SELECT e."id", ROW_NUMBER() OVER'
        ' (ORDER BY e."vote_count" DESC, e."id") AS "place" FROM "contest_entry" e'
        ' JOIN "topic" t ON t."id" = e."topic_id"'
        f' WHERE e."contest_id" = {int(contest_id)}'
        f' AND t."status" = \'{ContentStatus.PUBLISHED.value}\') AS "ranked"'
        f' WHERE "id" IN ({ids})'
    )
    return {int(row["id"]): int(row["place"]) for row in rows}


async def live_ranks(ctx: Context, contest_id: int, entry_ids: list[int]) -> dict[int, int]:
    """Live ranks of the entries that are published; from Redis, else from the rows."""
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await _drop_stale(ctx)
        ranks = await _redis_ranks(ctx, contest_id, entry_ids)
        if ranks is not None:
            return ranks
    except (RedisError, OSError, TimeoutError) as error:
        log.warning(
            "ranking of contest %s read from the rows: Redis failed (%s)", contest_id, error
        )
    return await _rows_ranks(contest_id, entry_ids)
