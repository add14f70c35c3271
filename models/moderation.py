"""Moderation: the cases moderators decide, members' reports, the log of what they did, and
the word rules admins add to the shipped ones."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class ModerationCaseStatus(StrEnum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ModerationSource(StrEnum):
    HOOK = "HOOK"
    REPORT = "REPORT"


class ReportReason(StrEnum):
    SPAM = "SPAM"
    ABUSE = "ABUSE"
    ILLEGAL = "ILLEGAL"
    OFF_TOPIC = "OFF_TOPIC"
    OTHER = "OTHER"


class WordListAction(StrEnum):
    BLOCK = "BLOCK"
    MASK = "MASK"
    REVIEW = "REVIEW"


class ModerationCase(Model):
    """Content a hook held or members reported, waiting for (or decided by) a moderator.

    An item has at most one OPEN case at a time (kept so under the item's row lock): later
    hook verdicts and reports add their reasons to it. `target_kind` is "Topic", "Comment"
    or "Member"; `reasons` is a list of {"hook", "code", "detail"}.
    """

    id = fields.BigIntField(primary_key=True)
    target_kind = fields.CharField(max_length=16)
    target_id = fields.BigIntField()
    source = fields.CharEnumField(ModerationSource, max_length=16)
    status = fields.CharEnumField(
        ModerationCaseStatus, max_length=16, default=ModerationCaseStatus.OPEN
    )
    reasons = fields.JSONField(default=list)
    report_count = fields.IntField(default=0)
    #: The reports' weights summed: past `report_hide_threshold` the item is hidden.
    report_weight = fields.FloatField(default=0)
    created_at = fields.DatetimeField()
    decided_by = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    note: str | None = fields.TextField(null=True)  # type: ignore[assignment]

    class Meta:
        table = "moderation_case"
        indexes = [
            Index(fields=("status", "id"), name="moderation_case_queue_idx"),
            Index(fields=("target_kind", "target_id", "status"), name="moderation_case_target_idx"),
        ]


class Report(Model):
    """One member's report of one item: a member reports an item once."""

    id = fields.BigIntField(primary_key=True)
    reporter = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    reporter_id: int
    target_kind = fields.CharField(max_length=16)
    target_id = fields.BigIntField()
    case = fields.ForeignKeyField(
        "mallforum.ModerationCase", related_name=False, on_delete=fields.RESTRICT
    )
    case_id: int
    reason = fields.CharEnumField(ReportReason, max_length=16)
    note = fields.TextField(null=True)
    weight = fields.FloatField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "report"
        unique_together = (("reporter", "target_kind", "target_id"),)
        indexes = [Index(fields=("case_id",), name="report_case_idx")]


class ModerationLog(Model):
    """One moderator action, written in the action's own transaction and never changed."""

    id = fields.BigIntField(primary_key=True)
    actor = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    actor_id: int | None
    action = fields.CharField(max_length=32)
    #: The global ID of what was acted on (a topic, comment or member).
    target_id = fields.CharField(max_length=128)
    note = fields.TextField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "moderation_log"


class WordRule(Model):
    """A word rule an admin added, or wrote over a shipped one with the same folded pattern.

    `folded` is the pattern folded as posts are (`moderation.words.folded_pattern`), unique:
    writing a pattern again, in any spelling that folds the same, changes the rule.
    """

    id = fields.BigIntField(primary_key=True)
    pattern = fields.CharField(max_length=100)
    folded = fields.CharField(max_length=400, unique=True)
    action = fields.CharEnumField(WordListAction, max_length=16)
    category = fields.CharField(max_length=32)
    created_by = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    created_by_id: int
    created_at = fields.DatetimeField()
    updated_by = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    updated_by_id: int
    updated_at = fields.DatetimeField()

    class Meta:
        table = "word_rule"


class WordRuleRevision(Model):
    """How many times the word rules changed: one row, bumped in each change's transaction.

    Every process compares it with the revision its compiled rules were read at, so a
    process that missed the change notice still catches up. Its row lock also queues the
    changes, so the cap on the number of rules holds under concurrent writes.
    """

    id = fields.IntField(primary_key=True)
    revision = fields.BigIntField(default=0)

    class Meta:
        table = "word_rule_revision"
