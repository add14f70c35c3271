"""Growth: the points ledger, check-ins, the days members were active, and badges (勋章)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class PointReason(StrEnum):
    """Why a member's points or experience changed; each is also an action with its own
    amounts and daily cap in configuration, where it is earned."""

    WELCOME_GIFT = "WELCOME_GIFT"
    TOPIC_CREATED = "TOPIC_CREATED"
    COMMENT_CREATED = "COMMENT_CREATED"
    LIKE_RECEIVED = "LIKE_RECEIVED"
    ANSWER_ACCEPTED = "ANSWER_ACCEPTED"
    TOPIC_FEATURED = "TOPIC_FEATURED"
    CHECK_IN = "CHECK_IN"
    CONTEST_PRIZE = "CONTEST_PRIZE"
    CONTENT_REMOVED = "CONTENT_REMOVED"
    REDEMPTION = "REDEMPTION"
    REDEMPTION_REFUND = "REDEMPTION_REFUND"
    ADMIN_ADJUSTMENT = "ADMIN_ADJUSTMENT"


class PointTransaction(Model):
    """One change of a member's points and experience: the ledger.

    Written in the same transaction as the member's balance, under the member's row lock,
    so the balance is always the sum of `delta`. The idempotency key is unique: an award
    or a spend with a key already used changes nothing.
    """

    id = fields.BigIntField(primary_key=True)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    member_id: int
    delta = fields.BigIntField()
    experience = fields.BigIntField(default=0)
    reason = fields.CharEnumField(PointReason, max_length=24)
    #: What the change is about, as a global ID ("Topic:…"): `revoke` sums by it.
    reference = fields.CharField(max_length=64, null=True)
    #: The board of the content `reference` names (a topic, a comment, an accepted answer),
    #: set by the ledger: the board's leaderboards sum the experience earned there.
    board_id = fields.BigIntField(null=True)
    #: The admin's words for an adjustment.
    note = fields.CharField(max_length=200, null=True)
    idempotency_key = fields.CharField(max_length=200, unique=True)
    balance_after = fields.BigIntField()
    #: The calendar day in the community's time zone, for the daily caps.
    day = fields.DateField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "point_transaction"
        indexes = [
            Index(fields=("member_id", "reason", "day"), name="point_tx_cap_idx"),
            Index(fields=("member_id", "id"), name="point_tx_member_idx"),
            Index(fields=("reference",), name="point_tx_reference_idx"),
            # A period's leaderboards are rebuilt from the rows of that period.
            Index(fields=("created_at",), name="point_tx_created_idx"),
            Index(fields=("board_id", "created_at"), name="point_tx_board_created_idx"),
        ]
        constraints = [
            CheckConstraint(check="balance_after >= 0", name="point_tx_balance_not_negative"),
        ]


class CheckIn(Model):
    """A member checked in (签到) on a calendar day: at most once, unique in the database."""

    id = fields.BigIntField(primary_key=True)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    day = fields.DateField()
    streak = fields.IntField()
    points = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "check_in"
        unique_together = (("member", "day"),)


class ActivityDay(Model):
    """A member wrote something (a topic, a comment, a like, a check-in) on a calendar day."""

    id = fields.BigIntField(primary_key=True)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    day = fields.DateField()

    class Meta:
        table = "activity_day"
        unique_together = (("member", "day"),)


class BadgeKind(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"


class Badge(Model):
    """A badge of the catalogue (kept in step with the catalogue file at start-up).

    AUTOMATIC badges carry a `rule` (what is measured) and the `threshold` it must reach.
    """

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=32)
    description = fields.TextField()
    icon_url = fields.CharField(max_length=1024, null=True)
    kind = fields.CharEnumField(BadgeKind, max_length=16)
    rule = fields.CharField(max_length=32, null=True)
    threshold = fields.IntField(null=True)
    holder_count = fields.IntField(default=0)

    class Meta:
        table = "badge"
        constraints = [
            CheckConstraint(check="holder_count >= 0", name="badge_holder_count_not_negative"),
        ]


class BadgeAward(Model):
    """A member holds a badge: once, unique in the database."""

    id = fields.BigIntField(primary_key=True)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.CASCADE
    )
    badge = fields.ForeignKeyField("mallforum.Badge", related_name=False, on_delete=fields.CASCADE)
    member_id: int
    badge_id: int
    reason = fields.CharField(max_length=200, null=True)
    awarded_at = fields.DatetimeField()

    class Meta:
        table = "badge_award"
        unique_together = (("member", "badge"),)
        indexes = [Index(fields=("member_id", "id"), name="badge_award_member_idx")]
