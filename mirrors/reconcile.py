"""Putting Redis back in step with PostgreSQL after it missed writes.

While Redis is down, writes still succeed (PostgreSQL is the truth) and the Redis updates
they schedule fail; each failure is noted (`mallforum.missed_writes`). A task in every
process (`watch`) checks every few seconds whether Redis answers again and then rebuilds
every leaderboard, counter and ranking from PostgreSQL (`rebuild_all`, also `mallforum
rebuild-redis`).

Several processes may have missed writes during one outage: the first to see Redis back
rebuilds under a lock and stamps the time it began; a process whose misses all came before
a rebuild that began later has nothing left to do. What Redis lost without any process
noticing (a restart, a FLUSHALL) is rebuilt key by key when a read finds the key cold.
"""

from __future__ import annotations

import asyncio
import logging
import time

from mallforum import missed_writes
from mallforum.redis_store import REDIS_FAILURES, RedisStore
from mallforum.settings import Settings
from mirrors import active_members, contest_ranking, hot, locks, tallies
from mirrors.leaderboards import build

log = logging.getLogger(__name__)

#: The longest a rebuild may hold the lock; another process may take over after it.
LOCK_MS = 600_000


async def rebuild_all(settings: Settings, redis: RedisStore) -> int:
    """Rebuild every leaderboard, HOT set, the tallies Redis holds and the last days of
    active members from PostgreSQL, and drop the contests' live rankings to be rebuilt at
    their next read; the keys written (not counting their markers). Pending views and view
    sketches cannot be rebuilt: they exist only in Redis."""
    written = await build.rebuild_all(settings, redis)
    written += await hot.rebuild_all(redis)
    written += await tallies.rebuild_all(redis)
    written += await active_members.rebuild_recent(settings, redis)
    written += await contest_ranking.forget_all(redis)
    return written


async def reconcile(settings: Settings, redis: RedisStore) -> bool:
    """If this process missed writes and Redis answers, make sure a rebuild covers them.

    True when nothing is left to reconcile."""
    if not missed_writes.pending():
        return True
    if not await redis.answers():
        return False
    client, keys = redis.client, redis.keys
    try:
        last = await client.get(keys.reconciled_at())
        if last is not None:
            missed_writes.covered(float(last))
            if not missed_writes.pending():
                return True
        token = await locks.take(redis, keys.reconcile_lock(), LOCK_MS)
        if token is None:
            return False  # another process is rebuilding; check again later
        try:
            began = time.time()
            written = await rebuild_all(settings, redis)
            await client.set(keys.reconciled_at(), repr(began))
        finally:
            await locks.release(redis, keys.reconcile_lock(), token)
    except REDIS_FAILURES as error:
        log.warning("reconcile did not finish: Redis did not answer (%r)", error)
        return False
    log.info("Redis reconciled with PostgreSQL: %d keys rebuilt", written)
    missed_writes.covered(began)
    return not missed_writes.pending()


async def watch(settings: Settings, redis: RedisStore) -> None:
    """Reconcile whenever this process has missed writes and Redis answers again, checking
    every `settings.reconcile_check_seconds` (0: never, e.g. where the tests reconcile)."""
    every = settings.reconcile_check_seconds
    while every > 0:
        await asyncio.sleep(every)
        if missed_writes.pending():
            try:
                await reconcile(settings, redis)
            except Exception:
                log.exception("reconcile failed; trying again in %s s", every)
