"""Input rules, declared once: a mutation lists the rules of its input, and `clean` applies
them in order and answers the cleaned values.

A field rule (`Text`, `Between`, `Items`, `Given`) names the input's attribute and its name
in the API, cleans the value (trims it, drops duplicates, reads a time without a zone as
UTC) and checks one bound, with the message a client sees. A `Check` weighs the values
cleaned before it against each other (one window must end after another). Every broken rule
adds an INVALID problem naming its field, so a client learns all of them in one answer; a
field reports its first broken rule only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mallforum.errors import Problems

Values = dict[str, Any]


@dataclass(frozen=True)
class Text:
    """A string, trimmed, `low` to `high` characters. `blank_is_none`: a blank or missing
    value is None, and passes; `optional`: a missing value is None, and passes."""

    name: str
    field: str
    high: int
    message: str
    low: int = 1
    blank_is_none: bool = False
    optional: bool = False

    def clean(self, value: Any) -> tuple[Any, str | None]:
        if self.optional and value is None:
            return None, None
        text = (value or "").strip()
        if self.blank_is_none and not text:
            return None, None
        return text, None if self.low <= len(text) <= self.high else self.message


@dataclass(frozen=True)
class Between:
    """A number from `low` to `high`. A missing value takes `default`, or is a problem when
    `required`."""

    name: str
    field: str
    low: float
    high: float
    message: str
    default: Any = None
    required: bool = False

    def clean(self, value: Any) -> tuple[Any, str | None]:
        if value is None:
            return self.default, self.message if self.required else None
        fits = math.isfinite(value) and self.low <= value <= self.high
        return value, None if fits else self.message


@dataclass(frozen=True)
class Items:
    """A list, each item cleaned by `each` (empty ones dropped with `drop_empty`), without
    duplicates: at most `most` items (else `too_many`), each one `fits` (else `misfit`)."""

    name: str
    field: str
    most: int
    too_many: str
    fits: Callable[[str], bool]
    misfit: str
    each: Callable[[str], str] = str.strip
    drop_empty: bool = False

    def clean(self, value: Any) -> tuple[Any, str | None]:
        items = list(dict.fromkeys(i for i in map(self.each, value) if i or not self.drop_empty))
        if len(items) > self.most:
            return items, self.too_many
        return items, None if all(map(self.fits, items)) else self.misfit


@dataclass(frozen=True)
class Given:
    """A value taken as it is (a time without a zone read as UTC); with a `message`, a
    missing one is a problem."""

    name: str
    field: str = ""
    message: str | None = None

    def clean(self, value: Any) -> tuple[Any, str | None]:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC), None
        return value, self.message if value is None else None


@dataclass(frozen=True)
class Check:
    """A rule across the values cleaned before it: `broken(values)` tells when it is broken;
    `message` may be worded from the values."""

    field: str
    broken: Callable[[Values], bool]
    message: str | Callable[[Values], str]


Rule = Text | Between | Items | Given | Check


def clean(
    rules: Sequence[Rule],
    data: Any,
    problems: Problems,
    *path: str,
    only: Collection[str] | None = None,
    keep_none: bool = False,
) -> Values:
    """The values of `data`'s fields, cleaned rule by rule; each broken rule is a problem at
    `path` and its field. `only`: the fields to clean (the others are left out); `keep_none`:
    a field that is None stays None, unchecked ('leave it as it is', on an update)."""
    values: Values = {}
    faulty: set[str] = set()
    for rule in rules:
        if isinstance(rule, Check):
            problem = _broken(rule, values) if rule.field not in faulty else None
        elif only is not None and rule.name not in only:
            continue
        elif keep_none and getattr(data, rule.name) is None:
            values[rule.name], problem = None, None
        else:
            values[rule.name], problem = rule.clean(getattr(data, rule.name))
        if problem is not None:
            problems.invalid(problem, *path, rule.field)
            faulty.add(rule.field)
    return values


def _broken(check: Check, values: Values) -> str | None:
    if not check.broken(values):
        return None
    return check.message if isinstance(check.message, str) else check.message(values)


def at_most(most: int) -> Callable[[str], bool]:
    """Whether a text is at most `most` characters."""
    return lambda text: len(text) <= most


def matches(pattern: str, most: int, flags: int = 0) -> Callable[[str], bool]:
    """Whether a text of at most `most` characters matches `pattern` from its start."""
    compiled = re.compile(pattern, flags)
    return lambda text: len(text) <= most and compiled.match(text) is not None


def web_url(most: int) -> Callable[[str], bool]:
    """Whether a text of at most `most` characters is an http or https URL."""
    return matches(r"^https?://[^\s/$.?#][^\s]*$", most, re.IGNORECASE)
