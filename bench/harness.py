"""What every benchmark shares: a database and Redis prefix of its own, its failure, its
PASS/FAIL lines, percentiles, a client of the app over HTTP, and how it runs
(`.venv/bin/python -m bench.<name>`)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from mallforum.auth import mint_token
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


class Client:
    """POSTs to /graphql as a caller, never more than `concurrency` requests in flight."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        concurrency: int,
        payload_errors_fail: bool = False,
    ) -> None:
        self.http = http
        self.settings = settings
        self.gate = asyncio.Semaphore(concurrency)
        self.tokens: dict[str, str] = {}
        #: Whether a payload's errors fail the run too, not only top-level ones.
        self.payload_errors_fail = payload_errors_fail

    def token(self, sub: str, *roles: str) -> str:
        if sub not in self.tokens:  # signed once, before the timed phases
            self.tokens[sub] = mint_token(self.settings, sub, roles, sub)
        return self.tokens[sub]

    async def call(
        self, query: str, variables: dict[str, Any], sub: str | None, *roles: str
    ) -> tuple[dict[str, Any], float]:
        """The answer's `data`, and the request's latency in ms (from when a slot was free).
        `sub` None: anonymous."""
        headers = {"Authorization": f"Bearer {self.token(sub, *roles)}"} if sub else {}
        async with self.gate:
            started = time.perf_counter()
            response = await self.http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise BenchFailure(f"{sub}: HTTP {response.status_code}: {response.text[:500]}")
        body = response.json()
        if body.get("errors"):
            raise BenchFailure(f"{sub}: {body['errors']}")
        data = body["data"]
        payload = next(iter(data.values()))
        if self.payload_errors_fail and isinstance(payload, dict) and payload.get("errors"):
            raise BenchFailure(f"{sub}: {payload['errors']}")
        return data, elapsed
