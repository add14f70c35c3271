"""How the schema's types meet the Python side: the typed Info with the request context it
carries, and GraphQL enums made from the Python enums of models/ and resolvers/."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry

from resolvers.context import Context

E = TypeVar("E", bound=type[Enum])

Info = strawberry.Info[Context, None]


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


def context(info: Info) -> Context:
    return info.context
