"""Moderation: the hook pipeline every write of user text passes before it is stored."""

from moderation.pipeline import ContentDraft, Pipeline, Reason, Verdict, VerdictAction

__all__ = ["ContentDraft", "Pipeline", "Reason", "Verdict", "VerdictAction"]
