"""What every benchmark shares: its failure, its PASS/FAIL lines, percentiles, and how it
runs from the command line (`.venv/bin/python -m bench.<name>`)."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any


class BenchFailure(Exception):
    """A request or a read failed, or answered something other than what was expected."""


@dataclass
class Report:
    """The PASS/FAIL lines; the run fails when one check does."""

    failed: int = 0

    def check(self, passed: bool, rule: str, detail: str) -> None:
        self.failed += not passed
        print(f"{'PASS' if passed else 'FAIL'}  {rule}: {detail}")


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
