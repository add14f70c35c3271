"""The service's clock: one place to read the time, and for tests to move it.

The clock runs at the real rate from a starting point that tests may move: `move_to` sets
the current instant, `travel` shifts it, `reset` goes back to the start (the true time,
unless `start_at` chose another one for a whole test run). A process that a test starts
runs on the test's clock through MALLFORUM_CLOCK_OFFSET (see `environment`), which
production refuses."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, tzinfo

OFFSET_VARIABLE = "MALLFORUM_CLOCK_OFFSET"

_start: datetime | None = None
_offset = timedelta(seconds=float(os.environ.get(OFFSET_VARIABLE) or 0))


def now() -> datetime:
    """The current UTC time, shifted by whatever a test has asked for."""
    return datetime.now(UTC) + _offset


def today(zone: tzinfo) -> date:
    """The calendar day `now()` falls on in `zone` (the community's, in its settings)."""
    return now().astimezone(zone).date()


def travel(delta: timedelta) -> None:
    """Move the clock by `delta` (tests only)."""
    global _offset
    _offset += delta


def move_to(when: datetime) -> None:
    """Make `now()` answer `when` (an aware time) at this moment; it runs on from there."""
    global _offset
    _offset = when - datetime.now(UTC)


def start_at(when: datetime | None) -> None:
    """Where `reset` puts the clock from now on: `when`, or the true time for None."""
    global _start
    _start = when
    reset()


def environment() -> dict[str, str]:
    """What a process started now needs in its environment to run on this clock."""
    return {OFFSET_VARIABLE: repr(_offset.total_seconds())}


def reset() -> None:
    """Back to the starting instant: the true time unless `start_at` chose another."""
    global _offset
    _offset = timedelta()
    if _start is not None:
        move_to(_start)
