"""What the mirrors share on PostgreSQL's side: rows read to be copied are share-locked,
rebuilds read in one snapshot, times come back as aware UTC whatever the database.

Every statement here runs on the embedded SQLite file too (`on_postgres` says which)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from mallforum.database import on_postgres

#: The snapshot a statement reads in, as text ("xmin:xmax:xip,..."), on PostgreSQL.
SNAPSHOT = "pg_current_snapshot()::text"


def for_share() -> str:
    """Rows read to be copied to Redis are share-locked until the copy is written, so no
    write of them commits in between: copies land in the order of the writes."""
    return " FOR SHARE" if on_postgres() else ""


def id_list(values: Iterable[int]) -> str:
    """A SQL list of integers (the only values the raw statements hold inline)."""
    return ",".join(str(int(value)) for value in values)


def as_utc(value: Any) -> datetime:
    """A time as the database answers it (SQLite: text), aware and in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


@contextlib.asynccontextmanager
async def one_snapshot() -> AsyncIterator[Any]:
    """A read-only transaction whose statements all read one snapshot (REPEATABLE READ on
    PostgreSQL), for a rebuild that must match the snapshot it names."""
    async with in_transaction() as connection:
        if on_postgres():
            await connection.execute_query(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
        yield connection
