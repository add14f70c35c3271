"""What every area of the schema shares: Node, connections, UserError and payload building."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from mallforum.context import Context
from mallforum.errors import ErrorCode as ErrorCodeValues
from mallforum.errors import Problem, UserFailure
from resolvers.pagination import Page

T = TypeVar("T")
M = TypeVar("M")
P = TypeVar("P")

Info = strawberry.Info[Context, None]

ErrorCode = strawberry.enum(
    ErrorCodeValues, description="Stable codes of expected failures; clients branch on these."
)


def context(info: Info) -> Context:
    return info.context


@strawberry.interface(description="An object with an opaque global ID; `node(id:)` returns it.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID: never build or parse it.")


@strawberry.type(description="Where a page of a connection stands.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One item of a connection, with the cursor to page on from it.")
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of a list: `first` (default 20, at most 100) after a cursor.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds.")
    async def total_count(self) -> int:
        return await self.count()


def connection(page: Page[M], convert: Callable[[M], T]) -> Connection[T]:
    edges = [Edge(cursor=cursor, node=convert(item)) for cursor, item in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=page.count,
    )


@strawberry.type(description="An expected failure: bad input, not allowed, rejected...")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "title"]; '
        "null when no single field is."
    )
    code: ErrorCode  # type: ignore[valid-type]
    message: str

    @classmethod
    def of(cls, problem: Problem) -> UserError:
        return cls(field=problem.field, code=problem.code, message=problem.message)


async def payload(
    payload_type: Callable[..., P],
    work: Awaitable[Any],
    convert: Callable[[Any], Any] | None = None,
    name: str | None = None,
) -> P:
    """Run a mutation's work: its expected failures become the payload's errors.

    On success the value goes into the payload's field `name` (through `convert` when
    given); with no `name`, `convert` builds the whole payload from the value.
    """
    try:
        value = await work
    except UserFailure as failure:
        return payload_type(errors=[UserError.of(p) for p in failure.problems])
    if name is None:
        return convert(value) if convert else payload_type(errors=[])
    return payload_type(**{name: convert(value) if convert else value}, errors=[])


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]
