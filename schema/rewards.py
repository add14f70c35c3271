"""Rewards (积分兑换): the catalogue, redemptions, and the mall's settling of them."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated

import strawberry

import models
from mallforum.ids import encode_id
from resolvers import rewards
from resolvers.rewards import RewardItemInput
from schema.bindings import Info, context, described_enum
from schema.payloads import ERRORS, UserError, payload
from schema.relay import After, Connection, First, Node, connection

RedemptionStatus = described_enum(
    models.RedemptionStatus,
    "Where a redemption stands with the mall.",
    {
        "PENDING": "Points taken; waiting for the mall to issue the reward.",
        "ISSUED": "The mall issued the reward.",
        "REFUNDED": "The mall could not issue it; points were returned.",
    },
)


@strawberry.type(description="A coupon or gift members can redeem points for.")
class RewardItem(Node):
    name: str = strawberry.field(description="The item's name, 1 to 64 characters.")
    description: str | None = strawberry.field(description="What the member gets; null when none.")
    cost_points: int = strawberry.field(description="Points one redemption costs.")
    stock: int | None = strawberry.field(description="Units left; null for unlimited.")
    min_level: int = strawberry.field(description="The lowest member level that may redeem it.")
    required_privilege: str | None = strawberry.field(
        description="A privilege the member's level must grant too, e.g. PRODUCT_TRIALS; or null."
    )
    mall_reward_code: str = strawberry.field(
        description="The mall's code for what to issue, sent with each redemption's event."
    )
    active: bool = strawberry.field(
        description="Whether it is on offer; only admins see items that are not."
    )

    @classmethod
    def of(cls, item: models.RewardItem) -> RewardItem:
        return cls(
            id=strawberry.ID(encode_id("RewardItem", item.pk)),
            name=item.name,
            description=item.description,
            cost_points=item.cost_points,
            stock=item.stock,
            min_level=item.min_level,
            required_privilege=item.required_privilege,
            mall_reward_code=item.mall_reward_code,
            active=item.active,
        )


@strawberry.type(description="A member spent points on a reward item.")
class Redemption(Node):
    cost_points: int = strawberry.field(description="The points it cost.")
    status: RedemptionStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether the mall has issued the reward, or refunded the points."
    )
    created_at: datetime = strawberry.field(description="When the points were spent.")
    model: strawberry.Private[models.Redemption]

    @classmethod
    def of(cls, redemption: models.Redemption) -> Redemption:
        return cls(
            id=strawberry.ID(encode_id("Redemption", redemption.pk)),
            cost_points=redemption.cost_points,
            status=redemption.status,
            created_at=redemption.created_at,
            model=redemption,
        )

    @strawberry.field(description="The item redeemed, as it is now.")
    async def item(self, info: Info) -> RewardItem:
        item = await context(info).loaders.reward_item_by_id.load(self.model.item_id)
        assert item is not None  # items with redemptions cannot be deleted
        return RewardItem.of(item)


@strawberry.input(description="A new reward item.")
class CreateRewardItemInput:
    name: str = strawberry.field(description="1 to 64 characters.")
    description: str | None = strawberry.field(
        default=None, description="What the member gets, at most 2,000 characters."
    )
    cost_points: int = strawberry.field(description="Points one redemption costs, 0 or more.")
    stock: int | None = strawberry.field(
        default=None, description="Units available; null for unlimited."
    )
    min_level: int | None = strawberry.field(
        default=0, description="The lowest member level that may redeem it."
    )
    mall_reward_code: str = strawberry.field(
        description="The mall's code for what to issue, 1 to 64 characters."
    )
    required_privilege: str | None = strawberry.field(
        default=None,
        description="A privilege the member's level must grant too, e.g. PRODUCT_TRIALS.",
    )


@strawberry.input(description="Changes to a reward item: only the fields given change.")
class UpdateRewardItemInput:
    id: strawberry.ID = strawberry.field(description="The item's global ID.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1 to 64 characters.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="What the member gets; null removes it."
    )
    cost_points: int | None = strawberry.field(
        default=strawberry.UNSET, description="Points one redemption costs from now on."
    )
    stock: int | None = strawberry.field(
        default=strawberry.UNSET, description="Units left; null for unlimited."
    )
    min_level: int | None = strawberry.field(
        default=strawberry.UNSET, description="The lowest member level that may redeem it."
    )
    mall_reward_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="The mall's code for what to issue."
    )
    required_privilege: str | None = strawberry.field(
        default=strawberry.UNSET, description="A privilege the level must grant too; null: none."
    )
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="False withdraws the item from offer."
    )


def _given(data: object) -> tuple[RewardItemInput, set[str]]:
    """The resolver's input and the names of the fields the client gave."""
    values = {
        f.name: getattr(data, f.name)
        for f in dataclasses.fields(RewardItemInput)
        if getattr(data, f.name, strawberry.UNSET) is not strawberry.UNSET
    }
    return RewardItemInput(**values), set(values)


