"""How resolvers apply the moderation pipeline's verdict to a write, and the cases it opens.

A REVIEW verdict stores the content as PENDING_REVIEW and opens (or adds its reasons to)
the item's moderation case, in the write's own transaction, for a moderator to decide
(resolvers/moderation_cases.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from mallforum import metrics
from mallforum.clock import now
from mallforum.errors import ErrorCode, Problem, UserFailure
from models import (
    Comment,
    ContentStatus,
    Member,
    ModerationCase,
    ModerationCaseStatus,
    ModerationSource,
    Topic,
)
from moderation import (
    ContentDraft,
    Pipeline,
    RateLimited,
    Reason,
    Standing,
    Verdict,
    VerdictAction,
)
from resolvers.context import Context

#: How far back a member's hidden posts count against them (`Standing.recent_rejections`).
REJECTIONS_WINDOW = timedelta(days=30)


@dataclass
class Screened:
    """The texts to store (masked where a hook asked), the status to store them with, and
    the reasons of the hooks that spoke."""

    texts: dict[str, str]
    status: ContentStatus
    reasons: list[Reason] = field(default_factory=list)
    flagged: bool = False

    @property
    def needs_case(self) -> bool:
        """Held for review, or published but flagged by a failing hook: a moderator looks."""
        return self.status == ContentStatus.PENDING_REVIEW or self.flagged


async def recent_rejections(member: Member) -> int:
    """How many of the member's topics and comments of the last 30 days are hidden, by a
    moderator or by members' reports: a sign the next post deserves a stricter look."""
    since = now() - REJECTIONS_WINDOW
    hidden = {"author_id": member.pk, "status": ContentStatus.HIDDEN, "created_at__gte": since}
    return await Topic.filter(**hidden).count() + await Comment.filter(**hidden).count()


async def review(pipeline: Pipeline, kind: str, author: Member, texts: dict[str, str]) -> Verdict:
    """The pipeline's verdict on a draft; RATE_LIMITED when the author writes too fast.
    `author` may be a member about to be created (no pk yet)."""
    rejections = await recent_rejections(author) if author.pk is not None else 0
    standing = Standing.of(author, now(), rejections)
    try:
        verdict = await pipeline.review(ContentDraft(kind, texts, author, standing))
    except RateLimited as limited:
        metrics.MODERATION_VERDICTS.labels(kind, "rate_limited").inc()
        seconds = max(1, math.ceil(limited.retry_after))
        raise UserFailure(
            [
                Problem(
                    ErrorCode.RATE_LIMITED,
                    f"You are posting too fast; try again in {seconds} s.",
                    retry_after=seconds,
                )
            ]
        ) from None
    metrics.MODERATION_VERDICTS.labels(kind, verdict.action.name.lower()).inc()
    return verdict


async def screen(ctx: Context, kind: str, author: Member, texts: dict[str, str]) -> Screened:
    """Pass a write through the pipeline: BLOCK refuses it, REVIEW holds it, MASK masks it."""
    verdict = await review(ctx.moderation, kind, author, texts)
    if verdict.action == VerdictAction.BLOCK:
        categories = sorted({r.code for r in verdict.reasons}) or ["community rules"]
        raise UserFailure.of(
            ErrorCode.REJECTED_BY_MODERATION,
            "This was not published because it breaks the community rules ("
            + ", ".join(categories)
            + ").",
        )
    status = (
        ContentStatus.PENDING_REVIEW
        if verdict.action == VerdictAction.REVIEW
        else ContentStatus.PUBLISHED
    )
    return Screened({**texts, **verdict.masked}, status, verdict.reasons, verdict.flagged)


ModeratedModel = Topic | Comment | Member


def target_kind(target: ModeratedModel) -> str:
    """The name cases, reports and global IDs use for the target's type."""
    return type(target).__name__


def reason_row(hook: str, code: str, detail: str | None = None) -> dict[str, str | None]:
    return {"hook": hook, "code": code, "detail": detail}


async def open_case_of(target: ModeratedModel) -> ModerationCase | None:
    """The item's open case, locked; call with the item's row locked, inside a transaction."""
    return (
        await ModerationCase.select_for_update()
        .filter(
            target_kind=target_kind(target),
            target_id=target.pk,
            status=ModerationCaseStatus.OPEN,
        )
        .first()
    )


async def add_to_case(
    target: ModeratedModel, source: ModerationSource, reasons: Sequence[dict[str, str | None]]
) -> ModerationCase:
    """Add reasons to the item's open case, opening one (with this source) if it has none.
    Call with the item's row locked, inside a transaction: an item has one open case."""
    case = await open_case_of(target)
    if case is None:
        return await ModerationCase.create(
            target_kind=target_kind(target),
            target_id=target.pk,
            source=source,
            reasons=list(reasons),
            created_at=now(),
        )
    case.reasons = [*case.reasons, *reasons]
    await case.save(update_fields=["reasons"])
    return case


async def open_hook_case(target: Topic | Comment, reasons: Sequence[Reason]) -> ModerationCase:
    """A hook held the content (stored PENDING_REVIEW) or flagged it: put it in the
    moderators' queue. Call in the write's transaction, after the content is stored."""
    rows = [reason_row(r.hook, r.code, r.detail) for r in reasons] or [
        reason_row("pipeline", "review")
    ]
    return await add_to_case(target, ModerationSource.HOOK, rows)
