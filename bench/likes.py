"""Likes benchmark: how many likes a second when a hundred members like at once, and are the
counts exact at the end?

Creates a PostgreSQL database of its own (next to MALLFORUM_TEST_DATABASE_URL's) and a Redis
prefix of its own, and sends every request over HTTP to the real app (in process, over httpx's
ASGI transport), at most `--members` in flight:

- set-up: an admin creates a board, `--topics` authors post a topic each, every member sends
  a first request (which provisions it), and one read of the board's HOT list builds its
  Redis set;
- phase 1: every member likes every topic, all at once in a shuffled order;
- phase 2: every member unlikes half of the topics, mixed with likes sent again for half of
  the others (a retry: it must count nothing).

Each phase prints likes per second and p50/p99 latency. Then, one PASS/FAIL line per rule:
each topic's like_count equals its like rows, the count the answers imply, and the copy in
Redis; the board's HOT set in Redis lists the listing rows' topics in their order; Redis
missed no write (so no rebuild from PostgreSQL is what made it right). The database and
the run's Redis keys are dropped at the end, even on failure. Exits 1 when a check or a
request fails. MALLFORUM_DB_POOL_SIZE sets the app's pool (10).

    .venv/bin/python -m bench.likes [--members 100] [--topics 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Sequence

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from bench.harness import BenchFailure, Client, Report, bench_settings, percentile, run
from mallforum import missed_writes
from mallforum.app import create_app
from mallforum.ids import parse_id
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from mirrors.hot import BUILT

ADMIN = "bench-admin"
BOARD_SLUG = "bench-likes"

CREATE_BOARD = """
mutation($input: CreateBoardInput!) {
  createBoard(input: $input) { board { id } errors { code message } }
}"""
CREATE_TOPIC = """
mutation($input: CreateTopicInput!) {
  createTopic(input: $input) { topic { id } errors { code message } }
}"""
VIEWER = "{ viewer { id } }"
HOT = """
query($slug: String!) { board(slug: $slug) { topics(sort: HOT, first: 5) { edges { cursor } } } }
"""
LIKE = "mutation($id: ID!) { like(id: $id) { likeCount errors { code message } } }"
UNLIKE = "mutation($id: ID!) { unlike(id: $id) { likeCount errors { code message } } }"


def figures(label: str, latencies_ms: Sequence[float], seconds: float) -> str:
    count = len(latencies_ms)
    p50, p99 = percentile(latencies_ms, 50), percentile(latencies_ms, 99)
    return (
        f"{label:<34} {count:>6,} req {seconds:>6.2f} s {count / seconds:>7.0f} /s"
        f"  p50 {p50:>7.1f} ms  p99 {p99:>7.1f} ms"
    )


def pk_of(global_id: str) -> int:
    parsed = parse_id(global_id)
    if parsed is None:
        raise BenchFailure(f"not a global ID: {global_id}")
    return parsed[1]


async def timed(client: Client, label: str, calls: Sequence[tuple[str, str, str]]) -> None:
    """Send (mutation, topic id, member) calls at once and print the phase's figures."""
    started = time.perf_counter()
    answers = await asyncio.gather(
        *(client.call(query, {"id": topic}, sub) for query, topic, sub in calls),
        return_exceptions=True,
    )
    seconds = time.perf_counter() - started
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    print(figures(label, [ms for _, ms in answers], seconds))  # type: ignore[misc]


async def set_up(client: Client, members: list[str], topics: int) -> tuple[int, list[str]]:
    """The board's id and its topics' IDs."""
    board_input = {"slug": BOARD_SLUG, "name": "Bench", "kind": "PRODUCT"}
    data, _ = await client.call(CREATE_BOARD, {"input": board_input}, ADMIN, "admin")
    board_id = data["createBoard"]["board"]["id"]
    topic_ids = []
    for n in range(topics):  # one topic per author: the flooding limits stay in force
        topic_input = {"boardId": board_id, "title": f"Topic {n}", "body": f"Bench topic {n}."}
        data, _ = await client.call(CREATE_TOPIC, {"input": topic_input}, f"bench-author-{n}")
        topic_ids.append(data["createTopic"]["topic"]["id"])
    await asyncio.gather(*(client.call(VIEWER, {}, member) for member in members))
    await client.call(HOT, {"slug": BOARD_SLUG}, None)  # builds the board's HOT set
    return pk_of(board_id), topic_ids


