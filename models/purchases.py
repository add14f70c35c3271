"""Purchases the mall reports, which make a member a verified buyer of a SKU."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Purchase(Model):
    """One SKU of one order. Keyed by the mall's user id: the buyer may not be a member yet."""

    id = fields.BigIntField(primary_key=True)
    mall_user_id = fields.CharField(max_length=128)
    sku = fields.CharField(max_length=64)
    order_id = fields.CharField(max_length=128)
    purchased_at = fields.DatetimeField()
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "purchase"
        unique_together = (("mall_user_id", "sku", "order_id"),)
        indexes = [Index(fields=("sku", "mall_user_id"), name="purchase_sku_buyer_idx")]
