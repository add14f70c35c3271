"""The GraphQL console is the moderators' manual: everything the schema shows is described.

Read from the exported SDL (schema/schema.graphql, which test_service keeps in step with the
served schema): every type but the built-in scalars and introspection types, every field of
object, interface and input types, every field argument and every enum value needs a
one-line description. Enum values are included: the Python enums live in models/ and
resolvers/, so schema/bindings.py's `described_enum` puts their descriptions on the GraphQL
definition rather than using `strawberry.enum_value`. Where the API contract
(../shared/api/contract.graphql) describes something, the served schema says the same, word
for word.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    specified_scalar_types,
)

from schema.schema import SDL_PATH

CONTRACT_PATH = Path(__file__).resolve().parents[3] / "shared" / "api" / "contract.graphql"


def described(schema: GraphQLSchema) -> Iterator[tuple[str, str | None]]:
    """Every schema coordinate that should be described, with its description."""
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        yield name, graphql_type.description
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                yield f"{name}.{field_name}", field.description
                for arg_name, arg in field.args.items():
                    yield f"{name}.{field_name}({arg_name}:)", arg.description
        elif isinstance(graphql_type, GraphQLInputObjectType):
            for field_name, input_field in graphql_type.fields.items():
                yield f"{name}.{field_name}", input_field.description
        elif isinstance(graphql_type, GraphQLEnumType):
            for value_name, value in graphql_type.values.items():
                yield f"{name}.{value_name}", value.description


def served() -> dict[str, str | None]:
    return dict(described(build_schema(SDL_PATH.read_text(encoding="utf-8"))))


def test_every_type_field_argument_and_enum_value_has_a_description():
    missing = [coordinate for coordinate, text in served().items() if not (text or "").strip()]
    assert missing == [], f"{len(missing)} without a description: {', '.join(missing)}"


def test_descriptions_are_one_line():
    long = [coordinate for coordinate, text in served().items() if text and "\n" in text.strip()]
    assert long == [], f"descriptions of more than one line: {', '.join(long)}"


def test_descriptions_the_contract_gives_are_served_word_for_word():
    contract = dict(described(build_schema(CONTRACT_PATH.read_text(encoding="utf-8"))))
    ours = served()
    changed = [
        f"{coordinate}: contract {text!r}, served {ours[coordinate]!r}"
        for coordinate, text in contract.items()
        if text and coordinate in ours and ours[coordinate] != text
    ]
    assert changed == [], "\n".join(changed)
