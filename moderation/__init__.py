"""Moderation: the hook pipeline every write of user text passes before it is stored."""

from moderation.pipeline import (
    ContentDraft,
    FailPolicy,
    Pipeline,
    RateLimited,
    Reason,
    Stage,
    Standing,
    Verdict,
    VerdictAction,
)

__all__ = [
    "ContentDraft",
    "FailPolicy",
    "Pipeline",
    "RateLimited",
    "Reason",
    "Stage",
    "Standing",
    "Verdict",
    "VerdictAction",
]
