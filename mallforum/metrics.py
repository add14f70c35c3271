"""Prometheus metrics, named here and nowhere else, and `GET /metrics` in the text format.

One process serves its own registry. `mallforum serve --workers N` runs prometheus_client's
multiprocess mode: each worker writes its values to files in `PROMETHEUS_MULTIPROC_DIR` (the
command makes a fresh directory when the variable is not set) and `/metrics`, whichever
worker answers, adds up every worker's. Gauges of things each process has (WebSocket
connections, database connections) are summed over the live workers; the outbox backlog,
read from PostgreSQL when scraped, is the latest reading.

Operation names come from clients, so they label metrics only while they look like names
(`[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters) and only the first `MAX_OPERATION_NAMES`
distinct ones of a process; anonymous operations are `anonymous`, any other `other`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable
from datetime import timedelta

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

log = logging.getLogger(__name__)

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client on import
MAX_OPERATION_NAMES = 200
SAMPLE_SECONDS = 10.0

GRAPHQL_REQUESTS = Counter(
    "mallforum_graphql_requests",
    "GraphQL operations answered over HTTP, by operation name and outcome (ok: no errors; "
    "error: errors while executing; invalid: refused before executing).",
    ["operation", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "mallforum_graphql_request_duration_seconds",
    "Time to answer a GraphQL operation over HTTP (parse, validate, execute), by operation name.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RESOLVER_ERRORS = Counter(
    "mallforum_graphql_resolver_errors",
    "Errors raised while executing (not parse or validation errors), by code; "
    "UNEXPECTED: a fault, masked in production and logged with the request id.",
    ["code"],
)
HTTP_RESPONSES = Counter(
    "mallforum_http_responses",
    "HTTP answers by route and status, including those refused before GraphQL (401, 405...).",
    ["route", "method", "status"],
)
PERSISTED_QUERIES = Counter(
    "mallforum_persisted_queries",
    "Persisted query look-ups and registrations: hit, miss, registered, refused.",
    ["result"],
)
DATABASE_CONNECTIONS = Gauge(
    "mallforum_database_pool_connections",
    "PostgreSQL connections of the pool: in_use, idle, and max (its size), summed over workers.",
    ["state"],
    multiprocess_mode="livesum",
)
REDIS_FAILURES = Counter(
    "mallforum_redis_failures",
    "Redis commands or connections that failed (each attempt), by error.",
    ["error"],
)
OUTBOX_BACKLOG = Gauge(
    "mallforum_outbox_backlog_events",
    "Events for the mall not yet delivered to its webhook (read when scraped).",
    multiprocess_mode="livemostrecent",
)
OUTBOX_OLDEST = Gauge(
    "mallforum_outbox_oldest_event_age_seconds",
    "Age of the oldest undelivered event for the mall, 0 when none (read when scraped).",
    multiprocess_mode="livemostrecent",
)
MODERATION_VERDICTS = Counter(
    "mallforum_moderation_verdicts",
    "Verdicts of the moderation pipeline on writes of user text, by kind of text and verdict.",
    ["kind", "verdict"],
)
MODERATION_ACTIONS = Counter(
    "mallforum_moderation_actions",
    "Moderators' and admins' decisions, by action (as written to the moderation log).",
    ["action"],
)
WEBSOCKET_CONNECTIONS = Gauge(
    "mallforum_websocket_connections",
    "Open WebSocket connections, summed over workers.",
    multiprocess_mode="livesum",
)
WEBSOCKET_CLOSES = Counter(
    "mallforum_websocket_closes",
    "WebSocket connections ended, by the close code the server sent (none: the client left).",
    ["code"],
)
SUBSCRIPTIONS_STARTED = Counter(
    "mallforum_subscriptions_started",
    "Operations started over WebSocket, by operation name.",
    ["operation"],
)
SUBSCRIPTIONS = Gauge(
    "mallforum_subscriptions_active",
    "Subscriptions running, summed over workers.",
    multiprocess_mode="livesum",
)

_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
#: The name of a document's first operation, after any comments and blank lines.
_FIRST_OPERATION = re.compile(r"(?:\s|,|#[^\n]*)*(?:query|mutation|subscription)\s+([A-Za-z_]\w*)")
_operation_names: set[str] = set()


def operation_label(name: object) -> str:
    """A bounded label for a client-chosen operation name."""
    if not name:
        return "anonymous"
    if not isinstance(name, str) or not _OPERATION_NAME.fullmatch(name):
        return "other"
    if name not in _operation_names:
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        _operation_names.add(name)
    return name


def operation_name_in(text: object) -> str | None:
    """The operation name written in a document, for requests that send none apart."""
    found = _FIRST_OPERATION.match(text) if isinstance(text, str) else None
    return found.group(1) if found else None


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIRECTORY))


def render() -> tuple[bytes, str]:
    """The text exposition of every metric (of every worker, in multiprocess mode)."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited() -> None:
    """Drop this worker's live gauges from the multiprocess totals (at shutdown)."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(os.getpid())


def sample_pool(pool_sizes: Callable[[], tuple[int, int, int] | None]) -> None:
    """Record the database pool's (in use, idle, max) connections, where there is a pool."""
    sizes = pool_sizes()
    if sizes is None:
        return
    in_use, idle, maximum = sizes
    DATABASE_CONNECTIONS.labels("in_use").set(in_use)
    DATABASE_CONNECTIONS.labels("idle").set(idle)
    DATABASE_CONNECTIONS.labels("max").set(maximum)


def sample_outbox(backlog: int, oldest_age: timedelta | None) -> None:
    OUTBOX_BACKLOG.set(backlog)
    OUTBOX_OLDEST.set(oldest_age.total_seconds() if oldest_age else 0)


async def sampling_pool(pool_sizes: Callable[[], tuple[int, int, int] | None]) -> None:
    """Keep the pool gauges current in every worker, scraped or not."""
    while True:
        with contextlib.suppress(Exception):
            sample_pool(pool_sizes)
        await asyncio.sleep(SAMPLE_SECONDS)