@strawberry.type(description="What creating or changing a reward item answers.")
class RewardItemPayload:
    item: RewardItem | None = strawberry.field(
        default=None, description="The item; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="What redeeming or settling answers: the redemption, or why not.")
class RedemptionPayload:
    redemption: Redemption | None = strawberry.field(
        default=None, description="The redemption; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


async def load_reward_item(info: Info, item_id: int) -> RewardItem | None:
    item = await context(info).loaders.reward_item_by_id.load(item_id)
    visible = item is not None and (item.active or context(info).is_admin)
    return RewardItem.of(item) if item and visible else None


async def load_redemption(info: Info, redemption_id: int) -> Redemption | None:
    """Its member, admins and the mall's backend see a redemption; nobody else."""
    ctx = context(info)
    found = await models.Redemption.get_or_none(id=redemption_id)
    own = found is not None and ctx.viewer is not None and found.member_id == ctx.viewer.pk
    return Redemption.of(found) if found and (own or ctx.is_admin or ctx.is_service) else None


@strawberry.type
class RewardQueries:
    @strawberry.field(description="Reward items on offer, newest first.")
    async def reward_items(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[RewardItem]:
        page = await rewards.reward_items(context(info), first, after)
        return connection(page, RewardItem.of)

    @strawberry.field(
        description="The viewer's own redemptions, newest first; empty when anonymous."
    )
    async def viewer_redemptions(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Redemption]:
        page = await rewards.redemptions_of(context(info), first, after)
        return connection(page, Redemption.of)


RedemptionId = Annotated[
    strawberry.ID, strawberry.argument(description="The redemption's global ID.")
]


@strawberry.type
class RewardMutations:
    @strawberry.mutation(description="Admins: a reward members can redeem points for.")
    async def create_reward_item(
        self,
        info: Info,
        input: Annotated[CreateRewardItemInput, strawberry.argument(description="The new item.")],
    ) -> RewardItemPayload:
        work = rewards.create_reward_item(context(info), _given(input)[0])
        return await payload(RewardItemPayload, work, RewardItem.of, "item")

    @strawberry.mutation(description="Admins: change a reward item, or withdraw it from offer.")
    async def update_reward_item(
        self,
        info: Info,
        input: Annotated[UpdateRewardItemInput, strawberry.argument(description="The changes.")],
    ) -> RewardItemPayload:
        data, given = _given(input)
        work = rewards.update_reward_item(context(info), input.id, data, given)
        return await payload(RewardItemPayload, work, RewardItem.of, "item")

    @strawberry.mutation(
        description="Spend points on a reward. The same idempotencyKey never spends twice."
    )
    async def redeem_reward(
        self,
        info: Info,
        item_id: Annotated[strawberry.ID, strawberry.argument(description="The item's global ID.")],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="1 to 128 characters, chosen by the client for this redemption."
            ),
        ],
    ) -> RedemptionPayload:
        work = rewards.redeem(context(info), item_id, idempotency_key)
        return await payload(RedemptionPayload, work, Redemption.of, "redemption")

    @strawberry.mutation(
        description="The mall's backend (a service token): a reward was issued or failed."
    )
    async def settle_redemption(
        self,
        info: Info,
        redemption_id: RedemptionId,
        issued: Annotated[
            bool,
            strawberry.argument(description="True: issued. False: failed, the points go back."),
        ],
    ) -> RedemptionPayload:
        work = rewards.settle(context(info), redemption_id, issued)
        return await payload(RedemptionPayload, work, Redemption.of, "redemption")
