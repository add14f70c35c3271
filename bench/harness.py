"""What every benchmark shares: a database and Redis prefix of its own, its failure, its
PASS/FAIL lines, percentiles, and how it runs (`.venv/bin/python -m bench.<name>`)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from mallforum.settings import Settings
from tests.stores import StoreUnavailable, scratch_settings

#: The JWT secret of the benchmarks' own app.
BENCH_SECRET = "mallforum-bench-secret-0123456789abcdef"


class BenchFailure(Exception):
    """A request or a read failed, or answered something other than what was expected."""


@dataclass
class Report:
    """The PASS/FAIL lines; the run fails when one check does."""

    failed: int = 0

    def check(self, passed: bool, rule: str, detail: str) -> None:
        self.failed += not passed
        print(f"{'PASS' if passed else 'FAIL'}  {rule}: {detail}")

    def verdict(self) -> int:
        """Print the run's outcome; its exit status."""
        print()
        print("all checks passed" if not self.failed else f"{self.failed} checks FAILED")
        return 1 if self.failed else 0


@contextlib.asynccontextmanager
async def bench_settings() -> AsyncIterator[Settings]:
    """Settings naming a new, migrated database and a new Redis prefix, both removed after
    the run, even when it fails; BenchFailure when PostgreSQL or Redis does not answer."""
    try:
        async with scratch_settings("bench", jwt_secret=BENCH_SECRET) as settings:
            yield settings
    except StoreUnavailable as error:
        raise BenchFailure(str(error)) from None


def percentile(samples: Sequence[float], rank: float) -> float:
    """Nearest-rank percentile, `rank` from 0 to 100."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def run(bench: Coroutine[Any, Any, int]) -> None:
    """Run a benchmark and exit with its status: 1 with the reason when it fails."""
    try:
        sys.exit(asyncio.run(bench))
    except BenchFailure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
