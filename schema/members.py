"""Members: the public face of a shopper, and the mall's purchase reports."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import models
from mallforum.ids import encode_id, parse_id
from models.topics import member_facet
from resolvers import badges as badge_resolvers
from resolvers import members as member_resolvers
from resolvers.feeds import TopicSort, topic_page
from resolvers.growth import current_streak, level_of
from schema.bindings import Info, context, described_enum
from schema.payloads import ERRORS, UserError, payload
from schema.relay import After, Connection, First, Node, connection

if TYPE_CHECKING:
    from schema.growth import BadgeAward, MemberLevel
    from schema.topics import Topic

TopicRef = Annotated["Topic", strawberry.lazy("schema.topics")]
BadgeAwardRef = Annotated["BadgeAward", strawberry.lazy("schema.growth")]
MemberLevelRef = Annotated["MemberLevel", strawberry.lazy("schema.growth")]

MemberRole = described_enum(
    models.MemberRole,
    "What a member may do here, from the roles in their latest token.",
    {
        "MEMBER": "A shopper: reads, posts, comments and likes.",
        "MODERATOR": "Also sees every board and all content, and acts on others' posts.",
        "ADMIN": "May do all a moderator may, and also create boards.",
    },
)
MemberStatus = described_enum(
    models.MemberStatus,
    "ACTIVE members post; MUTED and BANNED ones cannot.",
    {
        "ACTIVE": "May post, comment and like.",
        "MUTED": "May not post or comment while the mute lasts; may still read and like.",
        "BANNED": "May no longer post, comment or like.",
    },
)


@strawberry.type(description="A shopper of the mall, as the community knows them.")
class Member(Node):
    nickname: str = strawberry.field(
        description="The name shown for the member, from the mall's token; at most 64 characters."
    )
    avatar_url: str | None = strawberry.field(
        description="The avatar image's URL, from the mall's token; null when none."
    )
    role: MemberRole = strawberry.field(  # type: ignore[valid-type]
        description="What the member may do, from the roles in their latest token."
    )
    status: MemberStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether the member may write, or is muted or banned."
    )
    joined_at: datetime = strawberry.field(description="When the member first used the community.")
    experience: int = strawberry.field(
        description="Lifetime experience: earned by taking part, it decides the level."
    )
    model: strawberry.Private[models.Member]

    @classmethod
    def of(cls, member: models.Member) -> Member:
        return cls(
            id=strawberry.ID(encode_id("Member", member.pk)),
            nickname=member.nickname,
            avatar_url=member.avatar_url,
            role=member.role,
            status=member.status,
            joined_at=member.joined_at,
            experience=member.experience,
            model=member,
        )

    @strawberry.field(description="The member's level, with its name and privileges.")
    def level(self, info: Info) -> MemberLevelRef:
        from schema.growth import MemberLevel  # import here: schema.growth imports this module

        return MemberLevel.of(level_of(context(info).settings, self.model))

    @strawberry.field(
        description="Spendable points; null unless the viewer is this member or an admin."
    )
    def points(self, info: Info) -> int | None:
        ctx = context(info)
        own = ctx.viewer is not None and ctx.viewer.pk == self.model.pk
        return self.model.points if own or ctx.is_admin else None

    @strawberry.field(description="Consecutive days checked in, counting today or yesterday.")
    def check_in_streak(self, info: Info) -> int:
        return current_streak(context(info).settings, self.model)

    @strawberry.field(description="The badges the member holds, the latest awarded first.")
    async def badges(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[BadgeAwardRef]:
        from schema.growth import BadgeAward

        page = await badge_resolvers.awards_of(self.model.pk, first, after)
        return connection(page, BadgeAward.of)

    @strawberry.field(description="Published topics this member wrote, newest first.")
    async def topics(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[TopicRef]:
        from schema.topics import Topic  # import here: schema.topics imports this module

        page = await topic_page(
            context(info), [member_facet(self.model.pk)], TopicSort.LATEST, first, after
        )
        return connection(page, Topic.of)

    @strawberry.field(description="Whether the mall reported that this member bought the SKU.")
    async def is_verified_buyer(
        self,
        info: Info,
        sku: Annotated[
            str, strawberry.argument(description="The product SKU, as the mall names it.")
        ],
    ) -> bool:
        return await context(info).loaders.verified_buyer.load(
            (self.model.mall_user_id, sku.strip())
        )


async def load_member(info: Info, member_id: int) -> Member | None:
    member = await context(info).loaders.member_by_id.load(member_id)
    return Member.of(member) if member else None


MemberId = Annotated[strawberry.ID, strawberry.argument(description="The member's global ID.")]


@strawberry.type(description="What a mutation on a member answers: the member, or why not.")
class MemberPayload:
    member: Member | None = strawberry.field(
        default=None, description="The member as it is now; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="The mall reports one purchased SKU of an order.")
class RecordPurchaseInput:
    mall_user_id: str = strawberry.field(
        description="The mall's own user id (the JWT `sub` of that user)."
    )
    sku: str = strawberry.field(description="The product SKU bought, 1 to 64 characters.")
    order_id: str = strawberry.field(
        description="The mall's order id, 1 to 128 characters; a line reported twice counts once."
    )
    purchased_at: datetime | None = strawberry.field(
        default=None, description="When it was bought, not in the future; now when left out."
    )


@strawberry.type(description="What recordPurchase answers: whether it was recorded, or why not.")
class PurchasePayload:
    recorded: bool = strawberry.field(
        default=False,
        description="True when recorded (or already known); false when errors is not empty.",
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class MemberQueries:
    @strawberry.field(description="The signed-in member; null when anonymous.")
    def viewer(self, info: Info) -> Member | None:
        viewer = context(info).viewer
        return Member.of(viewer) if viewer else None

    @strawberry.field(description="A member by global ID; null when there is none.")
    async def member(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The member's global ID.")],
    ) -> Member | None:
        parsed = parse_id(id)
        if parsed is None or parsed[0] != "Member":
            return None
        return await load_member(info, parsed[1])


@strawberry.type
class MemberMutations:
    @strawberry.mutation(
        description="The mall's backend (a service token): a member bought a product."
    )
    async def record_purchase(
        self,
        info: Info,
        input: Annotated[
            RecordPurchaseInput, strawberry.argument(description="The purchased order line.")
        ],
    ) -> PurchasePayload:
        work = member_resolvers.record_purchase(
            context(info), input.mall_user_id, input.sku, input.order_id, input.purchased_at
        )
        return await payload(PurchasePayload, work, name="recorded")
