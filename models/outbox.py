"""The outbox: events for the mall, written in the transaction of the change they report."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class OutboxEvent(Model):
    """One event to POST to the mall's webhook, delivered once a 2xx answers it.

    `next_attempt_at` is when a worker may try it next: a worker leases an event by moving
    this forward before sending, so no two workers send it at once.
    """

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    payload = fields.JSONField()
    created_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "outbox_event"
        indexes = [Index(fields=("delivered_at", "next_attempt_at"), name="outbox_due_idx")]