async def drive(client: Client, members: list[str], topic_ids: list[str]) -> dict[str, int]:
    """Run the phases; the like count each topic must end with."""
    shuffle = random.Random(6)
    likes = [(LIKE, topic, member) for member in members for topic in topic_ids]
    shuffle.shuffle(likes)
    await timed(client, "phase 1: likes", likes)
    unliked = {member: shuffle.sample(topic_ids, len(topic_ids) // 2) for member in members}
    mixed = [(UNLIKE, topic, member) for member, topics in unliked.items() for topic in topics]
    retried = [(LIKE, t, m) for m in members for t in topic_ids if t not in unliked[m]]
    mixed += shuffle.sample(retried, len(retried) // 2)
    shuffle.shuffle(mixed)
    await timed(client, "phase 2: unlikes and repeated likes", mixed)
    return {t: sum(t not in unliked[m] for m in members) for t in topic_ids}


async def check(
    settings: Settings, redis: RedisStore, board: int, expected: dict[str, int], report: Report
) -> None:
    assert settings.database_url is not None
    connection = await asyncpg.connect(settings.database_url)
    try:
        rows = await connection.fetch(
            'SELECT t.id, t.like_count, (SELECT count(*) FROM "like" l'
            " WHERE l.subject_kind = 'TOPIC' AND l.subject_id = t.id) AS like_rows"
            " FROM topic t ORDER BY t.id"
        )
        listing = await connection.fetch(
            "SELECT topic_id FROM topic_listing WHERE facet = $1"
            " ORDER BY hot_score DESC, topic_id DESC",
            f"board:{board}",
        )
    finally:
        await connection.close()
    counted = {row["id"]: row["like_count"] for row in rows}
    like_rows = {row["id"]: row["like_rows"] for row in rows}
    want = {pk_of(topic): count for topic, count in expected.items()}
    held = {}
    for topic_id in want:
        likes = await redis.client.hget(redis.keys.topic_tally(topic_id), "likes")
        held[topic_id] = None if likes is None else int(likes)
    total = sum(want.values())
    off = [t for t in want if counted[t] != like_rows[t]]
    report.check(not off, "like_count equals the like rows", f"{total:,} likes; topics off: {off}")
    off = [t for t in want if counted[t] != want[t]]
    report.check(not off, "like_count is what the answers imply", f"topics off: {off}")
    off = [t for t in want if held[t] != counted[t]]
    report.check(not off, "Redis holds each topic's like_count", f"topics off: {off}")
    ranked = await redis.client.zrange(redis.keys.board_hot(board), 0, -1, desc=True)
    hot = [int(m) for m in ranked if m != BUILT.encode()]
    same = hot == [row["topic_id"] for row in listing]
    report.check(same, "the HOT set in Redis is the listing rows' order", f"{len(hot)} topics")
    rebuilt = await redis.client.exists(redis.keys.reconciled_at())
    report.check(
        not missed_writes.pending() and not rebuilt,
        "Redis kept up by itself",
        "no Redis write was missed, no rebuild from PostgreSQL ran",
    )


async def bench(settings: Settings, member_count: int, topics: int) -> int:
    likes = member_count * topics
    print(
        f"members {member_count}, topics {topics} ({likes:,} likes, then {likes // 2:,} unlikes"
        f" and {likes // 4:,} repeated likes), app's PostgreSQL pool {settings.db_pool_size},"
        f" CPUs {os.cpu_count()}, Python {sys.version.split()[0]}"
    )
    print()
    members = [f"bench-member-{k}" for k in range(member_count)]
    report = Report()
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://mallforum.bench", timeout=120
        ) as http:
            client = Client(http, settings, member_count, payload_errors_fail=True)
            board, topic_ids = await set_up(client, members, topics)
            expected = await drive(client, members, topic_ids)
        print()
        await check(settings, app.state.services["redis"], board, expected, report)
    return report.verdict()


async def main(members: int, topics: int) -> int:
    async with bench_settings() as settings:
        return await bench(settings, members, topics)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100, help="members liking at once")
    parser.add_argument("--topics", type=int, default=10, help="topics each member likes")
    args = parser.parse_args(argv)
    if args.members < 1 or args.topics < 2:
        parser.error("--members must be at least 1 and --topics at least 2")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    run(main(arguments.members, arguments.topics))
