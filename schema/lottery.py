"""Comment lotteries (评论区抽奖): moderators draw winners among a topic's commenters."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import lottery as lottery_resolvers
from schema.bindings import Info, context
from schema.members import Member
from schema.payloads import ERRORS, UserError, payload


@strawberry.type(description="What drawLottery answers: the winners and the seed, or why not.")
class LotteryPayload:
    winners: list[Member] = strawberry.field(
        default_factory=list, description="Distinct commenters drawn, in draw order."
    )
    seed: str | None = strawberry.field(
        default=None, description="The seed used, so anyone can re-run the draw and check it."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)

    @classmethod
    def of(cls, result: lottery_resolvers.LotteryResult) -> LotteryPayload:
        return cls(winners=[Member.of(m) for m in result.winners], seed=result.seed, errors=[])


@strawberry.type
class LotteryMutations:
    @strawberry.mutation(
        description="Moderators: draw distinct commenters of a topic at random, reproducibly "
        "from the seed."
    )
    async def draw_lottery(
        self,
        info: Info,
        topic_id: Annotated[
            strawberry.ID, strawberry.argument(description="The topic whose commenters take part.")
        ],
        winners: Annotated[
            int,
            strawberry.argument(
                description=f"How many to draw, 1 to {lottery_resolvers.WINNERS_MAX}; fewer "
                "commenters than that all win."
            ),
        ],
        seed: Annotated[
            str | None,
            strawberry.argument(
                description=f"1 to {lottery_resolvers.SEED_MAX} characters; null: the server "
                "picks one and answers it."
            ),
        ] = None,
    ) -> LotteryPayload:
        work = lottery_resolvers.draw_lottery(context(info), topic_id, winners, seed)
        return await payload(LotteryPayload, work, LotteryPayload.of)
