"""Database transactions that can schedule work for after they commit.

Redis mirrors what PostgreSQL holds (leaderboards, counters, rankings), so it is updated only
once the truth is committed: `await after_commit(callback)` inside `atomic()` runs `callback`
when the outermost block commits, and drops it when its block rolls back (a savepoint that
rolls back drops only what was scheduled inside it). Outside any transaction it runs at once.

A callback that fails because Redis did not answer is logged and noted with
`mallforum.missed_writes.note`, so the reconcile rebuilds from PostgreSQL what Redis missed
once it answers again; the caller's write has already succeeded and is not disturbed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar

from tortoise.transactions import in_transaction

from mallforum import missed_writes
from mallforum.redis_store import REDIS_FAILURES

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[object]]

#: The callbacks scheduled by each open `atomic()` block, outermost first.
_scheduled: ContextVar[tuple[list[Callback], ...]] = ContextVar("after_commit", default=())


@contextlib.asynccontextmanager
async def atomic() -> AsyncIterator[None]:
    """`in_transaction()`, keeping the callbacks `after_commit` schedules inside it."""
    mine: list[Callback] = []
    outer = _scheduled.get()
    token = _scheduled.set((*outer, mine))
    try:
        async with in_transaction():
            yield
    finally:
        _scheduled.reset(token)
    # Reached only when the block committed (or released its savepoint).
    if outer:
        outer[-1].extend(mine)
    else:
        for callback in mine:
            await _run(callback)


async def after_commit(callback: Callback) -> None:
    """Run `callback` once the current transaction commits; now, outside any transaction."""
    open_blocks = _scheduled.get()
    if open_blocks:
        open_blocks[-1].append(callback)
    else:
        await _run(callback)


async def _run(callback: Callback) -> None:
    try:
        await callback()
    except REDIS_FAILURES as error:
        log.warning("Redis missed a write (%r): it will be reconciled", error)
        missed_writes.note()
