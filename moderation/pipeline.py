"""The hook pipeline: each hook reads a draft and the author's standing and gives a verdict.

Verdicts combine by severity (ALLOW < MASK < REVIEW < BLOCK): the strictest wins and the
reasons of every hook accumulate. The pipeline ships empty: it lets everything through
until hooks are configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from models import Member


class VerdictAction(IntEnum):
    ALLOW = 0
    MASK = 1
    REVIEW = 2
    BLOCK = 3


@dataclass(frozen=True)
class Reason:
    hook: str
    code: str
    detail: str | None = None


@dataclass(frozen=True)
class ContentDraft:
    """What is about to be written: `kind` is topic, comment, nickname..., `texts` by field."""

    kind: str
    texts: dict[str, str]
    author: Member


@dataclass
class Verdict:
    action: VerdictAction = VerdictAction.ALLOW
    reasons: list[Reason] = field(default_factory=list)
    #: For MASK: the texts by field with the matched spans replaced by '*'.
    masked: dict[str, str] = field(default_factory=dict)

    def combine(self, other: Verdict) -> Verdict:
        return Verdict(
            action=max(self.action, other.action),
            reasons=[*self.reasons, *other.reasons],
            masked={**self.masked, **other.masked},
        )


class Hook(Protocol):
    name: str

    async def review(self, draft: ContentDraft) -> Verdict: ...


class Pipeline:
    def __init__(self, hooks: Sequence[Hook] = ()) -> None:
        self.hooks = list(hooks)

    async def review(self, draft: ContentDraft) -> Verdict:
        verdict = Verdict()
        for hook in self.hooks:
            verdict = verdict.combine(await hook.review(draft))
        return verdict
