"""The rebuild lock: while one reader rebuilds a key from PostgreSQL it holds the key's lock
(SET NX PX with a token of its own), the others wait or answer from the rows, and only
the holder lets go of it. A lock also expires by itself, so a holder that dies never
blocks the key for longer than the lock's milliseconds."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from mallforum.redis_store import REDIS_FAILURES, RedisStore

log = logging.getLogger(__name__)

#: KEYS[1]: a lock; ARGV[1]: its holder's token. Releases it only for its holder.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
#: Letting go of a lock gives up after this long: the lock expires by itself anyway.
RELEASE_TIMEOUT_SECONDS = 0.5


def new_token() -> str:
    """A holder's token: what only this holder knows, to let go of its own lock alone."""
    return secrets.token_hex(8)


async def take(redis: RedisStore, key: str, ms: int) -> str | None:
    """Take the lock for `ms` milliseconds: its token, or None when another holds it."""
    token = new_token()
    return token if await redis.client.set(key, token, nx=True, px=ms) else None


async def release(redis: RedisStore, key: str, token: str) -> None:
    """Let go of the lock if `token` still holds it; when Redis does not answer, it expires."""
    try:
        async with asyncio.timeout(RELEASE_TIMEOUT_SECONDS):
            await redis.client.eval(RELEASE, 1, key, token)
    except REDIS_FAILURES as error:
        log.warning("lock %s not released: it will expire (%r)", key, error)


async def until_done(rebuild: Callable[[], Awaitable[bool]], ms: int) -> None:
    """Run a locked rebuild, again while another holder's lock keeps it waiting (`rebuild`
    answers False), for as long as that lock may be held."""
    deadline = asyncio.get_running_loop().time() + ms / 1000
    while not await rebuild():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{rebuild} stayed locked")
        await asyncio.sleep(0.05)
