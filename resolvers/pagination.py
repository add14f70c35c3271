"""Keyset pagination: opaque cursors that encode the sort key, pages capped at 100.

Every page is one index range scan from the cursor, so page 1000 costs what page 1 costs,
and a cursor stays valid while rows are added.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from tortoise import fields
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from mallforum.errors import ErrorCode, QueryError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

T = TypeVar("T")


def page_size(first: int | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    """`first` checked against the cap: too many is an error, never a silent cut."""
    if first is None:
        return default
    if first < 0:
        raise QueryError(ErrorCode.INVALID, "first must not be negative.")
    if first > MAX_PAGE_SIZE:
        raise QueryError(ErrorCode.INVALID, f"first must be at most {MAX_PAGE_SIZE}.")
    return first


@dataclass(frozen=True)
class SortKey:
    """The columns a list is ordered by, all in one direction, the last one unique."""

    name: str
    columns: tuple[str, ...]
    descending: bool = True


def encode_cursor(key: SortKey, values: Sequence[Any]) -> str:
    encoded = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = orjson.dumps([key.name, *encoded])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(key: SortKey, cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        name, *values = orjson.loads(raw)
    except (ValueError, binascii.Error, orjson.JSONDecodeError, TypeError):
        raise QueryError(ErrorCode.INVALID, "after is not a cursor of this list.") from None
    if name != key.name or len(values) != len(key.columns):
        raise QueryError(ErrorCode.INVALID, "after is not a cursor of this list's order.")
    try:
        return [datetime.fromisoformat(v) if isinstance(v, str) else _number(v) for v in values]
    except (ValueError, TypeError):
        raise QueryError(ErrorCode.INVALID, "after is not a cursor of this list.") from None


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return value


def _fits(field: fields.Field, value: Any) -> bool:
    """Whether a decoded cursor value can be compared with the column: a forged cursor
    could put a time where a number belongs, or a number the column cannot hold."""
    if isinstance(field, fields.DatetimeField):
        return isinstance(value, datetime) and value.tzinfo is not None
    if isinstance(field, fields.FloatField):
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, int) and -(2**63) <= value < 2**63


def after_condition(key: SortKey, values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in the key's order, with a bound on the first column
    that an index range scan can use: c1 ≤ v1 AND (c1 < v1 OR (c2 ≤ v2 AND (...)))."""
    beyond, within = ("lt", "lte") if key.descending else ("gt", "gte")
    columns = list(zip(key.columns, values, strict=True))
    last_column, last_value = columns[-1]
    condition = Q(**{f"{last_column}__{beyond}": last_value})
    for column, value in reversed(columns[:-1]):
        condition = Q(**{f"{column}__{within}": value}) & (
            Q(**{f"{column}__{beyond}": value}) | condition
        )
    return condition


@dataclass
class Page(Generic[T]):
    """One page of a connection; `count` runs only when a client asks for totalCount."""

    items: list[tuple[str, T]]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]


async def keyset_rows(
    queryset: QuerySet, key: SortKey, first: int, after: str | None
) -> tuple[list[tuple[str, Any]], bool]:
    """Up to `first` rows after the cursor as (cursor, row), and whether more follow."""
    if after:
        values = decode_cursor(key, after)
        columns = queryset.model._meta.fields_map
        if not all(_fits(columns[c], v) for c, v in zip(key.columns, values, strict=True)):
            raise QueryError(ErrorCode.INVALID, "after is not a cursor of this list.")
        queryset = queryset.filter(after_condition(key, values))
    prefix = "-" if key.descending else ""
    rows = await queryset.order_by(*(prefix + c for c in key.columns)).limit(first + 1)
    page = rows[:first]
    items = [(encode_cursor(key, [getattr(row, c) for c in key.columns]), row) for row in page]
    return items, len(rows) > first


async def queryset_page(
    queryset: QuerySet, key: SortKey, first: int | None, after: str | None
) -> Page[Any]:
    """A page of the queryset's rows in the key's order, counted only when asked."""
    rows, has_next = await keyset_rows(queryset, key, page_size(first), after)
    return Page(rows, has_next, after is not None, queryset.count)
