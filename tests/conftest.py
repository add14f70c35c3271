"""The test harness: a database of this run's own, created from the migrations and dropped
at the end, a Redis key prefix of this run's own, and the real ASGI app over httpx.

PostgreSQL and Redis are found through MALLFORUM_TEST_DATABASE_URL and
MALLFORUM_TEST_REDIS_URL. When one does not answer, the run stops and says how to start it:
no test is skipped for want of a server.

Every test starts on the true time, or on the instant that `--clock-start` (or
MALLFORUM_TEST_CLOCK_START) names: an ISO time such as `2026-12-06T23:50`, read in the
community's time zone (MALLFORUM_TIMEZONE) unless it carries its own offset. A test whose
outcome depends on the date pins the moment it means with `tests.clock_steps.pin_clock`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import ConnectionPool
from starlette.applications import Starlette
from tortoise import Tortoise

from mallforum import clock, missed_writes
from mallforum.app import create_app
from mallforum.auth import mint_token
from mallforum.settings import Settings
from moderation import Pipeline
from resolvers.badges import sync_catalogue
from tests.moderation.steps import HoldWord
from tests.stores import StoreUnavailable, delete_keys, scratch_settings

TEST_SECRET = "mallforum-test-secret-0123456789abcdef"
#: The mall's web app, whose pages may call the API (CORS) and open its WebSocket.
MALL_ORIGIN = "https://m.mall.example"
CLOCK_START_VARIABLE = "MALLFORUM_TEST_CLOCK_START"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-start",
        default=os.environ.get(CLOCK_START_VARIABLE) or None,
        help="start every test's clock at this ISO time (in MALLFORUM_TIMEZONE unless it "
        f"has an offset) instead of the true time; also ${CLOCK_START_VARIABLE}",
    )


def pytest_report_header(config: pytest.Config) -> str:
    start = config.getoption("--clock-start")
    zone = Settings().timezone
    return f"mallforum: each test starts at {start or 'the true time'} in {zone}"


def clock_start(config: pytest.Config, settings: Settings) -> datetime | None:
    """The instant `--clock-start` names, in the community's time zone when it has none."""
    text = config.getoption("--clock-start")
    if not text:
        return None
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=settings.zone)


@pytest.fixture(scope="session")
async def settings(pytestconfig: pytest.Config) -> AsyncIterator[Settings]:
    """Settings of this run: its own database and its own Redis prefix, dropped at the end."""
    try:
        async with scratch_settings(
            "test",
            jwt_secret=TEST_SECRET,
            mall_domains=["mall.example"],
            cors_origins=[MALL_ORIGIN],
            reconcile_check_seconds=0,  # the tests reconcile when they mean to
            view_flush_seconds=0,  # and flush the counted views when they mean to
        ) as run_settings:
            clock.start_at(clock_start(pytestconfig, run_settings))
            yield run_settings
    except StoreUnavailable as error:
        pytest.exit(str(error), returncode=3)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


TABLES_KEPT = {"tortoise_migrations"}


@pytest.fixture(autouse=True)
async def clean_state(app: Starlette, settings: Settings) -> AsyncIterator[None]:
    """Every test starts from empty tables (but for the badge catalogue), an empty Redis
    prefix and the clock at its start (the true time unless `--clock-start` says)."""
    connection = Tortoise.get_connection("default")
    _, rows = await connection.execute_query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    tables = [r["tablename"] for r in rows if r["tablename"] not in TABLES_KEPT]
    # TRUNCATE costs a few milliseconds a table, so only the tables a test wrote to.
    _, written = await connection.execute_query(
        " UNION ALL ".join(
            f"SELECT '{t}' AS t WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables
        )
    )
    if written:
        await connection.execute_script(
            "TRUNCATE " + ", ".join(f'"{r["t"]}"' for r in written) + " RESTART IDENTITY CASCADE"
        )
    await sync_catalogue(settings)  # the badge catalogue, as start-up leaves it
    await delete_keys(settings)
    missed_writes.forget()
    clock.reset()
    zone = settings.timezone
    yield
    clock.reset()
    settings.timezone = zone  # as it was, if the test pinned another


@pytest.fixture
def no_rate_limits(app: Starlette) -> Iterator[None]:
    """The configured pipeline without its rate limits ("flooding"), for tests whose subject
    needs one member to write faster than any member may: lists, paging, counters."""
    services = app.state.services
    configured = services["moderation"]
    services["moderation"] = Pipeline(
        [stage for stage in configured.stages if stage.hook.name != "flooding"]
    )
    yield
    services["moderation"] = configured


@pytest.fixture
def redis_down(app: Starlette) -> Callable[[], AbstractAsyncContextManager[None]]:
    """`async with redis_down():` Redis stops answering the app (its client is pointed at a
    port nothing listens on: connections are refused) and answers again after the block.
    Everything that holds the client (the store, the hooks' scripts) sees the outage."""

    @contextlib.asynccontextmanager
    async def outage() -> AsyncIterator[None]:
        client = app.state.services["redis"].client
        working = client.connection_pool
        client.connection_pool = ConnectionPool.from_url(
            "redis://127.0.0.1:1/0", socket_connect_timeout=0.5
        )
        try:
            yield
        finally:
            await client.connection_pool.disconnect()
            client.connection_pool = working

    return outage


class Api:
    """Calls the app's /graphql over HTTP, as a given caller."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def token(self, sub: str, *roles: str, nickname: str | None = None) -> str:
        return mint_token(self.settings, sub, roles, nickname or sub)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: str | None = None,
        roles: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if as_ is not None:
            sent["Authorization"] = f"Bearer {self.token(as_, *roles)}"
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: str | None = None,
        roles: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """The `data` of a successful answer; fails the test on any top-level error."""
        response = await self.post(query, variables, as_=as_, roles=roles)
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mallforum.test") as c:
        yield c


@pytest.fixture
def api(client: httpx.AsyncClient, settings: Settings) -> Api:
    return Api(client, settings)


@pytest.fixture
def sql_statements() -> Any:
    """Counts the SQL statements the ORM sends while the returned counter is active."""

    class Counter(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.statements: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.statements.append(record.getMessage())

        def __enter__(self) -> Counter:
            self.statements.clear()
            logger.addHandler(self)
            self._level = logger.level
            logger.setLevel(logging.DEBUG)
            return self

        def __exit__(self, *exc: object) -> None:
            logger.removeHandler(self)
            logger.setLevel(self._level)

    logger = logging.getLogger("tortoise.db_client")
    return Counter()


@pytest.fixture
def hold_word(app):
    """Hooks the app's pipeline to hold any text with "hold-me" for review."""
    pipeline = app.state.services["moderation"]
    hook = HoldWord("hold-me")
    stage = pipeline.add(hook)
    yield hook
    pipeline.stages.remove(stage)
