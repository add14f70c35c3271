"""Rebuilding a leaderboard from the rows: one cold key by the reader who finds it (under its
build lock, the other readers waiting for it briefly), or every current one at once
(`mallforum rebuild-redis`, the reconcile). The rows are read in one snapshot and written
to a draft renamed over the key; updates that arrived meanwhile are applied after it."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Any

from mallforum.clock import now
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from mirrors import locks
from mirrors.leaderboards.periods import (
    Leaderboard,
    LeaderboardKind,
    LeaderboardPeriod,
    Window,
    live_windows,
    window_of,
)
from mirrors.leaderboards.rows import read_for_build
from mirrors.leaderboards.scripts import (
    BUILD_LOCK_MS,
    BUILT,
    FINISH,
    LOAD,
    REDIS_TIMEOUT_SECONDS,
    TAKE,
    run_scripts,
)
from mirrors.leaderboards.updates import resync
from mirrors.postgres import as_utc
from models import Board

#: A rebuild writes the whole set: it may take longer than a read.
BUILD_TIMEOUT_SECONDS = 30.0
WAIT_FOR_BUILD_SECONDS = 2.0
WAIT_STEP_SECONDS = 0.02
LOAD_CHUNK = 5_000
LOADS_PER_TRIP = 10

Totals = dict[int, tuple[int, datetime]]


async def _write(
    store: RedisStore, board: Leaderboard, token: str, snapshot: str, totals: Totals
) -> bool:
    """Write a rebuilt leaderboard through its draft; False when its lock was lost."""
    client, keys, window = store.client, store.keys, board.window
    ttl = window.ttl_ms(now())
    draft = board.draft(keys, token)
    # "score member" pairs, LOAD_CHUNK to a script call, LOADS_PER_TRIP calls to a round
    # trip: redis-py packs one argument per call instead of two per member, and Redis is
    # never busy with one call for long.
    score = window.scorer()
    pairs = [
        f"{score(total, latest)} {member_id:020d}" for member_id, (total, latest) in totals.items()
    ]
    loads = [
        ([draft], [" ".join(pairs[start : start + LOAD_CHUNK])])
        for start in range(0, len(pairs), LOAD_CHUNK)
    ]
    del pairs
    finish = (
        [board.key(keys), board.build(keys), board.backlog(keys), draft],
        [window.unit, token, snapshot, "" if ttl is None else max(ttl, 1)],
    )
    async with asyncio.timeout(BUILD_TIMEOUT_SECONDS):
        async with client.pipeline(transaction=False) as pipe:
            pipe.delete(draft)
            pipe.zadd(draft, {BUILT + snapshot: math.inf})
            pipe.pexpire(draft, BUILD_LOCK_MS)
            await pipe.execute()
        for trip in range(0, len(loads), LOADS_PER_TRIP):
            await run_scripts(client, LOAD, loads[trip : trip + LOADS_PER_TRIP])
        (done,) = await run_scripts(client, FINISH, [finish])
    if not isinstance(done, list):
        return False
    for member in done:  # removals and bans met while the rows were read
        await resync(store, int(member), [board])
    return True


async def rebuild(store: RedisStore, board: Leaderboard) -> str:
    """Rebuild one cold leaderboard from the rows, unless it is built ('built') or another
    reader holds its lock ('busy'); 'rebuilt' when done, 'lost' when the lock was lost."""
    if not board.window.live(now()):
        return "busy"
    token = locks.new_token()
    keys = store.keys
    async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
        (taken,) = await run_scripts(
            store.client, TAKE, [([board.key(keys), board.build(keys)], [token, BUILD_LOCK_MS])]
        )
    taken = taken.decode() if isinstance(taken, bytes) else str(taken)
    if taken != "taken":
        return taken
    try:
        snapshot, rows = await read_for_build(
            board.kind, board.window, board.board_id, by_board=False
        )
        totals = {int(r["member_id"]): (int(r["v"]), as_utc(r["at"])) for r in rows}
        del rows
        done = await _write(store, board, token, snapshot, totals)
    except BaseException:
        await locks.release(store, board.build(store.keys), token)
        raise
    return "rebuilt" if done else "lost"


async def wait_until_built(store: RedisStore, board: Leaderboard) -> bool:
    """Make sure the cold leaderboard gets built: rebuild it, or wait for the reader that
    is at it (taking over if it gives up). False when still not built after
    WAIT_FOR_BUILD_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_BUILD_SECONDS
    while True:
        if await rebuild(store, board) in ("built", "rebuilt"):
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(WAIT_STEP_SECONDS)


async def rebuild_all(settings: Settings, redis: RedisStore) -> int:
    """Rebuild every current leaderboard (each kind and period, the community and every
    board) from the rows; the number of keys written. For `mallforum rebuild-redis` and the
    reconcile after an outage. One read per kind and period, grouped by board. The keys of
    periods that ended less than GRACE ago are dropped: they may have missed writes too,
    and a read of one rebuilds it."""
    moment = now()
    boards: list[Any] = await Board.all().order_by("id").values_list("id", flat=True)
    board_ids = [int(i) for i in boards]
    written = 0
    for kind in LeaderboardKind:
        for period in LeaderboardPeriod:
            window = window_of(period, moment, settings.zone)
            written += await _rebuild_period(redis, kind, window, board_ids)
    current = {window_of(period, moment, settings.zone) for period in LeaderboardPeriod}
    ended = [
        Leaderboard(kind, window, board_id).key(redis.keys)
        for kind in LeaderboardKind
        for window in live_windows(moment, settings.zone)
        if window not in current
        for board_id in [None, *board_ids]
    ]
    async with asyncio.timeout(BUILD_TIMEOUT_SECONDS):
        async with redis.client.pipeline(transaction=False) as pipe:
            for key in ended:  # one key a command: each has a hash tag of its own
                pipe.delete(key)
            await pipe.execute()
    return written


async def _rebuild_period(
    store: RedisStore, kind: LeaderboardKind, window: Window, board_ids: list[int]
) -> int:
    boards = [Leaderboard(kind, window, None), *(Leaderboard(kind, window, b) for b in board_ids)]
    token = locks.new_token()
    async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
        async with store.client.pipeline(transaction=False) as pipe:
            for board in boards:  # taken over from any reader at it: this one is newer
                pipe.set(board.build(store.keys), token, px=BUILD_LOCK_MS)
            await pipe.execute()
    try:
        snapshot, rows = await read_for_build(kind, window, None, by_board=True)
        totals: dict[int | None, Totals] = {board.board_id: {} for board in boards}
        community = totals[None]
        for row in rows:
            member_id, total, latest = int(row["member_id"]), int(row["v"]), as_utc(row["at"])
            board_id = None if row["board_id"] is None else int(row["board_id"])
            if board_id is not None and board_id in totals:
                totals[board_id][member_id] = (total, latest)
            was_total, was_latest = community.get(member_id, (0, latest))
            community[member_id] = (was_total + total, max(was_latest, latest))
        written = 0
        for board in boards:
            written += await _write(store, board, token, snapshot, totals[board.board_id])
    except BaseException:
        for board in boards:
            await locks.release(store, board.build(store.keys), token)
        raise
    return written
