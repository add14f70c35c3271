"""Putting Redis back in step with PostgreSQL after it missed writes.

While Redis is down, writes still succeed (PostgreSQL is the truth) and the Redis updates
they schedule fail; each failure calls `missed()`. A task in every process (`watch`) checks
every few seconds whether Redis answers again and then rebuilds every leaderboard, counter and
ranking from PostgreSQL (`rebuild_all`, also `mallforum rebuild-redis`).

Several processes may have missed writes during one outage: the first to see Redis back
rebuilds under a lock and stamps the time it began; a process whose misses all came before
a rebuild that began later has nothing left to do. What Redis lost without any process
noticing (a restart, a FLUSHALL) is rebuilt key by key when a read finds the key cold.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from mallforum.redis_store import RedisStore
    from mallforum.settings import Settings

log = logging.getLogger(__name__)

#: The longest a rebuild may hold the lock; another process may take over after it.
LOCK_SECONDS = 600

#: When this process last missed a Redis write that no rebuild has covered yet.
_last_missed: float | None = None


def missed() -> None:
    """A Redis update of this process failed: reconcile once Redis answers."""
    global _last_missed
    _last_missed = time.time()


def pending() -> bool:
    """Whether this process missed Redis writes that no rebuild has covered yet."""
    return _last_missed is not None


def forget() -> None:
    """Drop this process's record of missed writes (the tests' fresh start)."""
    global _last_missed
    _last_missed = None


def _covered(began: float) -> None:
    """A rebuild that began at `began` read every write committed before then."""
    global _last_missed
    if _last_missed is not None and _last_missed < began:
        _last_missed = None


async def rebuild_all(settings: Settings, redis: RedisStore) -> int:
    """Rebuild every leaderboard, HOT ranking and day of active members from PostgreSQL, and
    drop the contests' live rankings to be rebuilt at their next read; the keys written."""
    from resolvers import contest_ranking, counters, leaderboards

    written = await leaderboards.rebuild_all(settings, redis)
    written += await counters.rebuild_all(settings, redis)
    written += await contest_ranking.forget_all(redis)
    return written


async def reconcile(settings: Settings, redis: RedisStore) -> bool:
    """If this process missed writes and Redis answers, make sure a rebuild covers them.

    True when nothing is left to reconcile."""
    if not pending():
        return True
    if not await redis.answers():
        return False
    client, keys = redis.client, redis.keys
    try:
        last = await client.get(keys.reconciled_at())
        if last is not None:
            _covered(float(last))
            if not pending():
                return True
        token = secrets.token_hex(8)
        if not await client.set(keys.reconcile_lock(), token, nx=True, ex=LOCK_SECONDS):
            return False  # another process is rebuilding; check again later
        try:
            began = time.time()
            written = await rebuild_all(settings, redis)
            await client.set(keys.reconciled_at(), repr(began))
        finally:
            if await client.get(keys.reconcile_lock()) == token.encode():
                await client.delete(keys.reconcile_lock())
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("reconcile did not finish: Redis did not answer (%r)", error)
        return False
    log.info("Redis reconciled with PostgreSQL: %d keys rebuilt", written)
    _covered(began)
    return not pending()


async def watch(settings: Settings, services: dict) -> None:
    """Reconcile whenever this process has missed writes and Redis answers again, checking
    every `settings.reconcile_check_seconds` (0: never, e.g. where the tests reconcile)."""
    every = settings.reconcile_check_seconds
    while every > 0:
        await asyncio.sleep(every)
        if pending():
            try:
                await reconcile(settings, services["redis"])
            except Exception:
                log.exception("reconcile failed; trying again in %s s", every)
