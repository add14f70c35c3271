"""Relay's shapes, which every list and entity of the schema takes: Node (an opaque global ID
that `node(id:)` resolves) and connections (a page of a list, with cursors and a total)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Generic, TypeVar

import strawberry

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

T = TypeVar("T")
M = TypeVar("M")

First = Annotated[
    int | None,
    strawberry.argument(
        description=f"How many items, at most {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Start after this cursor (a previous page's endCursor); null: from the start."
    ),
]


@strawberry.interface(description="An object with an opaque global ID; `node(id:)` returns it.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID: never build or parse it.")


@strawberry.type(description="Where a page of a connection stands.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether more items follow: pass endCursor as `after` to get them."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items come before this page, i.e. it was asked for with `after`."
    )
    start_cursor: str | None = strawberry.field(
        description="The first item's cursor; null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="The last item's cursor, to pass as `after`; null on an empty page."
    )


@strawberry.type(description="One item of a connection, with the cursor to page on from it.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as `after` to get the items after this one.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list: `first` (default 20, at most 100) after a cursor.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="This page's items, in the list's order.")
    page_info: PageInfo = strawberry.field(
        description="Whether more items follow, and the cursors to page on."
    )
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
