"""Boards (版块) and who follows them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class BoardKind(StrEnum):
    PRODUCT = "PRODUCT"
    INTEREST = "INTEREST"
    REGION = "REGION"
    PRIVILEGE = "PRIVILEGE"
    ANNOUNCEMENT = "ANNOUNCEMENT"


class Board(Model):
    id = fields.BigIntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=64)
    description = fields.TextField(null=True)
    kind = fields.CharEnumField(BoardKind, max_length=16)
    min_level_to_view = fields.IntField(default=0)
    min_level_to_post = fields.IntField(default=0)
    topic_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "board"
        constraints = [
            CheckConstraint(check="topic_count >= 0", name="board_topic_count_not_negative"),
        ]


class BoardFollow(Model):
    id = fields.BigIntField(primary_key=True)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.CASCADE
    )
    board = fields.ForeignKeyField("mallforum.Board", related_name=False, on_delete=fields.CASCADE)
    member_id: int
    board_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "board_follow"
        unique_together = (("member", "board"),)
