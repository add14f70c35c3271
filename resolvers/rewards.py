"""Rewards (积分兑换): the catalogue admins keep, members' redemptions, the mall's settling.

A redemption takes the points, takes a unit of stock and writes a `redemption.created`
event for the mall in one transaction, locking the member and then the item (only items
with counted stock): members racing for the last units are served one at a time, and
nobody pays without getting a redemption. The member's idempotency key makes a retried
request return the first redemption and spend once. The mall settles each one with
`settleRedemption`: ISSUED, or REFUNDED, which gives the points back once and puts the unit
back in stock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import F

from mallforum import outbox
from mallforum.clock import now
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.ids import decode_id, encode_id
from mallforum.transactions import atomic
from models import Member, PointReason, Redemption, RedemptionStatus, RewardItem
from resolvers.context import Context
from resolvers.growth import KEY_MAX, level_too_low, lock_member, post, require_privilege
from resolvers.pagination import Page, SortKey, queryset_page
from resolvers.validation import Between, Check, Given, Rule, Text, clean

NAME_MAX, DESCRIPTION_MAX, CODE_MAX, PRIVILEGE_MAX = 64, 2000, 64, 32
COST_MAX, STOCK_MAX = 10_000_000, 10_000_000
NEWEST_FIRST = SortKey("id", ("id",))


@dataclass
class RewardItemInput:
    """The writable fields of a reward item; None means 'leave as it is' on update."""

    name: str | None = None
    description: str | None = None
    cost_points: int | None = None
    stock: int | None = None
    min_level: int | None = None
    mall_reward_code: str | None = None
    required_privilege: str | None = None
    active: bool | None = None


def _item_rules(ctx: Context) -> list[Rule]:
    """The rules of a reward item's fields, in the order their problems are listed."""
    levels = ctx.settings.levels
    top = levels.levels[-1].level
    return [
        Text("name", "name", NAME_MAX, f"The name must be 1 to {NAME_MAX} characters."),
        Text(
            "description",
            "description",
            DESCRIPTION_MAX,
            f"The description is at most {DESCRIPTION_MAX} characters.",
            blank_is_none=True,
        ),
        Between(
            "cost_points",
            "costPoints",
            0,
            COST_MAX,
            f"costPoints must be 0 to {COST_MAX}.",
            required=True,
        ),
        Between("stock", "stock", 0, STOCK_MAX, f"stock must be 0 to {STOCK_MAX}, or null."),
        Between("min_level", "minLevel", 0, top, f"minLevel must be 0 to {top}.", required=True),
        Text(
            "mall_reward_code",
            "mallRewardCode",
            CODE_MAX,
            f"mallRewardCode must be 1 to {CODE_MAX} characters.",
        ),
        Text(
            "required_privilege",
            "requiredPrivilege",
            PRIVILEGE_MAX,
            f"requiredPrivilege is at most {PRIVILEGE_MAX} characters.",
            blank_is_none=True,
        ),
        Check(
            "requiredPrivilege",
            lambda v: (
                bool(v.get("required_privilege"))
                and levels.lowest_granting(v["required_privilege"]) is None
            ),
            "No member level grants that privilege.",
        ),
        Given("active", "active", "active must be true or false."),
    ]


def _clean(ctx: Context, data: RewardItemInput, fields_set: set[str]) -> dict[str, Any]:
    """The fields to store, trimmed and checked; each violation is a problem naming its field."""
    problems = Problems()
    values = clean(_item_rules(ctx), data, problems, "input", only=fields_set)
    problems.raise_any()
    return values


async def create_reward_item(ctx: Context, data: RewardItemInput) -> RewardItem:
    ctx.require_admin()
    required = {"name", "description", "cost_points", "stock", "min_level", "mall_reward_code"}
    values = _clean(ctx, data, required | {"required_privilege"})
    return await RewardItem.create(**values, created_at=now())


async def update_reward_item(
    ctx: Context, item_gid: str, data: RewardItemInput, fields_set: set[str]
) -> RewardItem:
    """Change the given fields; redemptions already made keep the cost they were made at."""
    ctx.require_admin()
    item_id = decode_id(item_gid, "RewardItem", field=["input", "id"])
    values = _clean(ctx, data, fields_set)
    async with atomic():
        item = await RewardItem.select_for_update().get_or_none(id=item_id)
        if item is None:
            raise UserFailure.of(
                ErrorCode.NOT_FOUND, "No reward item has that id.", ["input", "id"]
            )
        if values:
            item.update_from_dict(values)
            await item.save(update_fields=list(values))
    return item


async def reward_items(ctx: Context, first: int | None, after: str | None) -> Page[RewardItem]:
    """Items on offer, newest first; admins also see the withdrawn ones."""
    items = RewardItem.all() if ctx.is_admin else RewardItem.filter(active=True)
    return await queryset_page(items, NEWEST_FIRST, first, after)


