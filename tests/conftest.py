"""The test harness: a database of this run's own, created from the migrations and dropped
at the end, a Redis key prefix of this run's own, and the real ASGI app over httpx.

PostgreSQL and Redis are found through MALLFORUM_TEST_DATABASE_URL and
MALLFORUM_TEST_REDIS_URL. When one does not answer, the run stops and says how to start it:
no test is skipped for want of a server.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx
import pytest
import redis.asyncio as redis
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise import Tortoise

from mallforum import clock, database
from mallforum.app import create_app
from mallforum.auth import mint_token
from mallforum.settings import Settings

DATABASE_URL = os.environ.get(
    "MALLFORUM_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MALLFORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_SECRET = "mallforum-test-secret-0123456789abcdef"
RUN_ID = uuid.uuid4().hex[:10]

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


async def _require_servers() -> None:
    try:
        connection = await asyncpg.connect(DATABASE_URL, timeout=5)
        await connection.close()
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        pytest.exit(
            f"PostgreSQL at {DATABASE_URL} does not answer ({error}).\n"
            f"Start it with: {START_POSTGRES}\n"
            "or point MALLFORUM_TEST_DATABASE_URL at one.",
            returncode=3,
        )
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as error:
        pytest.exit(
            f"Redis at {REDIS_URL} does not answer ({error}).\n"
            f"Start it with: {START_REDIS}\nor point MALLFORUM_TEST_REDIS_URL at one.",
            returncode=3,
        )
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
async def settings() -> AsyncIterator[Settings]:
    """Settings of this run: its own database and its own Redis prefix, dropped at the end."""
    await _require_servers()
    name = f"mallforum_test_{RUN_ID}"
    admin = await asyncpg.connect(DATABASE_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    run_settings = Settings(
        env="test",
        database_url=_with_database(DATABASE_URL, name),
        redis_url=REDIS_URL,
        redis_prefix=f"mftest:{RUN_ID}",
        jwt_secret=TEST_SECRET,
    )
    await database.migrate(run_settings)
    try:
        yield run_settings
    finally:
        await Tortoise.close_connections()
        admin = await asyncpg.connect(DATABASE_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        client = redis.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"mftest:{RUN_ID}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


TABLES_KEPT = {"tortoise_migrations"}


@pytest.fixture(autouse=True)
async def clean_state(app: Starlette, settings: Settings) -> AsyncIterator[None]:
    """Every test starts from empty tables, an empty Redis prefix and the true time."""
    connection = Tortoise.get_connection("default")
    _, rows = await connection.execute_query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    tables = [r["tablename"] for r in rows if r["tablename"] not in TABLES_KEPT]
    await connection.execute_script(
        "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
    )
    client = redis.Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{settings.redis_prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    clock.reset()
    yield
    clock.reset()


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
