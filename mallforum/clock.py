"""The service's clock: one place to read the time, and for tests to move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta()


def now() -> datetime:
    """The current UTC time, shifted by whatever a test has asked for."""
    return datetime.now(UTC) + _offset


def travel(delta: timedelta) -> None:
    """Move the clock by `delta` (tests only)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta()