async def redeem(ctx: Context, item_gid: str, idempotency_key: str) -> Redemption:
    """Spend points on an item: LEVEL_TOO_LOW, INSUFFICIENT_POINTS or OUT_OF_STOCK when not."""
    viewer = ctx.require_unbanned_member()
    item_id = decode_id(item_gid, "RewardItem", field=["itemId"])
    key = idempotency_key.strip()
    if not 1 <= len(key) <= KEY_MAX:
        raise UserFailure.of(
            ErrorCode.INVALID,
            f"idempotencyKey must be 1 to {KEY_MAX} characters.",
            ["idempotencyKey"],
        )
    async with atomic():
        member = await lock_member(viewer.pk)  # the member first: a retry waits for the first
        earlier = await Redemption.get_or_none(member_id=member.pk, idempotency_key=key)
        if earlier is not None:
            if earlier.item_id != item_id:
                raise UserFailure.of(
                    ErrorCode.CONFLICT,
                    "That idempotency key was used for another item.",
                    ["idempotencyKey"],
                )
            return earlier
        item = await RewardItem.get_or_none(id=item_id)
        if item is not None and item.stock is not None:  # counted units: one at a time
            item = await RewardItem.select_for_update().get(id=item_id)
        if item is None or not item.active:
            raise UserFailure.of(ErrorCode.NOT_FOUND, "No reward item has that id.", ["itemId"])
        _check_level(ctx, member, item)
        if item.stock is not None and item.stock <= 0:
            raise UserFailure.of(ErrorCode.OUT_OF_STOCK, f"{item.name} is out of stock.")
        redemption = await Redemption.create(
            member_id=member.pk,
            item_id=item.pk,
            cost_points=item.cost_points,
            idempotency_key=key,
            created_at=now(),
        )
        if item.cost_points:
            await post(
                ctx.settings,
                ctx.redis,
                member,
                PointReason.REDEMPTION,
                f"redemption:{redemption.pk}",
                -item.cost_points,
                reference=f"Redemption:{redemption.pk}",
            )
        if item.stock is not None:
            await RewardItem.filter(id=item.pk).update(stock=F("stock") - 1)
        await outbox.emit(
            "redemption.created",
            {
                "redemptionId": encode_id("Redemption", redemption.pk),
                "mallUserId": member.mall_user_id,
                "mallRewardCode": item.mall_reward_code,
                "itemName": item.name,
                "costPoints": item.cost_points,
            },
        )
    return redemption


def _check_level(ctx: Context, member: Member, item: RewardItem) -> None:
    if member.level < item.min_level:
        needed = ctx.settings.levels.of(item.min_level)
        raise level_too_low(ctx.settings, member, item.name, needed)
    if item.required_privilege:
        require_privilege(ctx, member, item.required_privilege)


async def settle(ctx: Context, redemption_gid: str, issued: bool) -> Redemption:
    """The mall issued the reward, or could not (the points go back, once).

    Settling again the same way answers the redemption as it is; the other way, CONFLICT.
    """
    ctx.require_service()
    redemption_id = decode_id(redemption_gid, "Redemption", field=["redemptionId"])
    outcome = RedemptionStatus.ISSUED if issued else RedemptionStatus.REFUNDED
    async with atomic():
        found = await Redemption.get_or_none(id=redemption_id)
        if found is None:
            raise UserFailure.of(
                ErrorCode.NOT_FOUND, "No redemption has that id.", ["redemptionId"]
            )
        member = await lock_member(found.member_id)  # the member first, as redeem does
        redemption = await Redemption.select_for_update().get(id=redemption_id)
        if redemption.status == outcome:
            return redemption
        if redemption.status != RedemptionStatus.PENDING:
            raise UserFailure.of(
                ErrorCode.CONFLICT, f"That redemption was already {redemption.status.lower()}."
            )
        redemption.status, redemption.settled_at = outcome, now()
        await redemption.save(update_fields=["status", "settled_at"])
        if outcome == RedemptionStatus.REFUNDED:
            if redemption.cost_points:
                await post(
                    ctx.settings,
                    ctx.redis,
                    member,
                    PointReason.REDEMPTION_REFUND,
                    f"refund:{redemption.pk}",
                    redemption.cost_points,
                    reference=f"Redemption:{redemption.pk}",
                )
            await RewardItem.filter(id=redemption.item_id, stock__not_isnull=True).update(
                stock=F("stock") + 1
            )
    return redemption


async def redemptions_of(ctx: Context, first: int | None, after: str | None) -> Page[Redemption]:
    """The viewer's redemptions, newest first; none for anonymous readers."""
    mine = Redemption.filter(member_id=ctx.viewer.pk if ctx.viewer else 0)
    return await queryset_page(mine, NEWEST_FIRST, first, after)
