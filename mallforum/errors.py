"""Expected failures (UserError codes) and the query errors that are never masked."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from graphql import GraphQLError


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    LEVEL_TOO_LOW = "LEVEL_TOO_LOW"
    RATE_LIMITED = "RATE_LIMITED"
    REJECTED_BY_MODERATION = "REJECTED_BY_MODERATION"
    DUPLICATE = "DUPLICATE"
    CLOSED = "CLOSED"
    LOCKED = "LOCKED"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    CONFLICT = "CONFLICT"


@dataclass(frozen=True)
class Problem:
    """One expected failure: becomes a `UserError` in a mutation's payload."""

    code: ErrorCode
    message: str
    field: list[str] | None = None
    #: For RATE_LIMITED: whole seconds until a retry can succeed.
    retry_after: int | None = None


class UserFailure(Exception):
    """Raised by resolvers for expected failures; the payload carries its problems."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems

    @classmethod
    def of(cls, code: ErrorCode, message: str, field: list[str] | None = None) -> UserFailure:
        return cls([Problem(code, message, field)])


class Problems:
    """Collects every input problem so a client learns all of them in one answer."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, code: ErrorCode, message: str, *field: str) -> None:
        self.items.append(Problem(code, message, list(field) or None))

    def invalid(self, message: str, *field: str) -> None:
        self.add(ErrorCode.INVALID, message, *field)

    def raise_any(self) -> None:
        if self.items:
            raise UserFailure(self.items)


class QueryError(GraphQLError):
    """A top-level error for a malformed query argument (e.g. `first` over the cap).

    Shown to clients as it is, with `extensions.code`; unexpected errors are masked.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message, extensions={"code": code.value})
