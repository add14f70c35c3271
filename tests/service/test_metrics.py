"""`GET /metrics`: Prometheus's text format, read back with prometheus_client's own parser,
holding what operators watch after a few requests."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from mallforum import outbox
from mallforum.metrics import MULTIPROCESS_DIRECTORY
from mallforum.redis_store import RedisStore
from tests.forum import create_board, create_topic
from tests.moderation.steps import moderate
from tests.servers import free_port, serving

Samples = dict[tuple[str, frozenset], float]


async def scrape(client) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_requests_errors_moderation_and_connections(app, api, client, settings):
    before = await scrape(client)
    board = await create_board(api, "beauty")
    topic = await create_topic(api, board["id"])
    query = "query FeedPage { boards { slug } }"
    for _ in range(3):
        await client.post("/graphql", json={"query": query, "operationName": "FeedPage"})
    await client.post("/graphql", json={"query": "query Broken { boards { slugg } }"})
    await client.post("/graphql", json={"query": "{ moderationQueue { edges { node { id } } } }"})
    await moderate(api, topic["id"], "HIDE")
    await outbox.emit("test.kind", {"n": 1})
    services = app.state.services
    working = services["redis"]
    services["redis"] = RedisStore.connect("redis://127.0.0.1:1/0", settings.redis_prefix)
    try:
        assert (await client.get("/readyz")).status_code == 503
    finally:
        await services["redis"].close()
        services["redis"] = working
    async with serving(app) as url:
        async with websockets.connect(
            url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init"}))
            await socket.recv()
            during = await scrape(client)
        await asyncio.sleep(0.1)
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("mallforum_graphql_requests_total", operation="FeedPage", outcome="ok") == 3
    assert grew("mallforum_graphql_requests_total", operation="Broken", outcome="invalid") == 1
    assert grew("mallforum_graphql_requests_total", operation="anonymous", outcome="error") >= 1
    assert grew("mallforum_graphql_request_duration_seconds_count", operation="FeedPage") == 3
    assert (
        value(
            after,
            "mallforum_graphql_request_duration_seconds_bucket",
            operation="FeedPage",
            le="+Inf",
        )
        >= 3
    )
    assert grew("mallforum_graphql_resolver_errors_total", code="UNAUTHENTICATED") == 1
    assert grew("mallforum_http_responses_total", route="/readyz", method="GET", status="503") == 1
    assert (
        grew("mallforum_http_responses_total", route="/graphql", method="POST", status="200") >= 5
    )
    assert grew("mallforum_moderation_verdicts_total", kind="topic", verdict="allow") == 1
    assert grew("mallforum_moderation_actions_total", action="HIDE") == 1
    assert grew("mallforum_redis_failures_total", error="ConnectionError") >= 1
    assert value(after, "mallforum_outbox_backlog_events") == 1
    assert value(after, "mallforum_outbox_oldest_event_age_seconds") >= 0
    assert value(after, "mallforum_database_pool_connections", state="max") == settings.db_pool_size
    assert value(after, "mallforum_database_pool_connections", state="in_use") >= 0
    assert (
        value(during, "mallforum_websocket_connections")
        == value(before, "mallforum_websocket_connections") + 1
    )
    assert value(after, "mallforum_websocket_connections") == value(
        before, "mallforum_websocket_connections"
    )
    assert (
        grew("mallforum_websocket_closes_total", code="none")
        + grew("mallforum_websocket_closes_total", code="1000")
        == 1
    )


async def test_client_chosen_operation_names_are_bounded_labels(client):
    before = await scrape(client)
    await client.post(
        "/graphql", json={"query": "{ boards { slug } }", "operationName": "not a name!"}
    )
    after = await scrape(client)
    assert not any("not a name!" in str(labels) for _, labels in after)
    assert value(
        after, "mallforum_graphql_requests_total", operation="other", outcome="invalid"
    ) > value(before, "mallforum_graphql_requests_total", operation="other", outcome="invalid")


async def test_several_workers_add_up_their_metrics(settings, tmp_path):
    """`serve --workers 2`: whichever worker answers /metrics counts every worker's requests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLFORUM_")} | {
        "MALLFORUM_DATABASE_URL": settings.database_url or "",
        "MALLFORUM_REDIS_URL": settings.redis_url or "",
        "MALLFORUM_REDIS_PREFIX": settings.redis_prefix,
        "MALLFORUM_JWT_SECRET": settings.effective_jwt_secret,
        MULTIPROCESS_DIRECTORY: str(tmp_path / "metrics"),
    }
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mallforum",
        "serve",
        "--workers",
        "2",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    totals = []
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            async with asyncio.timeout(60):
                while True:
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.3)

        async def counted() -> None:  # a connection each, at once, so both workers take some
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                await http.post("/graphql", json={"query": "query Counted { boards { slug } }"})

        await asyncio.gather(*(counted() for _ in range(20)))
        for _ in range(4):
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                text = (await http.get("/metrics")).text
            totals.append(
                sum(
                    sample.value
                    for family in text_string_to_metric_families(text)
                    for sample in family.samples
                    if sample.name == "mallforum_graphql_requests_total"
                    and sample.labels.get("operation") == "Counted"
                )
            )
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)
    workers = {f.name for f in (tmp_path / "metrics").glob("counter_*.db")}
    assert totals == [20, 20, 20, 20]
    assert len(workers) == 2, workers  # both workers counted some
