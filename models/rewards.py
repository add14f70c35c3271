"""The reward catalogue (积分兑换) and members' redemptions of it."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class RewardItem(Model):
    """A coupon or gift members buy with points, issued by the mall by `mall_reward_code`."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    description = fields.TextField(null=True)
    cost_points = fields.IntField()
    #: Units left, or null for unlimited.
    stock = fields.IntField(null=True)
    min_level = fields.IntField(default=0)
    #: A privilege the member's level must grant as well, e.g. PRODUCT_TRIALS for trials.
    required_privilege = fields.CharField(max_length=32, null=True)
    mall_reward_code = fields.CharField(max_length=64)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reward_item"
        constraints = [
            CheckConstraint(check="cost_points >= 0", name="reward_item_cost_not_negative"),
            CheckConstraint(check="stock >= 0", name="reward_item_stock_not_negative"),
        ]


class RedemptionStatus(StrEnum):
    PENDING = "PENDING"
    ISSUED = "ISSUED"
    REFUNDED = "REFUNDED"


class Redemption(Model):
    """A member spent points on an item, settled by the mall as ISSUED or REFUNDED."""

    id = fields.BigIntField(primary_key=True)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    item = fields.ForeignKeyField(
        "mallforum.RewardItem", related_name=False, on_delete=fields.RESTRICT
    )
    member_id: int
    item_id: int
    cost_points = fields.IntField()
    status = fields.CharEnumField(RedemptionStatus, max_length=16, default=RedemptionStatus.PENDING)
    idempotency_key = fields.CharField(max_length=128)
    created_at = fields.DatetimeField()
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "redemption"
        unique_together = (("member", "idempotency_key"),)
        indexes = [Index(fields=("member_id", "id"), name="redemption_member_idx")]
