"""Members: provisioning from the mall's token, and what a member may see of another."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC

from tortoise.exceptions import IntegrityError

from mallforum.auth import Principal
from mallforum.clock import now
from mallforum.errors import Problems, UserFailure
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from mallforum.transactions import atomic
from models import Member, MemberRole, ModerationSource, PointReason, Purchase
from moderation import Pipeline, Reason, VerdictAction
from resolvers import badges, growth, moderation
from resolvers.context import Context

NICKNAME_MAX = 64
#: The code of the reason that carries a held nickname on the member's case.
HELD_NICKNAME = "held_nickname"


def _role_of(principal: Principal) -> MemberRole:
    if principal.is_admin:
        return MemberRole.ADMIN
    if principal.is_moderator:
        return MemberRole.MODERATOR
    return MemberRole.MEMBER


def default_nickname(principal: Principal) -> str:
    """The name shown when the mall gives none, or gives one the community's rules hold."""
    return f"用户{principal.sub[-6:]}"


@dataclass
class Nickname:
    """The name to show, the name the mall proposed, and the hooks' reasons when held."""

    shown: str
    held: list[Reason] = field(default_factory=list)
    proposed: str | None = None


async def screen_nickname(pipeline: Pipeline, member: Member, principal: Principal) -> Nickname:
    """The mall's nickname through the moderation pipeline. The mall owns the name, so a
    verdict never refuses the sign-in: MASK shows it masked, REVIEW and BLOCK show the
    default name, and REVIEW opens a case about the member (approving it shows the name).
    Writing names too fast (RATE_LIMITED) keeps the member's current one."""
    proposed = (principal.nickname or "").strip()[:NICKNAME_MAX]
    if not proposed:
        return Nickname(default_nickname(principal))
    try:
        verdict = await moderation.review(pipeline, "nickname", member, {"nickname": proposed})
    except UserFailure:  # RATE_LIMITED: keep the name shown, and look again next time
        return Nickname(member.nickname or default_nickname(principal), [], member.mall_nickname)
    if verdict.action >= VerdictAction.REVIEW:
        held = verdict.reasons if verdict.action == VerdictAction.REVIEW else []
        return Nickname(default_nickname(principal), held, proposed)
    return Nickname(verdict.masked.get("nickname", proposed), [], proposed)


async def hold_nickname(member: Member, nickname: Nickname) -> None:
    """Open (or add to) the member's case with the held name, for a moderator to decide."""
    rows = [moderation.reason_row(r.hook, r.code, r.detail) for r in nickname.held]
    rows.append(moderation.reason_row("nickname", HELD_NICKNAME, nickname.proposed))
    await moderation.add_to_case(member, ModerationSource.HOOK, rows)


async def provision_member(
    settings: Settings, redis: RedisStore, principal: Principal, pipeline: Pipeline
) -> Member | None:
    """The Member of a token's `sub`, created on its first request with the welcome gift
    (新手礼包) and, if the mall reported a purchase already, the verified-buyer badge; None
    for service tokens. Later tokens update nickname (through the moderation pipeline when
    it changes), avatar and the role shown on the member.
    """
    if principal.is_service:
        return None
    avatar, role = principal.avatar, _role_of(principal)
    member = await Member.get_or_none(mall_user_id=principal.sub)
    if member is None:
        joined = now()
        draft = Member(mall_user_id=principal.sub, role=role, level=0, joined_at=joined)
        nickname = await screen_nickname(pipeline, draft, principal)
        try:
            async with atomic():
                member = await Member.create(
                    mall_user_id=principal.sub,
                    nickname=nickname.shown,
                    mall_nickname=nickname.proposed,
                    avatar_url=avatar,
                    role=role,
                    joined_at=joined,
                )
                if nickname.held:
                    await hold_nickname(member, nickname)
                key = f"welcome:{member.pk}"
                await growth.earn(settings, redis, member, PointReason.WELCOME_GIFT, key, key)
            # After the member is committed: a purchase reported meanwhile either is seen
            # here or, reported after this commit, finds the member in record_purchase.
            async with atomic():
                await _verified_buyer_badge(await growth.lock_member(member.pk))
            return member
        except IntegrityError:  # a concurrent first request created it
            member = await Member.get(mall_user_id=principal.sub)
    changes: dict[str, str | MemberRole | None] = {}
    if principal.nickname and principal.nickname.strip()[:NICKNAME_MAX] != member.mall_nickname:
        nickname = await screen_nickname(pipeline, member, principal)
        if nickname.held:
            async with atomic():
                await hold_nickname(await growth.lock_member(member.pk), nickname)
        changes["nickname"], changes["mall_nickname"] = nickname.shown, nickname.proposed
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
            defaults={"purchased_at": purchased_at or now(), "recorded_at": now()},
        )
    buyer = await Member.get_or_none(mall_user_id=mall_user_id)
    if buyer is not None:
        async with atomic():
            await _verified_buyer_badge(await growth.lock_member(buyer.pk))
    return True


async def _verified_buyer_badge(member: Member) -> None:
    """Evaluate the verified-buyer rule for a locked member."""
    purchases = await Purchase.filter(mall_user_id=member.mall_user_id).count()
    await badges.evaluate(member.pk, "verified_buyer", purchases)
