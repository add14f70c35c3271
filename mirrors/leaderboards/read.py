"""Reading a leaderboard: the top n and a member's place, from Redis (rebuilding a cold key,
or waiting briefly for the reader who is at it), else from the rows."""

from __future__ import annotations

import asyncio
import logging

from mallforum.redis_store import REDIS_FAILURES, RedisStore
from mirrors.leaderboards.build import wait_until_built
from mirrors.leaderboards.periods import Leaderboard, decode, ranked_member
from mirrors.leaderboards.rows import rank_from_rows, top_from_rows
from mirrors.leaderboards.scripts import REDIS_TIMEOUT_SECONDS, built_marker, is_built

log = logging.getLogger(__name__)


async def top(store: RedisStore, board: Leaderboard, size: int) -> list[tuple[int, int]]:
    """The top `size` (member id, total), highest first: from Redis, else from the rows."""
    found: list[tuple[int, int]] | None = None
    try:
        found = await _top_from_redis(store, board, size)
    except REDIS_FAILURES as error:
        log.warning("leaderboard read from the rows: Redis failed (%r)", error)
    return found if found is not None else await top_from_rows(board, size)


async def rank(store: RedisStore, board: Leaderboard, member_id: int) -> tuple[int, int] | None:
    """The member's rank and total; None when unranked. From Redis, else from the rows."""
    answered, found = False, None
    try:
        answered, found = await _rank_from_redis(store, board, member_id)
    except REDIS_FAILURES as error:
        log.warning("leaderboard rank read from the rows: Redis failed (%r)", error)
    return found if answered else await rank_from_rows(board, member_id)


async def _top_from_redis(
    store: RedisStore, board: Leaderboard, size: int
) -> list[tuple[int, int]] | None:
    keys, unit = store.keys, board.window.unit
    for attempt in range(2):
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            async with store.client.pipeline(transaction=False) as pipe:
                built_marker(pipe, board, keys)
                pipe.zrange(
                    board.key(keys), "-inf", "(0", byscore=True, offset=0, num=size, withscores=True
                )
                built, rows = await pipe.execute()
        if is_built(built):
            return [(int(member), decode(score, unit)) for member, score in rows]
        if attempt == 0 and not await wait_until_built(store, board):
            return None
    return None


async def _rank_from_redis(
    store: RedisStore, board: Leaderboard, member_id: int
) -> tuple[bool, tuple[int, int] | None]:
    """(True, the member's rank and total, or None when unranked) from Redis; (False, None)
    when the leaderboard could not be built in time."""
    keys, member = store.keys, ranked_member(member_id)
    for attempt in range(2):
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            async with store.client.pipeline(transaction=False) as pipe:
                built_marker(pipe, board, keys)
                pipe.zrank(board.key(keys), member)
                pipe.zscore(board.key(keys), member)
                built, place, score = await pipe.execute()
        if is_built(built):
            if score is None or score >= 0:
                return True, None
            return True, (int(place) + 1, decode(score, board.window.unit))
        if attempt == 0 and not await wait_until_built(store, board):
            break
    return False, None
