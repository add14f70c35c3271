"""Opaque global IDs: clients never build or parse them."""

from __future__ import annotations

import base64
import binascii

from mallforum.errors import ErrorCode, UserFailure


def encode_id(type_name: str, pk: int) -> str:
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_id(global_id: str) -> tuple[str, int] | None:
    """The (type name, primary key) a global ID names, or None when it names nothing."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, int(pk)
    except (ValueError, binascii.Error, UnicodeError):
        return None


def decode_id(global_id: str, *type_names: str, field: list[str] | None = None) -> int:
    """The primary key of a global ID of one of `type_names`; NOT_FOUND otherwise."""
    parsed = parse_id(global_id)
    if parsed is None or parsed[0] not in type_names:
        raise UserFailure.of(
            ErrorCode.NOT_FOUND, f"No {' or '.join(type_names)} has that id.", field
        )
    return parsed[1]
