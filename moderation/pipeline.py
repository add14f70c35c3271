"""The hook pipeline: each hook reads a draft and the author's standing and gives a verdict.

Verdicts combine by severity (ALLOW < MASK < REVIEW < BLOCK): the strictest wins and the
reasons of every hook accumulate. Each hook runs under its time limit and fail policy
(`Stage`): a hook that raises or runs out of time either lets the write through and flags
it for a moderator (`FailPolicy.ALLOW`), or holds it for review (`FailPolicy.REVIEW`). A
hook that finds the author writing too fast raises `RateLimited`, which is not a failure:
it reaches the member as RATE_LIMITED with the time to retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Protocol

from models import Member, MemberRole

log = logging.getLogger(__name__)

#: A member is new while at level 0 and joined less than this long ago: the accounts
#: spammers use, which hooks treat more strictly.
NEW_MEMBER_AGE = timedelta(days=3)


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
class Standing:
    """What hooks know of the author besides the member row: account age at the time of
    writing, and how many of their posts of the last 30 days are hidden."""

    account_age: timedelta
    recent_rejections: int = 0

    @classmethod
    def of(cls, member: Member, at: datetime, recent_rejections: int = 0) -> Standing:
        return cls(account_age=at - member.joined_at, recent_rejections=recent_rejections)


@dataclass(frozen=True)
class ContentDraft:
    """What is about to be written: `kind` is topic, comment, nickname..., `texts` by field."""

    kind: str
    texts: dict[str, str]
    author: Member
    standing: Standing

    @property
    def by_staff(self) -> bool:
        """Moderators and admins: exempt from rate limits, never from word rules."""
        return self.author.role in (MemberRole.MODERATOR, MemberRole.ADMIN)

    @property
    def by_new_member(self) -> bool:
        return self.author.level == 0 and self.standing.account_age < NEW_MEMBER_AGE


@dataclass
class Verdict:
    action: VerdictAction = VerdictAction.ALLOW
    reasons: list[Reason] = field(default_factory=list)
    #: For MASK: the texts by field with the matched spans replaced by '*'.
    masked: dict[str, str] = field(default_factory=dict)
    #: Published, but a moderator should look (a hook failed under the ALLOW policy).
    flagged: bool = False

    def combine(self, other: Verdict) -> Verdict:
        return Verdict(
            action=max(self.action, other.action),
            reasons=[*self.reasons, *other.reasons],
            masked={**self.masked, **other.masked},
            flagged=self.flagged or other.flagged,
        )


class RateLimited(Exception):
    """The author is writing faster than the limits allow; retry after `retry_after`."""

    def __init__(self, retry_after: float, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.detail = detail


class Hook(Protocol):
    name: str

    async def review(self, draft: ContentDraft) -> Verdict: ...


class FailPolicy(StrEnum):
    """What a hook's error or timeout does to the write."""

    ALLOW = "allow"  # publish, and open a case so a moderator looks
    REVIEW = "review"  # hold the content for a moderator


@dataclass(frozen=True)
class Stage:
    """A hook as configured: its time limit (None: no limit) and fail policy."""

    hook: Hook
    timeout: float | None = 0.5
    on_failure: FailPolicy = FailPolicy.ALLOW

    async def review(self, draft: ContentDraft) -> Verdict:
        try:
            async with asyncio.timeout(self.timeout):
                return await self.hook.review(draft)
        except RateLimited:
            raise
        except TimeoutError:
            return self._failed("timeout", f"no verdict within {self.timeout:g} s")
        except Exception as error:  # a plug-in's bug must not lose the member's post
            log.exception("moderation hook %s failed", self.hook.name)
            return self._failed("error", type(error).__name__)

    def _failed(self, code: str, detail: str) -> Verdict:
        reason = Reason(self.hook.name, f"hook_{code}", detail)
        if self.on_failure == FailPolicy.REVIEW:
            return Verdict(VerdictAction.REVIEW, [reason])
        return Verdict(VerdictAction.ALLOW, [reason], flagged=True)


class Pipeline:
    """The configured stages, run in order; an empty pipeline lets everything through."""

    def __init__(self, stages: Sequence[Stage | Hook] = ()) -> None:
        self.stages = [s if isinstance(s, Stage) else Stage(s) for s in stages]

    def add(self, hook: Hook | Stage) -> Stage:
        stage = hook if isinstance(hook, Stage) else Stage(hook)
        self.stages.append(stage)
        return stage

    async def review(self, draft: ContentDraft) -> Verdict:
        verdict = Verdict()
        for stage in self.stages:
            verdict = verdict.combine(await stage.review(draft))
        return verdict
