"""What a mutation answers: a payload with the object it wrote, or its expected failures as
UserErrors with stable codes (the `payload` helper turns a resolver's UserFailure into one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from mallforum.errors import ErrorCode as ErrorCodeValues
from mallforum.errors import Problem, UserFailure
from schema.bindings import described_enum

P = TypeVar("P")

ERRORS = "Every expected failure, with its code; empty when the mutation succeeded."

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
