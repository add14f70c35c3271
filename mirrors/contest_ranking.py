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

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from mallforum.redis_store import REDIS_FAILURES, RedisStore
from mirrors import locks
from mirrors.postgres import for_share, id_list
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


def _ranked(entry_id: int) -> str:
    """An entry as a member of the sorted set: equal scores sort by member, so by entry id."""
    return f"{entry_id:020d}"


#: Rankings this process could not update while Redis failed: dropped, to be rebuilt from
#: the rows, as soon as Redis answers again (they also expire an hour after each rebuild).
_stale_rankings: set[int] = set()


async def _drop_stale(redis: RedisStore) -> None:
    if not _stale_rankings:
        return
    stale = list(_stale_rankings)
    async with redis.client.pipeline(transaction=False) as pipe:
        for contest_id in stale:
            pipe.delete(redis.keys.contest_ranking(contest_id))
        await pipe.execute()
    _stale_rankings.difference_update(stale)


async def put_ranking(
    redis: RedisStore, contest_id: int, entry_id: int, votes: int, new: bool
) -> None:
    """Write an entry's votes to the contest's ranking, if Redis holds it. Vote counts are
    written while the entry's row is locked, so they arrive in order; when Redis does not
    answer the vote still counts, and the ranking heals when it expires."""
    key = redis.keys.contest_ranking(contest_id)
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await _drop_stale(redis)
            await redis.client.eval(
                PUT_IF_RANKED, 1, key, -votes, _ranked(entry_id), "new" if new else ""
            )
    except REDIS_FAILURES as error:
        _stale_rankings.add(contest_id)
        log.warning(
            "ranking of contest %s not updated: Redis did not answer (%s)", contest_id, error
        )


async def forget_ranking(redis: RedisStore, contest_id: int) -> None:
    """Drop the live ranking of a contest that has ended for good."""
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await redis.client.delete(redis.keys.contest_ranking(contest_id))
    except REDIS_FAILURES as error:
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


async def rebuild_ranking(redis: RedisStore, contest_id: int) -> bool:
    """Write the contest's ranking from the rows; False when another reader is at it.

    The entries are read FOR SHARE, so a vote being counted is waited for and the next one
    waits until the ranking is written: no vote falls between the rows and the set."""
    client, keys = redis.client, redis.keys
    lock = keys.contest_ranking_rebuild(contest_id)
    token = await locks.take(redis, lock, REBUILD_LOCK_MS)
    if token is None:
        return False
    try:
        async with in_transaction() as connection:
            _, rows = await connection.execute_query(
                'SELECT "id", "vote_count" FROM "contest_entry"'
                f' WHERE "contest_id" = {int(contest_id)} ORDER BY "id"' + for_share()
            )
            key = keys.contest_ranking(contest_id)
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS), client.pipeline() as pipe:
                pipe.delete(key)
                if rows:
                    pipe.zadd(key, {_ranked(row["id"]): -row["vote_count"] for row in rows})
                    pipe.pexpire(key, RANKING_TTL_MS)
                await pipe.execute()
    finally:
        await locks.release(redis, lock, token)
    return True


async def _redis_places(
    redis: RedisStore, contest_id: int, entry_ids: list[int]
) -> list[int | None]:
    key = redis.keys.contest_ranking(contest_id)
    async with (
        asyncio.timeout(REDIS_TIMEOUT_SECONDS),
        redis.client.pipeline(transaction=False) as pipe,
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
    redis: RedisStore, contest_id: int, entry_ids: list[int]
) -> dict[int, int] | None:
    """Live ranks from Redis, among published entries: each entry's place in the sorted set
    less the unpublished entries ahead of it. None when the set cannot be trusted now."""
    unpublished = set(await _unpublished_entries(contest_id))
    wanted = list(dict.fromkeys([*entry_ids, *unpublished]))
    places = await _redis_places(redis, contest_id, wanted)
    if None in places:  # missing, or an entry added while it was rebuilt
        if not await rebuild_ranking(redis, contest_id):
            return None
        places = await _redis_places(redis, contest_id, wanted)
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
    ids = id_list(entry_ids)
    _, rows = await Tortoise.get_connection("default").execute_query(
        'SELECT "id", "place" FROM (SELECT e."id", ROW_NUMBER() OVER'
        ' (ORDER BY e."vote_count" DESC, e."id") AS "place" FROM "contest_entry" e'
        ' JOIN "topic" t ON t."id" = e."topic_id"'
        f' WHERE e."contest_id" = {int(contest_id)}'
        f' AND t."status" = \'{ContentStatus.PUBLISHED.value}\') AS "ranked"'
        f' WHERE "id" IN ({ids})'
    )
    return {int(row["id"]): int(row["place"]) for row in rows}


async def live_ranks(redis: RedisStore, contest_id: int, entry_ids: list[int]) -> dict[int, int]:
    """Live ranks of the entries that are published; from Redis, else from the rows."""
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await _drop_stale(redis)
        ranks = await _redis_ranks(redis, contest_id, entry_ids)
        if ranks is not None:
            return ranks
    except REDIS_FAILURES as error:
        log.warning(
            "ranking of contest %s read from the rows: Redis failed (%s)", contest_id, error
        )
    return await _rows_ranks(contest_id, entry_ids)
