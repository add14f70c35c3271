"""The members active each day: a HyperLogLog per day, added to when a member's
`ActivityDay` row is first written that day; `active_members` counts it (the rows when
Redis cannot). A day Redis does not hold whole is rebuilt from the activity rows."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from functools import partial

from mallforum.clock import today
from mallforum.redis_store import REDIS_FAILURES, RedisStore
from mallforum.settings import Settings
from mirrors import READ_TIMEOUT_SECONDS, locks
from models import ActivityDay

log = logging.getLogger(__name__)

ACTIVE_TTL_SECONDS = 400 * 86_400
#: Days of active members (today and the days before) that `rebuild_recent` writes.
ACTIVE_REBUILD_DAYS = 7
REBUILD_LOCK_MS = 10_000
REDIS_CHUNK = 1_000


async def member_active(redis: RedisStore, member_id: int, day: date) -> None:
    """Add the member to the day's active members; call after their activity row commits."""
    key = redis.keys.active_members(day)
    async with redis.client.pipeline() as pipe:
        pipe.pfadd(key, str(member_id))
        pipe.expire(key, ACTIVE_TTL_SECONDS)
        await pipe.execute()


async def active_members(redis: RedisStore, day: date) -> int:
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
            if not await rebuild(redis, day):
                break
    except REDIS_FAILURES as error:
        log.warning("active members of %s counted from the rows (%r)", day, error)
    return await ActivityDay.filter(day=day).count()


async def rebuild(redis: RedisStore, day: date, force: bool = False) -> bool:
    """Add every member active on `day` to its HyperLogLog and mark it whole; False when
    another reader is at it. Adding is a union, so activity recorded meanwhile is kept."""
    keys = redis.keys
    lock, key = keys.active_members_rebuild(day), keys.active_members(day)
    token = await locks.take(redis, lock, REBUILD_LOCK_MS)
    if token is None:
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
        await locks.release(redis, lock, token)
    return True


async def rebuild_recent(settings: Settings, redis: RedisStore) -> int:
    """Rewrite the last `ACTIVE_REBUILD_DAYS` days from the activity rows; the days written."""
    day = today(settings.zone)
    for back in range(ACTIVE_REBUILD_DAYS):
        rebuild_day = partial(rebuild, redis, day - timedelta(days=back), True)
        await locks.until_done(rebuild_day, REBUILD_LOCK_MS)
    return ACTIVE_REBUILD_DAYS
