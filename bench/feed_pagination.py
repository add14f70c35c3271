"""Feed pagination benchmark: is page 1,000 of a feed as cheap as page 1?

Creates a PostgreSQL database of its own (next to MALLFORUM_TEST_DATABASE_URL's), applies
the migrations, seeds one board with `--topics` published topics (a third of them naming
one product SKU) and their feed listing rows, then times anonymous GraphQL requests through
the real app (in process, over httpx's ASGI transport):

- `board(slug) { topics(sort: LATEST) }`, first page and page 1,000;
- `productFeed(sku)` (HOT order), first page and page 1,000.

The database and the run's Redis keys are dropped at the end, even on failure. Exits
non-zero when a request fails or a page is not the one expected.

    .venv/bin/python -m bench.feed_pagination [--topics 100000] [--samples 30]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
from asgi_lifespan import LifespanManager

from bench.harness import BenchFailure, bench_settings, run
from mallforum.app import create_app
from mallforum.ids import encode_id
from mallforum.settings import Settings
from models.topics import facets_of
from resolvers.feeds import TOPIC_SORTS, TopicSort, hot_score, top_key
from resolvers.pagination import SortKey, encode_cursor

BOARD_ID, BOARD_SLUG = 1, "bench"
BENCH_SKU = "SKU-BENCH"
OTHER_SKUS = [f"SKU-OTHER-{n}" for n in range(1, 21)]
TAGS = ["review", "unboxing", "question", "deal", "tips", "photos"]
AUTHORS = 12
PAGE_SIZE = 10
DEEP_PAGE = 1000
WARM_UPS = 3

TOPIC_COLUMNS = [
    "id",
    "board_id",
    "author_id",
    "kind",
    "status",
    "title",
    "body",
    "body_html",
    "tags",
    "product_skus",
    "image_urls",
    "is_pinned",
    "is_featured",
    "is_locked",
    "like_count",
    "comment_count",
    "view_count",
    "hot_score",
    "accepted_answer_id",
    "created_at",
    "updated_at",
    "last_activity_at",
]
LISTING_COLUMNS = ["topic_id", "facet", "min_level", "hot_score", "top_key", "last_activity_at"]

TOPIC_FIELDS = "edges { cursor node { id title likeCount author { nickname } } } "
TOPIC_FIELDS += "pageInfo { endCursor hasNextPage }"
BOARD_QUERY = (
    "query BoardTopics($slug: String!, $after: String) { board(slug: $slug) { "
    f"topics(first: {PAGE_SIZE}, sort: LATEST, after: $after) {{ {TOPIC_FIELDS} }} }} }}"
)
PRODUCT_QUERY = (
    "query ProductFeed($sku: String!, $after: String) { "
    f"productFeed(sku: $sku, first: {PAGE_SIZE}, after: $after) {{ {TOPIC_FIELDS} }} }}"
)


@dataclass
class SeedTopic:
    """What `facets_of` reads of a topic."""

    board_id: int
    author_id: int
    tags: list[str] = field(default_factory=list)
    product_skus: list[str] = field(default_factory=list)


@dataclass
class Case:
    """One timed request: a feed at one depth, with the row its first edge must show."""

    query_name: str
    page: int
    query: str
    variables: dict[str, Any]
    expected_topic_id: int
    expected_cursor: str
    path: tuple[str, ...]
    samples_ms: list[float] = field(default_factory=list)


def _json(value: Sequence[str]) -> str:
    return orjson.dumps(value).decode()


# ---------------------------------------------------------------- seeding


def build_rows(count: int, rng: random.Random) -> tuple[list[tuple], list[tuple]]:
    """Topic rows 1..count in creation order, and their listing rows as publish_listings
    writes them: one per distinct facet, with the topic's sort keys copied."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=365)
    spacing = (end - start).total_seconds() / count
    author_weights = [1 / (k + 1) for k in range(AUTHORS)]
    authors = rng.choices(range(1, AUTHORS + 1), weights=author_weights, k=count)
    topics: list[tuple] = []
    listings: list[tuple] = []
    for topic_id in range(1, count + 1):
        created = start + timedelta(seconds=(topic_id - 1 + rng.random()) * spacing)
        likes = min(int(rng.paretovariate(1.1)) - 1, 50_000)
        comments = min(int(rng.paretovariate(1.3)) - 1, 5_000)
        last_activity = created
        if comments:
            last_activity = min(end, created + timedelta(seconds=rng.uniform(60, 5 * 86_400)))
        if topic_id % 3 == 1:
            skus = [BENCH_SKU, *rng.sample(OTHER_SKUS, rng.choice((0, 0, 1)))]
        else:
            skus = rng.sample(OTHER_SKUS, rng.choice((0, 0, 1, 2)))
        tags = rng.sample(TAGS, rng.choice((0, 1, 1, 2)))
        score = hot_score(likes, comments, created)
        author_id = authors[topic_id - 1]
        body = f"Bench body of topic {topic_id}: what I think of {skus[0] if skus else 'it'}."
        topics.append(
            (
                topic_id,
                BOARD_ID,
                author_id,
                "DISCUSSION",
                "PUBLISHED",
                f"Bench topic #{topic_id}",
                body,
                f"<p>{body}</p>\n",
                _json(tags),
                _json(skus),
                "[]",
                False,
                False,
                False,
                likes,
                comments,
                likes * 7 + rng.randrange(50),
                score,
                None,
                created,
                last_activity,
                last_activity,
            )
        )
        seed = SeedTopic(BOARD_ID, author_id, tags, skus)
        key = top_key(likes, topic_id)
        listings.extend(
            (topic_id, facet, 0, score, key, last_activity)
            for facet in dict.fromkeys(facets_of(seed))  # type: ignore[arg-type]
        )
    return topics, listings


