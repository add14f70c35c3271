"""Growth ledger benchmark: do points add up when a thousand members check in and redeem at once?

Creates a PostgreSQL database of its own (next to MALLFORUM_TEST_DATABASE_URL's) and a Redis
prefix of its own, and sends every request over HTTP to the real app (in process, over httpx's
ASGI transport), at most `--concurrency` in flight:

- set-up: an admin creates two reward items, one with `members // 4` units (40 points) and one
  unlimited (10 points); then `--members` members send their first request (the welcome gift);
- phase 1: each member checks in, all at once; then each checks in again, which must answer
  newCheckIn false and award nothing;
- phase 2: each member redeems the limited item with a key of its own (one member in ten sends
  the same request twice at once, a retry) and the unlimited item.

Each phase prints its throughput and p50/p99 latency (timed from when a slot is free). Then
the answers and the database are checked, one PASS/FAIL line per rule: every balance is the sum
of its ledger rows (one GROUP BY), no balance is below zero, the limited item sold exactly its
stock and has none left, each retried key made one redemption, one check-in row per member;
and every balance is what the rules give, every redemption was paid once and has its event for
the mall. The database and the run's Redis keys are dropped at the end, even on failure. Exits 1
when a check fails or a request fails. MALLFORUM_DB_POOL_SIZE sets the app's pool (10).

    .venv/bin/python -m bench.growth_ledger [--members 1000] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from bench.harness import BenchFailure, Client, Report, bench_settings, percentile, run
from mallforum.app import create_app
from mallforum.ids import encode_id, parse_id
from mallforum.settings import Settings
from models import PointReason

ADMIN = "bench-admin"
LIMITED_COST, UNLIMITED_COST = 40, 10
RETRY_EVERY = 10  # one member in ten sends its limited redemption twice, with the same key
KIND_LABELS = {
    "limited": "limited item",
    "retry": "limited item, same key again",
    "unlimited": "unlimited item",
}

CREATE_ITEM = """
mutation($input: CreateRewardItemInput!) {
  createRewardItem(input: $input) { item { id stock costPoints } errors { field code message } }
}"""
VIEWER = "{ viewer { id points } }"
CHECK_IN = """
mutation { checkIn { streak pointsAwarded newCheckIn member { points } errors { code message } } }
"""
REDEEM = """
mutation($itemId: ID!, $key: String!) {
  redeemReward(itemId: $itemId, idempotencyKey: $key) {
    redemption { id costPoints } errors { code message }
  }
}"""


def figures(label: str, latencies_ms: Sequence[float], seconds: float | None = None) -> str:
    """A phase's line: requests, wall time and throughput (when given), p50 and p99 latency."""
    count = len(latencies_ms)
    rate = f"{seconds:>6.2f} s {count / seconds:>8.0f} req/s" if seconds else " " * 21
    return (
        f"{label:<36} {count:>6,} req {rate}  p50 {percentile(latencies_ms, 50):>7.1f} ms"
        f"  p99 {percentile(latencies_ms, 99):>7.1f} ms"
    )


def member_sub(k: int) -> str:
    return f"bench-member-{k}"


Request = tuple[str, dict[str, Any], str]  # query, variables, caller's sub


