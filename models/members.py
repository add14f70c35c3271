"""Members: provisioned from the mall's JWT, never with a password."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class MemberRole(StrEnum):
    MEMBER = "MEMBER"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"


class MemberStatus(StrEnum):
    ACTIVE = "ACTIVE"
    MUTED = "MUTED"
    BANNED = "BANNED"


class Member(Model):
    """One shopper of the mall, keyed by the mall's own user id (the JWT `sub`)."""

    id = fields.BigIntField(primary_key=True)
    mall_user_id = fields.CharField(max_length=128, unique=True)
    nickname = fields.CharField(max_length=64)
    #: The nickname the mall's token last gave, as given: `nickname` is what the community
    #: shows of it after moderation (masked, or a default name while held).
    mall_nickname = fields.CharField(max_length=64, null=True)
    avatar_url = fields.CharField(max_length=1024, null=True)
    role = fields.CharEnumField(MemberRole, max_length=16, default=MemberRole.MEMBER)
    status = fields.CharEnumField(MemberStatus, max_length=16, default=MemberStatus.ACTIVE)
    muted_until = fields.DatetimeField(null=True)
    experience = fields.BigIntField(default=0)
    level = fields.IntField(default=0)
    #: Spendable points, changed only together with a PointTransaction row (the ledger).
    points = fields.BigIntField(default=0)
    #: Likes by others on the member's published topics and comments, now.
    likes_received = fields.IntField(default=0)
    check_in_streak = fields.IntField(default=0)
    last_check_in_on = fields.DateField(null=True)
    joined_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "member"
        constraints = [
            CheckConstraint(check="experience >= 0", name="member_experience_not_negative"),
            CheckConstraint(check="level >= 0", name="member_level_not_negative"),
            CheckConstraint(check="points >= 0", name="member_points_not_negative"),
            CheckConstraint(check="likes_received >= 0", name="member_likes_not_negative"),
        ]