async def seed(connection: asyncpg.Connection, count: int) -> None:
    rng = random.Random(20240101)
    topics, listings = build_rows(count, rng)
    joined = datetime.now(UTC) - timedelta(days=400)
    members = [
        (k, f"bench-user-{k}", f"bench{k}", None, "MEMBER", "ACTIVE", None, 0, 0, 0, 0, 0, joined)
        for k in range(1, AUTHORS + 1)
    ]
    async with connection.transaction():
        await connection.copy_records_to_table(
            "member",
            records=members,
            columns=[
                "id",
                "mall_user_id",
                "nickname",
                "avatar_url",
                "role",
                "status",
                "muted_until",
                "experience",
                "level",
                "points",
                "likes_received",
                "check_in_streak",
                "joined_at",
            ],
        )
        await connection.execute(
            "INSERT INTO board (id, slug, name, description, kind, min_level_to_view,"
            " min_level_to_post, topic_count, created_at)"
            " VALUES ($1, $2, 'Bench', NULL, 'PRODUCT', 0, 0, $3, $4)",
            BOARD_ID,
            BOARD_SLUG,
            count,  # every seeded topic is published
            joined,
        )
        await connection.copy_records_to_table("topic", records=topics, columns=TOPIC_COLUMNS)
        await connection.copy_records_to_table(
            "topic_listing", records=listings, columns=LISTING_COLUMNS
        )
        for table in ("member", "board", "topic"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
    await connection.execute("ANALYZE")


# ---------------------------------------------------------------- cases


async def listing_rows(
    connection: asyncpg.Connection, facet: str, key: SortKey, offset: int, limit: int
) -> list[asyncpg.Record]:
    """Rows of a feed as an anonymous reader sees them, in the key's order."""
    direction = " DESC" if key.descending else ""
    order = ", ".join(column + direction for column in key.columns)
    columns = ", ".join(dict.fromkeys(("topic_id", *key.columns)))
    return await connection.fetch(
        f"SELECT {columns} FROM topic_listing WHERE facet = $1 AND min_level <= 0"
        f" ORDER BY {order} OFFSET $2 LIMIT $3",
        facet,
        offset,
        limit,
    )


async def feed_cases(
    connection: asyncpg.Connection,
    query_name: str,
    query: str,
    variables: dict[str, Any],
    path: tuple[str, ...],
    facet: str,
    sort: TopicSort,
) -> list[Case]:
    """The first page and page DEEP_PAGE of a feed; the deep cursor is built from the sort
    key of the row just before that page, the way resolvers.pagination encodes it."""
    key = TOPIC_SORTS[sort]
    deep_offset = (DEEP_PAGE - 1) * PAGE_SIZE
    first_row = (await listing_rows(connection, facet, key, 0, 1))[0]
    before, deep_row = await listing_rows(connection, facet, key, deep_offset - 1, 2)

    def cursor_of(row: asyncpg.Record) -> str:
        return encode_cursor(key, [row[c] for c in key.columns])

    return [
        Case(
            query_name,
            1,
            query,
            {**variables, "after": None},
            first_row["topic_id"],
            cursor_of(first_row),
            path,
        ),
        Case(
            query_name,
            DEEP_PAGE,
            query,
            {**variables, "after": cursor_of(before)},
            deep_row["topic_id"],
            cursor_of(deep_row),
            path,
        ),
    ]


# ---------------------------------------------------------------- requests


async def request(client: httpx.AsyncClient, case: Case) -> float:
    """One POST of the case's query; its duration in ms, after checking the page."""
    started = time.perf_counter()
    response = await client.post(
        "/graphql", json={"query": case.query, "variables": case.variables}
    )
    body = response.json()
    elapsed = (time.perf_counter() - started) * 1000
    label = f"{case.query_name} page {case.page}"
    if response.status_code != 200 or body.get("errors"):
        raise BenchFailure(f"{label}: HTTP {response.status_code}: {body.get('errors')}")
    connection = body["data"]
    for name in case.path:
        connection = connection[name] if connection else None
    if not connection:
        raise BenchFailure(f"{label}: no {'.'.join(case.path)} in {body['data']}")
    edges = connection["edges"]
    if len(edges) != PAGE_SIZE or not connection["pageInfo"]["hasNextPage"]:
        raise BenchFailure(f"{label}: {len(edges)} edges, pageInfo {connection['pageInfo']}")
    first = edges[0]
    if first["node"]["id"] != encode_id("Topic", case.expected_topic_id):
        raise BenchFailure(
            f"{label}: first edge is {first['node']}, expected topic {case.expected_topic_id}"
        )
    if first["cursor"] != case.expected_cursor:
        raise BenchFailure(f"{label}: first cursor {first['cursor']} != {case.expected_cursor}")
    return elapsed


def p95(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def print_table(cases: list[Case]) -> None:
    print()
    print(f"{'query':<24} {'page':>6} {'median ms':>10} {'p95 ms':>8}")
    for case in cases:
        median = statistics.median(case.samples_ms)
        print(f"{case.query_name:<24} {case.page:>6} {median:>10.2f} {p95(case.samples_ms):>8.2f}")
    print()
    print(f"{'query':<24} {'deep/first median':>18}")
    by_name: dict[str, dict[int, Case]] = {}
    for case in cases:
        by_name.setdefault(case.query_name, {})[case.page] = case
    for name, pages in by_name.items():
        ratio = statistics.median(pages[DEEP_PAGE].samples_ms) / statistics.median(
            pages[1].samples_ms
        )
        print(f"{name:<24} {ratio:>18.2f}")


# ---------------------------------------------------------------- the run


async def bench(settings: Settings, topics: int, samples: int) -> None:
    assert settings.database_url is not None
    connection = await asyncpg.connect(settings.database_url)
    try:
        started = time.perf_counter()
        await seed(connection, topics)
        seconds = time.perf_counter() - started
        listing_count = await connection.fetchval("SELECT count(*) FROM topic_listing")
        sku_count = await connection.fetchval(
            "SELECT count(*) FROM topic_listing WHERE facet = $1", f"sku:{BENCH_SKU}"
        )
        print(
            f"seeded {topics:,} topics ({sku_count:,} naming {BENCH_SKU}) and "
            f"{listing_count:,} listing rows in {seconds:.1f} s (COPY, then ANALYZE)"
        )
        if sku_count <= DEEP_PAGE * PAGE_SIZE:
            raise BenchFailure(f"productFeed has {sku_count} topics: too few for page {DEEP_PAGE}")
        cases = [
            *await feed_cases(
                connection,
                "board.topics LATEST",
                BOARD_QUERY,
                {"slug": BOARD_SLUG},
                ("board", "topics"),
                f"board:{BOARD_ID}",
                TopicSort.LATEST,
            ),
            *await feed_cases(
                connection,
                "productFeed HOT",
                PRODUCT_QUERY,
                {"sku": BENCH_SKU},
                ("productFeed",),
                f"sku:{BENCH_SKU}",
                TopicSort.HOT,
            ),
        ]
    finally:
        await connection.close()

    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mallforum.bench") as c:
            for case in cases:
                for _ in range(WARM_UPS):
                    await request(c, case)
                case.samples_ms = [await request(c, case) for _ in range(samples)]
    print(f"{samples} timed requests each after {WARM_UPS} warm-ups, first: {PAGE_SIZE}")
    print_table(cases)


async def main(topics: int, samples: int) -> int:
    async with bench_settings() as settings:
        await bench(settings, topics, samples)
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=int, default=100_000, help="topics to seed")
    parser.add_argument("--samples", type=int, default=30, help="timed requests per case")
    args = parser.parse_args(argv)
    needed = 3 * (DEEP_PAGE * PAGE_SIZE + 1)
    if args.topics < needed:
        parser.error(f"--topics must be at least {needed} for page {DEEP_PAGE} of productFeed")
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    run(main(arguments.topics, arguments.samples))
