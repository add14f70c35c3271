"""Growth: member levels, the points ledger, daily check-in and badges."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

import models
from mallforum.growth_rules import LevelRule
from mallforum.ids import encode_id
from resolvers import badges as badge_resolvers
from resolvers import growth
from resolvers.growth import CheckInResult
from schema.bindings import Info, context, described_enum
from schema.members import Member, MemberId, MemberPayload
from schema.payloads import ERRORS, UserError, payload
from schema.relay import After, Connection, First, Node, connection

BadgeKind = described_enum(
    models.BadgeKind,
    "How a badge is earned.",
    {
        "AUTOMATIC": "Granted by a rule when a member's record meets it.",
        "MANUAL": "Granted by a moderator or a contest prize.",
    },
)


@strawberry.type(description="A member level (Lv0 新人 and up): what it takes and what it unlocks.")
class MemberLevel:
    level: int = strawberry.field(description="The level's number, from 0.")
    name: str = strawberry.field(description="The level's name, as members see it.")
    min_experience: int = strawberry.field(description="The experience that reaches this level.")
    privileges: list[str] = strawberry.field(
        description="Machine-readable privilege codes, e.g. POST_IMAGES, CREATE_POLL, "
        "PRODUCT_TRIALS."
    )

    @classmethod
    def of(cls, rule: LevelRule) -> MemberLevel:
        return cls(
            level=rule.level,
            name=rule.name,
            min_experience=rule.min_experience,
            privileges=list(rule.privileges),
        )


@strawberry.type(description="One change of the viewer's points: the ledger, newest first.")
class PointTransaction(Node):
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")
    reason: str = strawberry.field(
        description="Why: a code such as CHECK_IN, TOPIC_CREATED, LIKE_RECEIVED, CONTEST_PRIZE, "
        "REDEMPTION, ADMIN_ADJUSTMENT."
    )
    note: str | None = strawberry.field(description="The admin's words, for ADMIN_ADJUSTMENT.")
    balance_after: int = strawberry.field(description="The member's points after this change.")
    created_at: datetime = strawberry.field(description="When the change was made.")

    @classmethod
    def of(cls, row: models.PointTransaction) -> PointTransaction:
        return cls(
            id=strawberry.ID(encode_id("PointTransaction", row.pk)),
            delta=row.delta,
            reason=row.reason.value,
            note=row.note,
            balance_after=row.balance_after,
            created_at=row.created_at,
        )


@strawberry.type(description="A badge (勋章) of the catalogue.")
class Badge(Node):
    code: str = strawberry.field(description="Stable code, e.g. FIRST_TOPIC; grantBadge takes it.")
    name: str = strawberry.field(description="The badge's name, as members see it.")
    description: str = strawberry.field(description="What earns the badge.")
    icon_url: str | None = strawberry.field(description="The badge's icon; null when none.")
    kind: BadgeKind = strawberry.field(  # type: ignore[valid-type]
        description="Whether a rule or a person awards it."
    )
    holder_count: int = strawberry.field(description="How many members hold the badge.")

    @classmethod
    def of(cls, badge: models.Badge) -> Badge:
        return cls(
            id=strawberry.ID(encode_id("Badge", badge.pk)),
            code=badge.code,
            name=badge.name,
            description=badge.description,
            icon_url=badge.icon_url,
            kind=badge.kind,
            holder_count=badge.holder_count,
        )


@strawberry.type(description="A badge a member holds.")
class BadgeAward:
    awarded_at: datetime = strawberry.field(description="When the member got the badge.")
    reason: str | None = strawberry.field(
        description="Why, in the words of whoever granted it; null for automatic badges."
    )
    model: strawberry.Private[models.BadgeAward]

    @classmethod
    def of(cls, award: models.BadgeAward) -> BadgeAward:
        return cls(awarded_at=award.awarded_at, reason=award.reason, model=award)

    @strawberry.field(description="The badge.")
    async def badge(self, info: Info) -> Badge:
        badge = await context(info).loaders.badge_by_id.load(self.model.badge_id)
        assert badge is not None  # awards are deleted with their badge
        return Badge.of(badge)


@strawberry.type(description="What checkIn answers: the streak and the points, or why not.")
class CheckInPayload:
    streak: int | None = strawberry.field(
        default=None, description="Consecutive days checked in, today included."
    )
    points_awarded: int | None = strawberry.field(
        default=None, description="Points this call awarded: 0 when already checked in today."
    )
    new_check_in: bool | None = strawberry.field(
        default=None,
        description="False when the viewer had already checked in today (not an error).",
    )
    member: Member | None = strawberry.field(
        default=None, description="The viewer, with their new points and experience."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)

    @classmethod
    def of(cls, result: CheckInResult) -> CheckInPayload:
        return cls(
            streak=result.streak,
            points_awarded=result.points,
            new_check_in=result.new,
            member=Member.of(result.member),
            errors=[],
        )


@strawberry.type(description="What adjustPoints answers: the ledger row written, or why not.")
class PointsPayload:
    transaction: PointTransaction | None = strawberry.field(
        default=None, description="The transaction; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class GrowthQueries:
    @strawberry.field(description="The badge catalogue, with how many members hold each.")
    async def badges(self) -> list[Badge]:
        return [Badge.of(b) for b in await badge_resolvers.badge_catalogue()]

    @strawberry.field(description="Every member level, from Lv0 up, with what each unlocks.")
    def member_levels(self, info: Info) -> list[MemberLevel]:
        return [MemberLevel.of(rule) for rule in context(info).settings.levels.levels]

    @strawberry.field(
        description="The viewer's own points ledger, newest first; empty when anonymous."
    )
    async def point_history(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[PointTransaction]:
        page = await growth.point_history(context(info), first, after)
        return connection(page, PointTransaction.of)


@strawberry.type
class GrowthMutations:
    @strawberry.mutation(
        description="Daily check-in: points with a streak bonus; a second call on the same day "
        "awards nothing."
    )
    async def check_in(self, info: Info) -> CheckInPayload:
        return await payload(CheckInPayload, growth.check_in(context(info)), CheckInPayload.of)

    @strawberry.mutation(description="Moderators.")
    async def grant_badge(
        self,
        info: Info,
        member_id: MemberId,
        badge_code: Annotated[
            str, strawberry.argument(description="The code of a MANUAL badge, e.g. CONTEST_WINNER.")
        ],
        reason: Annotated[
            str | None,
            strawberry.argument(description="Why, at most 200 characters; shown with the badge."),
        ] = None,
    ) -> MemberPayload:
        work = badge_resolvers.grant_badge(context(info), member_id, badge_code, reason)
        return await payload(MemberPayload, work, Member.of, "member")

    @strawberry.mutation(description="Admins: add or take points, once per idempotencyKey.")
    async def adjust_points(
        self,
        info: Info,
        member_id: MemberId,
        delta: Annotated[
            int,
            strawberry.argument(description="Points to add (positive) or take (negative), not 0."),
        ],
        reason: Annotated[
            str, strawberry.argument(description="Why, 1 to 200 characters; the member sees it.")
        ],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="1 to 128 characters; the same key again changes nothing more."
            ),
        ],
    ) -> PointsPayload:
        work = growth.adjust_points(context(info), member_id, delta, reason, idempotency_key)
        return await payload(PointsPayload, work, PointTransaction.of, "transaction")