async def timed(
    client: Client, label: str, requests: Sequence[Request], kinds: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Send the requests all at once (the client's semaphore bounds them) and print the
    phase's figures, then the latencies of each kind of request when kinds are given (one per
    request). Their `data`, in order."""
    started = time.perf_counter()
    answers = await asyncio.gather(
        *(client.call(q, v, s) for q, v, s in requests), return_exceptions=True
    )
    seconds = time.perf_counter() - started
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    latencies = [ms for _, ms in answers]  # type: ignore[misc]
    print(figures(label, latencies, seconds))
    for kind in dict.fromkeys(kinds):
        mine = [ms for k, ms in zip(kinds, latencies, strict=True) if k == kind]
        print(figures(f"  {kind}", mine))
    return [data for data, _ in answers]  # type: ignore[misc]


# ---------------------------------------------------------------- the run


async def create_item(client: Client, name: str, cost: int, stock: int | None) -> str:
    item_input = {"name": name, "costPoints": cost, "stock": stock, "mallRewardCode": name}
    headers = {"Authorization": f"Bearer {client.token(ADMIN, 'admin')}"}
    response = await client.http.post(
        "/graphql", json={"query": CREATE_ITEM, "variables": {"input": item_input}}, headers=headers
    )
    body = response.json()
    created = (body.get("data") or {}).get("createRewardItem") or {}
    if response.status_code != 200 or body.get("errors") or created.get("errors"):
        raise BenchFailure(f"createRewardItem {name}: {response.text[:500]}")
    return created["item"]["id"]


@dataclass
class Outcome:
    """What one redemption request answered."""

    kind: str  # "limited", "retry" (the same request again) or "unlimited"
    member: int
    redemption: str | None  # its global ID
    codes: str  # the errors' codes, "" on success


@dataclass
class Run:
    """What the requests answered, for the checks."""

    subs: list[str]
    stock: int
    limited_id: str
    unlimited_id: str
    welcomed: list[dict[str, Any]]
    first: list[dict[str, Any]]
    again: list[dict[str, Any]]
    outcomes: list[Outcome]

    def redeemed(self, kind: str) -> dict[int, str]:
        """Member index → redemption ID, of the requests of that kind that succeeded."""
        return {o.member: o.redemption for o in self.outcomes if o.kind == kind and o.redemption}


async def drive(client: Client, members: int) -> Run:
    """The set-up and the two phases, over HTTP."""
    subs = [member_sub(k) for k in range(members)]
    for sub in subs:
        client.token(sub)
    stock = members // 4
    limited_id = await create_item(client, "bench-limited", LIMITED_COST, stock)
    unlimited_id = await create_item(client, "bench-unlimited", UNLIMITED_COST, None)

    welcomed = await timed(
        client, "set-up: first requests (welcome)", [(VIEWER, {}, s) for s in subs]
    )
    first = await timed(client, "phase 1: check-ins", [(CHECK_IN, {}, s) for s in subs])
    again = await timed(
        client, "phase 1: second check-ins (same day)", [(CHECK_IN, {}, s) for s in subs]
    )

    # Each member's limited redemption, then for one member in ten the same request again
    # (a retry with the same key, racing the first), then its unlimited redemption.
    jobs: list[tuple[str, int, str, str]] = []  # (kind, member, item id, key)
    for k in range(members):
        jobs.append(("limited", k, limited_id, f"limited-{k}"))
        if k % RETRY_EVERY == 0:
            jobs.append(("retry", k, limited_id, f"limited-{k}"))
        jobs.append(("unlimited", k, unlimited_id, f"unlimited-{k}"))
    redeemed = await timed(
        client,
        "phase 2: redemptions",
        [(REDEEM, {"itemId": item, "key": key}, subs[k]) for _, k, item, key in jobs],
        [KIND_LABELS[kind] for kind, *_ in jobs],
    )
    outcomes = []
    for (kind, k, _, _), data in zip(jobs, redeemed, strict=True):
        answer = data["redeemReward"]
        redemption = answer["redemption"]["id"] if answer["redemption"] else None
        codes = ",".join(e["code"] for e in answer["errors"])
        outcomes.append(Outcome(kind, k, redemption, codes))
    return Run(
        subs,
        stock,
        limited_id,
        unlimited_id,
        [d["viewer"] for d in welcomed],
        [d["checkIn"] for d in first],
        [d["checkIn"] for d in again],
        outcomes,
    )


# ---------------------------------------------------------------- the checks


def check_answers(settings: Settings, run: Run, report: Report) -> None:
    """What the members were told."""
    n = len(run.subs)
    welcome = settings.earning(PointReason.WELCOME_GIFT).points
    gifted = sum(v["points"] == welcome for v in run.welcomed)
    report.check(
        gifted == n, "welcome gift", f"{gifted:,} of {n:,} new members answered {welcome} points"
    )
    award = settings.check_in.points(1)
    new = sum(
        c["errors"] == [] and c["newCheckIn"] is True and c["pointsAwarded"] == award
        for c in run.first
    )
    report.check(
        new == n, "first check-ins", f"{new:,} of {n:,} answered newCheckIn true, {award} points"
    )
    repeated = sum(
        c["errors"] == [] and c["newCheckIn"] is False and c["pointsAwarded"] == 0
        for c in run.again
    )
    report.check(
        repeated == n,
        "second check-ins",
        f"{repeated:,} of {n:,} answered newCheckIn false, 0 points",
    )
    codes = Counter((o.kind, "ok" if o.redemption else o.codes) for o in run.outcomes)
    won, sold_out = codes["limited", "ok"], codes["limited", "OUT_OF_STOCK"]
    report.check(
        won == run.stock and sold_out == n - run.stock,
        "limited item answers",
        f"{won:,} redeemed (stock {run.stock:,}), {sold_out:,} OUT_OF_STOCK, "
        f"{n - won - sold_out:,} other",
    )
    unlimited = codes["unlimited", "ok"]
    report.check(unlimited == n, "unlimited item answers", f"{unlimited:,} of {n:,} redeemed")
    firsts = {o.member: (o.redemption, o.codes) for o in run.outcomes if o.kind == "limited"}
    retries = {o.member: (o.redemption, o.codes) for o in run.outcomes if o.kind == "retry"}
    same = sum(firsts[k] == answer for k, answer in retries.items())
    report.check(
        same == len(retries),
        "retries answered as the first",
        f"{same:,} of {len(retries):,} retries answered what the first request did",
    )


async def check_database(
    settings: Settings, run: Run, connection: asyncpg.Connection, report: Report
) -> None:
    """What the database holds afterwards."""
    n = len(run.subs)
    row = await connection.fetchrow(
        "SELECT count(*) AS members,"
        " count(*) FILTER (WHERE m.points <> coalesce(l.total, 0)) AS mismatched,"
        " coalesce(sum(m.points), 0) AS balances, coalesce(sum(l.total), 0) AS ledger"
        " FROM member m LEFT JOIN (SELECT member_id, sum(delta) AS total"
        " FROM point_transaction GROUP BY member_id) l ON l.member_id = m.id"
    )
    report.check(
        row["mismatched"] == 0 and row["balances"] == row["ledger"],
        "ledger sums match balances",
        f"{row['mismatched']:,} of {row['members']:,} members differ; "
        f"balances total {row['balances']:,}, ledger total {row['ledger']:,}",
    )
    negative = await connection.fetchval(
        "SELECT (SELECT count(*) FROM member WHERE points < 0)"
        " + (SELECT count(*) FROM point_transaction WHERE balance_after < 0)"
    )
    report.check(negative == 0, "no balance below zero", f"{negative} negative balances")

    limited_pk, unlimited_pk = pk_of(run.limited_id), pk_of(run.unlimited_id)
    sold = await connection.fetchval(
        "SELECT count(*) FROM redemption WHERE item_id = $1", limited_pk
    )
    left = await connection.fetchval("SELECT stock FROM reward_item WHERE id = $1", limited_pk)
    report.check(
        sold == run.stock and left == 0,
        "limited item sold its stock",
        f"{sold:,} redemptions of {run.stock:,} units, stock now {left}",
    )
    unlimited = await connection.fetchval(
        "SELECT count(*) FROM redemption WHERE item_id = $1", unlimited_pk
    )
    report.check(unlimited == n, "unlimited item", f"{unlimited:,} redemptions of {n:,} members")

    retried = sorted({o.member for o in run.outcomes if o.kind == "retry"})
    rows = await connection.fetch(
        "SELECT m.mall_user_id, r.id FROM redemption r JOIN member m ON m.id = r.member_id"
        " WHERE r.item_id = $1 AND m.mall_user_id = ANY($2::text[])",
        limited_pk,
        [run.subs[k] for k in retried],
    )
    made: dict[str, list[str]] = {}
    for r in rows:
        made.setdefault(r["mall_user_id"], []).append(encode_id("Redemption", r["id"]))
    winners = run.redeemed("limited")
    right = sum(
        made.get(run.subs[k], []) == ([winners[k]] if k in winners else []) for k in retried
    )
    report.check(
        right == len(retried),
        "each retried key made one redemption",
        f"{right:,} of {len(retried):,} retried keys hold the one redemption answered "
        f"({sum(k in winners for k in retried)} won, the others OUT_OF_STOCK and hold none)",
    )
    unpaid = await connection.fetchval(
        "SELECT count(*) FROM redemption r WHERE (SELECT count(*) FROM point_transaction t"
        " WHERE t.reason = $1 AND t.reference = 'Redemption:' || r.id"
        " AND t.delta = -r.cost_points) <> 1",
        PointReason.REDEMPTION.value,
    )
    spends = await connection.fetchval(
        "SELECT count(*) FROM point_transaction WHERE reason = $1", PointReason.REDEMPTION.value
    )
    total = sold + unlimited
    report.check(
        unpaid == 0 and spends == total,
        "each redemption paid once",
        f"{total:,} redemptions, {spends:,} REDEMPTION ledger rows, {unpaid} not paid exactly once",
    )

    welcome = settings.earning(PointReason.WELCOME_GIFT).points
    start = welcome + settings.check_in.points(1) - UNLIMITED_COST
    balances = dict(
        await connection.fetch(
            "SELECT mall_user_id, points FROM member WHERE mall_user_id = ANY($1::text[])",
            run.subs,
        )
    )
    expected = {s: start - (LIMITED_COST if k in winners else 0) for k, s in enumerate(run.subs)}
    off = sum(balances.get(s) != points for s, points in expected.items())
    report.check(
        off == 0,
        "balances as the rules say",
        f"{off:,} of {n:,} members differ from welcome + check-in − what they redeemed",
    )
    events = await connection.fetchrow(
        "SELECT count(*) AS events, count(DISTINCT payload->>'redemptionId') AS redemptions"
        " FROM outbox_event WHERE kind = 'redemption.created'"
    )
    report.check(
        events["events"] == total and events["redemptions"] == total,
        "one event for the mall per redemption",
        f"{events['events']:,} redemption.created events naming {events['redemptions']:,} "
        f"redemptions, for {total:,}",
    )
    check_ins = await connection.fetchval("SELECT count(*) FROM check_in")
    report.check(check_ins == n, "one check-in row per member", f"{check_ins:,} rows for {n:,}")


def pk_of(global_id: str) -> int:
    parsed = parse_id(global_id)
    if parsed is None:
        raise BenchFailure(f"not a global ID: {global_id}")
    return parsed[1]


# ---------------------------------------------------------------- main


async def bench(settings: Settings, members: int, concurrency: int) -> int:
    print(
        f"members {members:,}, concurrency {concurrency}, app's PostgreSQL pool "
        f"{settings.db_pool_size}, CPUs {os.cpu_count()}, Python {sys.version.split()[0]}"
    )
    print(
        f"limited item: {members // 4:,} units at {LIMITED_COST} points; unlimited item at "
        f"{UNLIMITED_COST} points; a retry for one member in {RETRY_EVERY}"
    )
    print()
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://mallforum.bench", timeout=120
        ) as http:
            started = time.perf_counter()
            run = await drive(Client(http, settings, concurrency), members)
            seconds = time.perf_counter() - started
    print(f"{'all requests':<36} {seconds:>19.2f} s")
    print()
    report = Report()
    check_answers(settings, run, report)
    assert settings.database_url is not None
    connection = await asyncpg.connect(settings.database_url)
    try:
        await check_database(settings, run, connection, report)
    finally:
        await connection.close()
    return report.verdict()


async def main(members: int, concurrency: int) -> int:
    async with bench_settings() as settings:
        return await bench(settings, members, concurrency)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000, help="members taking part")
    parser.add_argument("--concurrency", type=int, default=100, help="requests in flight at most")
    args = parser.parse_args(argv)
    if args.members < 4:
        parser.error("--members must be at least 4 (the limited item has members // 4 units)")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    run(main(arguments.members, arguments.concurrency))
