"""What every area of the schema shares: Node, connections, UserError and payload building."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from mallforum.errors import ErrorCode as ErrorCodeValues
from mallforum.errors import Problem, UserFailure
from resolvers.context import Context
from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

T = TypeVar("T")
M = TypeVar("M")
P = TypeVar("P")
E = TypeVar("E", bound=type[Enum])

Info = strawberry.Info[Context, None]

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

ERRORS = "Every expected failure, with its code; empty when the mutation succeeded."


def described_enum(cls: E, description: str, values: Mapping[str, str]) -> E:
    """strawberry.enum over a Python enum of the models, with a description for each value.

    The Python enums live in models/ and resolvers/, so their values cannot be wrapped in
    strawberry.enum_value; the descriptions go on the GraphQL definition instead.
    """
    enum = strawberry.enum(cls, description=description)
    definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
    names = {value.name for value in definition.values}
    if names != set(values):
        raise ValueError(f"{cls.__name__}: describe exactly {sorted(names)}")
    for value in definition.values:
        value.description = values[value.name]
    return enum


ErrorCode = described_enum(
    ErrorCodeValues,
    "Stable codes of expected failures; clients branch on these.",
    {
        "INVALID": "The input breaks a rule; `field` names the input at fault.",
        "NOT_FOUND": "Nothing the viewer may see has that id.",
        "UNAUTHENTICATED": "The operation needs a signed-in member or a service token.",
        "FORBIDDEN": "The viewer may not do this (role, ban, mute, or not the author).",
        "LEVEL_TOO_LOW": "The viewer's member level is below what the board needs.",
        "RATE_LIMITED": "Too many attempts in a short time; try again later.",
        "REJECTED_BY_MODERATION": "Moderation refused the text as breaking the community rules.",
        "DUPLICATE": "It exists already, e.g. a board with that slug.",
        "CLOSED": "It is closed, e.g. a poll or a contest that has ended.",
        "LOCKED": "The topic is locked: only moderators may change or comment on it.",
        "INSUFFICIENT_POINTS": "The member has too few points for this.",
        "OUT_OF_STOCK": "The reward has no units left.",
        "CONFLICT": "It clashes with an earlier request or a change made meanwhile.",
    },
)


def context(info: Info) -> Context:
    return info.context


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


@strawberry.type(description="An expected failure: bad input, not allowed, rejected...")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "title"]; '
        "null when no single field is."
    )
    code: ErrorCode = strawberry.field(  # type: ignore[valid-type]
        description="What went wrong, as a stable code to branch on."
    )
    message: str = strawberry.field(description="What went wrong, in words fit to show the user.")
    retry_after: int | None = strawberry.field(
        default=None,
        description="With RATE_LIMITED: seconds to wait before trying again; null otherwise.",
    )

    @classmethod
    def of(cls, problem: Problem) -> UserError:
        return cls(
            field=problem.field,
            code=problem.code,
            message=problem.message,
            retry_after=problem.retry_after,
        )


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


@strawberry.type(description="What a delete answers: the deleted ID, or why nothing was deleted.")
class DeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The global ID of what was deleted; null when errors is not empty.",
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)
