"""Stores of its own for a test run or a benchmark: a PostgreSQL database created from the
migrations and dropped afterwards, and a Redis key prefix whose keys are deleted afterwards.

The servers are found through MALLFORUM_TEST_DATABASE_URL and MALLFORUM_TEST_REDIS_URL,
which default to the local servers on their standard ports.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import redis.asyncio as redis
from tortoise import Tortoise

from mallforum import database
from mallforum.settings import Settings

DATABASE_URL = os.environ.get(
    "MALLFORUM_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MALLFORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'


class StoreUnavailable(Exception):
    """A server does not answer; the message names it and says how to start it."""


async def require_stores() -> None:
    try:
        connection = await asyncpg.connect(DATABASE_URL, timeout=5)
        await connection.close()
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        raise StoreUnavailable(
            f"PostgreSQL at {DATABASE_URL} does not answer ({error}).\n"
            f"Start it with: {START_POSTGRES}\nor point MALLFORUM_TEST_DATABASE_URL at one."
        ) from None
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as error:
        raise StoreUnavailable(
            f"Redis at {REDIS_URL} does not answer ({error}).\n"
            f"Start it with: {START_REDIS}\nor point MALLFORUM_TEST_REDIS_URL at one."
        ) from None
    finally:
        await client.aclose()


@asynccontextmanager
async def scratch_settings(label: str, **overrides: Any) -> AsyncIterator[Settings]:
    """Settings naming a new, migrated database and a new Redis prefix, both removed after."""
    await require_stores()
    run_id = uuid.uuid4().hex[:10]
    name, prefix = f"mallforum_{label}_{run_id}", f"mf{label}:{run_id}"
    admin = await asyncpg.connect(DATABASE_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    settings = Settings(
        env="test",
        database_url=urlunparse(urlparse(DATABASE_URL)._replace(path=f"/{name}")),
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        **overrides,
    )
    try:
        await database.migrate(settings)
        yield settings
    finally:
        await Tortoise.close_connections()
        admin = await asyncpg.connect(DATABASE_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        await delete_keys(settings)


async def delete_keys(settings: Settings) -> None:
    """Delete every Redis key under the settings' prefix."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{settings.redis_prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
