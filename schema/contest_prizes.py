"""A contest's prize bands (奖项), as the API shows them and as a new contest declares them."""

from __future__ import annotations

import strawberry

import models
from schema.bindings import Info, context
from schema.growth import Badge


@strawberry.type(description="A prize band: the entries ranked rankFrom to rankTo win it.")
class ContestPrize:
    rank_from: int = strawberry.field(
        description="Ranks from..to (inclusive) win this prize; for a CHALLENGE every finisher "
        "is rank 1."
    )
    rank_to: int = strawberry.field(description="The last rank that wins this prize.")
    title: str = strawberry.field(description="The prize's name, e.g. 一等奖.")
    points: int = strawberry.field(description="Points each winner receives.")
    mall_reward_code: str | None = strawberry.field(
        description="Reward the mall issues (coupon, gift), identified by the mall's own code."
    )
    model: strawberry.Private[models.ContestPrize]

    @classmethod
    def of(cls, prize: models.ContestPrize) -> ContestPrize:
        return cls(
            rank_from=prize.rank_from,
            rank_to=prize.rank_to,
            title=prize.title,
            points=prize.points,
            mall_reward_code=prize.mall_reward_code,
            model=prize,
        )

    @strawberry.field(description="The MANUAL badge each winner receives; null when none.")
    async def badge(self, info: Info) -> Badge | None:
        if self.model.badge_id is None:
            return None
        badge = await context(info).loaders.badge_by_id.load(self.model.badge_id)
        return Badge.of(badge) if badge else None


@strawberry.input(description="A prize band of a new contest.")
class ContestPrizeInput:
    rank_from: int = strawberry.field(description="The first rank that wins it, from 1.")
    rank_to: int = strawberry.field(
        description="The last rank that wins it, at most 1000; bands may not overlap."
    )
    title: str = strawberry.field(description="The prize's name, 1 to 64 characters.")
    points: int | None = strawberry.field(
        default=0, description="Points each winner receives, 0 to 1,000,000."
    )
    badge_code: str | None = strawberry.field(
        default=None, description="A MANUAL badge each winner receives, e.g. CONTEST_WINNER."
    )
    mall_reward_code: str | None = strawberry.field(
        default=None,
        description="The mall's code of a reward to issue each winner, 1 to 64 characters.",
    )
