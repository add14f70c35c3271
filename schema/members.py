"""Members: the public face of a shopper, and the mall's purchase reports."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import models
from mallforum.ids import encode_id, parse_id
from resolvers import members as member_resolvers
from resolvers.topics import TopicSort, member_facet, topic_page
from schema.common import Connection, Info, Node, UserError, connection, context, payload

if TYPE_CHECKING:
    from schema.topics import Topic

TopicRef = Annotated["Topic", strawberry.lazy("schema.topics")]

MemberRole = strawberry.enum(models.MemberRole, description="What a member may do here.")
MemberStatus = strawberry.enum(
    models.MemberStatus, description="ACTIVE members post; MUTED and BANNED ones cannot."
)


@strawberry.type(description="A shopper of the mall, as the community knows them.")
class Member(Node):
    nickname: str
    avatar_url: str | None
    role: MemberRole  # type: ignore[valid-type]
    status: MemberStatus  # type: ignore[valid-type]
    joined_at: datetime
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
            model=member,
        )

    @strawberry.field(description="Published topics this member wrote, newest first.")
    async def topics(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TopicRef]:
        from schema.topics import Topic  # import here: schema.topics imports this module

        page = await topic_page(
            context(info), [member_facet(self.model.pk)], TopicSort.LATEST, first, after
        )
        return connection(page, Topic.of)

    @strawberry.field(description="Whether the mall reported that this member bought the SKU.")
    async def is_verified_buyer(self, info: Info, sku: str) -> bool:
        return await context(info).loaders.verified_buyer.load(
            (self.model.mall_user_id, sku.strip())
        )


async def load_member(info: Info, member_id: int) -> Member | None:
    member = await context(info).loaders.member_by_id.load(member_id)
    return Member.of(member) if member else None


@strawberry.input(description="The mall reports one purchased SKU of an order.")
class RecordPurchaseInput:
    mall_user_id: str = strawberry.field(
        description="The mall's own user id (the JWT `sub` of that user)."
    )
    sku: str
    order_id: str
    purchased_at: datetime | None = None


@strawberry.type
class PurchasePayload:
    recorded: bool = False
    errors: list[UserError]


@strawberry.type
class MemberQueries:
    @strawberry.field(description="The signed-in member; null when anonymous.")
    def viewer(self, info: Info) -> Member | None:
        viewer = context(info).viewer
        return Member.of(viewer) if viewer else None

    @strawberry.field(description="A member by global ID.")
    async def member(self, info: Info, id: strawberry.ID) -> Member | None:
        parsed = parse_id(id)
        if parsed is None or parsed[0] != "Member":
            return None
        return await load_member(info, parsed[1])


@strawberry.type
class MemberMutations:
    @strawberry.mutation(
        description="The mall's backend (a service token): a member bought a product."
    )
    async def record_purchase(self, info: Info, input: RecordPurchaseInput) -> PurchasePayload:
        work = member_resolvers.record_purchase(
            context(info), input.mall_user_id, input.sku, input.order_id, input.purchased_at
        )
        return await payload(PurchasePayload, work, name="recorded")
