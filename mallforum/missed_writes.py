"""The Redis writes this process missed: while Redis is down, writes still succeed (PostgreSQL
is the truth) and the Redis updates they schedule fail; each failure is noted here, and the
reconcile (mirrors/reconcile.py) rebuilds from PostgreSQL what Redis missed once it answers.
"""

from __future__ import annotations

import time

#: When this process last missed a Redis write that no rebuild has covered yet.
_last_missed: float | None = None


def note() -> None:
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


def covered(began: float) -> None:
    """A rebuild that began at `began` read every write committed before then."""
    global _last_missed
    if _last_missed is not None and _last_missed < began:
        _last_missed = None
