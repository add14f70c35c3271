"""Likes (点赞): one row per member and liked topic or comment, unique in the database."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class LikeSubject(StrEnum):
    TOPIC = "TOPIC"
    COMMENT = "COMMENT"


class Like(Model):
    id = fields.BigIntField(primary_key=True)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    subject_kind = fields.CharEnumField(LikeSubject, max_length=8)
    subject_id = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "like"
        unique_together = (("member", "subject_kind", "subject_id"),)
        indexes = [
            Index(fields=("subject_kind", "subject_id"), name="like_subject_idx"),
            # A period's LIKES_RECEIVED leaderboards are rebuilt from the likes of that period.
            Index(fields=("created_at",), name="like_created_idx"),
        ]
