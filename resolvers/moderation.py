"""How resolvers apply the moderation pipeline's verdict to a write."""

from __future__ import annotations

from dataclasses import dataclass

from mallforum.context import Context
from mallforum.errors import ErrorCode, UserFailure
from models import ContentStatus, Member
from moderation import ContentDraft, VerdictAction


@dataclass
class Screened:
    """The texts to store (masked where a hook asked) and the status to store them with."""

    texts: dict[str, str]
    status: ContentStatus


async def screen(ctx: Context, kind: str, author: Member, texts: dict[str, str]) -> Screened:
    """Pass a write through the pipeline: BLOCK refuses it, REVIEW holds it, MASK masks it."""
    verdict = await ctx.moderation.review(ContentDraft(kind=kind, texts=texts, author=author))
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
    return Screened(texts={**texts, **verdict.masked}, status=status)
