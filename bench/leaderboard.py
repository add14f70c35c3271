"""Leaderboard benchmark: the top 20 and one member's rank on a leaderboard of a million
members, read through the service and with raw redis-py in the same run.

Creates a PostgreSQL database and a Redis prefix of its own (tests/stores.py), COPYs
`--members` members and one ledger row each (experience 1 to 1,000,000, at random times of
the past year, so totals tie and ties go by time), and lets the first read of the all-time
EXPERIENCE leaderboard rebuild it from the rows (timed: it is what a cold key costs). Then,
`--samples` times each, after warm-ups:

- top 20: raw redis-py `ZRANGE key -inf (0 BYSCORE LIMIT 0 20 WITHSCORES`; the service
  (`resolvers.leaderboards.leaderboard`: that read with the built marker in one round trip,
  then the 20 members in one SELECT through the DataLoader); the whole GraphQL request
  (in process, over httpx's ASGI transport);
- a random member's rank: raw `ZRANK` and `ZSCORE` pipelined; the service
  (`viewer_rank`); the GraphQL `viewerRank` request, signed in as that member.

Prints p50/p99 in ms and each read's ratio to the raw one, after checking that the service,
GraphQL and raw reads agree. The database and every Redis key the run wrote are deleted at
the end, even on failure (the key count of the Redis database is printed before and after).

    .venv/bin/python -m bench.leaderboard [--members 1000000] [--samples 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import redis.asyncio as redis
from asgi_lifespan import LifespanManager

from bench.harness import BenchFailure, bench_settings, percentile, run
from mallforum.app import create_app
from mallforum.auth import Principal, mint_token
from mallforum.ids import encode_id
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from mirrors.leaderboards.periods import (
    Leaderboard,
    LeaderboardKind,
    LeaderboardPeriod,
    ranked_member,
    window_of,
)
from resolvers import leaderboards
from resolvers.context import Context
from resolvers.loaders import Loaders
from tests.stores import REDIS_URL

TOP = 20
WARM_UPS = 50
KIND, PERIOD = LeaderboardKind.EXPERIENCE, LeaderboardPeriod.ALL_TIME

TOP_QUERY = "{ leaderboard(period: ALL_TIME, first: 20) { rank score member { id nickname } } }"
RANK_QUERY = "{ viewerRank(period: ALL_TIME) { rank score member { id } } }"

MEMBER_COLUMNS = [
    "id",
    "mall_user_id",
    "nickname",
    "mall_nickname",
    "role",
    "status",
    "experience",
    "level",
    "points",
    "likes_received",
    "check_in_streak",
    "joined_at",
]
LEDGER_COLUMNS = [
    "id",
    "member_id",
    "delta",
    "experience",
    "reason",
    "idempotency_key",
    "balance_after",
    "day",
    "created_at",
]


async def seed(settings: Settings, members: int) -> None:
    assert settings.database_url is not None
    rng = random.Random(20240601)
    end = datetime.now(UTC) - timedelta(hours=1)
    connection = await asyncpg.connect(settings.database_url)
    try:
        started = time.perf_counter()
        joined = end - timedelta(days=400)
        people = [
            (n, f"bench-{n}", f"b{n}", f"b{n}", "MEMBER", "ACTIVE", 0, 0, 0, 0, 0, joined)
            for n in range(1, members + 1)
        ]
        await connection.copy_records_to_table("member", records=people, columns=MEMBER_COLUMNS)
        del people
        ledger = []
        for n in range(1, members + 1):
            at = end - timedelta(seconds=rng.randrange(365 * 86_400), microseconds=n % 1000)
            experience = rng.randint(1, 1_000_000)
            ledger.append((n, n, 0, experience, "ADMIN_ADJUSTMENT", f"bench:{n}", 0, at.date(), at))
        await connection.copy_records_to_table(
            "point_transaction", records=ledger, columns=LEDGER_COLUMNS
        )
        del ledger
        for table in ("member", "point_transaction"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
        print(
            f"seeded {members:,} members and {members:,} ledger rows in"
            f" {time.perf_counter() - started:.1f} s (COPY, then ANALYZE)"
        )
    finally:
        await connection.close()


async def timed(read: Callable[[], Awaitable[Any]], samples: int) -> list[float]:
    for _ in range(WARM_UPS):
        await read()
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        await read()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def print_table(rows: list[tuple[str, list[float], list[float] | None]]) -> None:
    print(f"\n{'read':<44} {'p50 ms':>8} {'p99 ms':>8} {'p50 ÷ raw':>10} {'p99 ÷ raw':>10}")
    for name, samples, raw in rows:
        p50, p99 = statistics.median(samples), percentile(samples, 99)
        ratios = ""
        if raw is not None:
            raw50, raw99 = statistics.median(raw), percentile(raw, 99)
            ratios = f" {p50 / raw50:>10.1f} {p99 / raw99:>10.1f}"
        print(f"{name:<44} {p50:>8.3f} {p99:>8.3f}{ratios}")


async def bench(settings: Settings, members: int, samples: int) -> None:
    await seed(settings, members)
    app = create_app(settings)
    async with LifespanManager(app):
        services = app.state.services
        store: RedisStore = services["redis"]
        client = store.client
        board = Leaderboard(KIND, window_of(PERIOD, datetime.now(UTC), settings.zone))
        key = board.key(store.keys)
        viewers = [
            m
            async for m in _sample_members(
                random.Random(7), members, min(samples + WARM_UPS, 5_000)
            )
        ]

        def context(viewer: Any = None) -> Context:
            principal = Principal(viewer.mall_user_id, None, None, frozenset()) if viewer else None
            return Context(
                settings=settings,
                redis=store,
                principal=principal,
                viewer=viewer,
                loaders=Loaders(viewer.pk if viewer else None, store),
                moderation=services["moderation"],
                word_rules=services["word_rules"],
            )

        started = time.perf_counter()
        first = await leaderboards.leaderboard(context(), KIND, PERIOD, None, TOP)
        print(f"cold key rebuilt from the rows in {time.perf_counter() - started:.1f} s")
        print(f"{await client.zcard(key) - 1:,} members in {key}")

        raw_top = await client.zrange(key, "-inf", "(0", byscore=True, offset=0, num=TOP)
        if [e.member.pk for e in first] != [int(m) for m in raw_top]:
            raise BenchFailure("the service's top 20 differs from ZRANGE's")

        turn = iter(range(10**9))

        def next_viewer() -> Any:
            return viewers[next(turn) % len(viewers)]

        async def raw_rank() -> None:
            member = ranked_member(next_viewer().pk)
            async with client.pipeline(transaction=False) as pipe:
                pipe.zrank(key, member)
                pipe.zscore(key, member)
                await pipe.execute()

        async def service_rank() -> None:
            viewer = next_viewer()
            entry = await leaderboards.viewer_rank(context(viewer), KIND, PERIOD, None)
            if entry is None:
                raise BenchFailure(f"member {viewer.pk} has no rank")

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mallforum.bench") as c:
            tokens = {v.pk: mint_token(settings, v.mall_user_id, [], v.nickname) for v in viewers}

            async def graphql(query: str, viewer: Any = None) -> dict[str, Any]:
                headers = {"Authorization": f"Bearer {tokens[viewer.pk]}"} if viewer else {}
                response = await c.post("/graphql", json={"query": query}, headers=headers)
                body = response.json()
                if response.status_code != 200 or body.get("errors"):
                    raise BenchFailure(f"HTTP {response.status_code}: {body.get('errors')}")
                return body["data"]

            answer = await graphql(TOP_QUERY)
            if [e["member"]["id"] for e in answer["leaderboard"]] != [
                encode_id("Member", e.member.pk) for e in first
            ]:
                raise BenchFailure("the GraphQL top 20 differs from the service's")
            probe = viewers[0]
            rank = await client.zrank(key, ranked_member(probe.pk))
            place = (await graphql(RANK_QUERY, probe))["viewerRank"]
            if place is None or place["rank"] != rank + 1:
                raise BenchFailure(f"viewerRank {place} but ZRANK {rank}")

            async def graphql_rank() -> None:
                await graphql(RANK_QUERY, next_viewer())

            async def graphql_top() -> None:
                await graphql(TOP_QUERY)

            top_raw = await timed(
                lambda: client.zrange(
                    key, "-inf", "(0", byscore=True, offset=0, num=TOP, withscores=True
                ),
                samples,
            )
            top_service = await timed(
                lambda: leaderboards.leaderboard(context(), KIND, PERIOD, None, TOP), samples
            )
            top_graphql = await timed(graphql_top, samples)
            rank_raw = await timed(raw_rank, samples)
            rank_service = await timed(service_rank, samples)
            rank_graphql = await timed(graphql_rank, samples)
    print(f"{samples} timed reads each after {WARM_UPS} warm-ups; one reader at a time")
    print_table(
        [
            ("top 20: raw ZRANGE BYSCORE LIMIT 0 20", top_raw, None),
            ("top 20: service (Redis + 20 members, 1 SQL)", top_service, top_raw),
            ("top 20: GraphQL request (anonymous)", top_graphql, top_raw),
            ("rank: raw ZRANK + ZSCORE (pipelined)", rank_raw, None),
            ("rank: service viewer_rank", rank_service, rank_raw),
            ("rank: GraphQL viewerRank (signed in)", rank_graphql, rank_raw),
        ]
    )


async def _sample_members(rng: random.Random, members: int, count: int):
    """Random members, read once: the viewers whose ranks are timed."""
    from models import Member

    ids = rng.sample(range(1, members + 1), min(count, members))
    for member in await Member.filter(id__in=ids):
        yield member


async def keys_in_redis(prefix: str) -> tuple[int, int]:
    """Keys in the Redis database (other runs' too), and those under the run's prefix."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        mine = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
        return int(await client.dbsize()), len(mine)
    finally:
        await client.aclose()


async def main(members: int, samples: int) -> int:
    prefix = ""
    try:
        async with bench_settings() as settings:
            prefix = settings.redis_prefix
            before, _ = await keys_in_redis(prefix)
            await bench(settings, members, samples)
    finally:
        if prefix:  # the scratch settings have deleted the run's keys by now
            after, left = await keys_in_redis(prefix)
            print(
                f"\nRedis: {left} keys left under the run's prefix {prefix}; the database held"
                f" {before} keys before the run and {after} after (other runs' keys included)"
            )
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members to seed")
    parser.add_argument("--samples", type=int, default=2_000, help="timed reads per case")
    args = parser.parse_args(argv)
    if args.members < TOP or args.samples < 1:
        parser.error(f"--members must be at least {TOP} and --samples at least 1")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    run(main(arguments.members, arguments.samples))
