"""Members: provisioning from the mall's token, and what a member may see of another."""

from __future__ import annotations

import contextlib
from datetime import UTC

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from mallforum.auth import Principal
from mallforum.clock import now
from mallforum.context import Context
from mallforum.errors import Problems
from mallforum.settings import Settings
from models import Member, MemberRole, PointReason, Purchase
from resolvers import badges, growth

NICKNAME_MAX = 64


def _role_of(principal: Principal) -> MemberRole:
    if principal.is_admin:
        return MemberRole.ADMIN
    if principal.is_moderator:
        return MemberRole.MODERATOR
    return MemberRole.MEMBER


def _nickname_of(principal: Principal) -> str:
    nickname = (principal.nickname or "").strip()[:NICKNAME_MAX]
    return nickname or f"用户{principal.sub[-6:]}"


async def provision_member(settings: Settings, principal: Principal) -> Member | None:
    """The Member of a token's `sub`, created on its first request with the welcome gift
    (新手礼包) and, if the mall reported a purchase already, the verified-buyer badge; None
    for service tokens. Later tokens update nickname, avatar and the role shown on the member.
    """
    if principal.is_service:
        return None
    nickname, avatar, role = _nickname_of(principal), principal.avatar, _role_of(principal)
    member = await Member.get_or_none(mall_user_id=principal.sub)
    if member is None:
        try:
            async with in_transaction():
                member = await Member.create(
                    mall_user_id=principal.sub, nickname=nickname, avatar_url=avatar, role=role
                )
                key = f"welcome:{member.pk}"
                await growth.earn(settings, member, PointReason.WELCOME_GIFT, key, key)
            # After the member is committed: a purchase reported meanwhile either is seen
            # here or, reported after this commit, finds the member in record_purchase.
            async with in_transaction():
                await _verified_buyer_badge(await growth.lock_member(member.pk))
            return member
        except IntegrityError:  # a concurrent first request created it
            member = await Member.get(mall_user_id=principal.sub)
    changes: dict[str, str | MemberRole | None] = {}
    if principal.nickname and member.nickname != nickname:
        changes["nickname"] = nickname
    if principal.avatar and member.avatar_url != avatar:
        changes["avatar_url"] = avatar
    if member.role != role:
        changes["role"] = role
    if changes:
        await Member.filter(id=member.pk).update(**changes)
        for name, value in changes.items():
            setattr(member, name, value)
    return member


async def record_purchase(
    ctx: Context, mall_user_id: str, sku: str, order_id: str, purchased_at
) -> bool:
    """The mall reports a purchase; reporting the same order line twice records it once."""
    ctx.require_service()
    problems = Problems()
    mall_user_id, sku, order_id = mall_user_id.strip(), sku.strip(), order_id.strip()
    if not 1 <= len(mall_user_id) <= 128:
        problems.invalid("mallUserId must be 1 to 128 characters.", "input", "mallUserId")
    if not 1 <= len(sku) <= 64:
        problems.invalid("sku must be 1 to 64 characters.", "input", "sku")
    if not 1 <= len(order_id) <= 128:
        problems.invalid("orderId must be 1 to 128 characters.", "input", "orderId")
    if purchased_at is not None and purchased_at.tzinfo is None:  # times are UTC
        purchased_at = purchased_at.replace(tzinfo=UTC)
    if purchased_at is not None and purchased_at > now():
        problems.invalid("purchasedAt cannot be in the future.", "input", "purchasedAt")
    problems.raise_any()
    with contextlib.suppress(IntegrityError):  # the same line reported twice at once
        await Purchase.get_or_create(
            mall_user_id=mall_user_id,
            sku=sku,
            order_id=order_id,
            defaults={"purchased_at": purchased_at or now()},
        )
    buyer = await Member.get_or_none(mall_user_id=mall_user_id)
    if buyer is not None:
        async with in_transaction():
            await _verified_buyer_badge(await growth.lock_member(buyer.pk))
    return True


async def _verified_buyer_badge(member: Member) -> None:
    """Evaluate the verified-buyer rule for a locked member."""
    purchases = await Purchase.filter(mall_user_id=member.mall_user_id).count()
    await badges.evaluate(member.pk, "verified_buyer", purchases)
