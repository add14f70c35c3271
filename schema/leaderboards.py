"""Leaderboards: the members with the most experience, likes received or posts in a period."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import leaderboards
from schema.bindings import Info, context, described_enum
from schema.members import Member

LeaderboardKind = described_enum(
    leaderboards.LeaderboardKind,
    "What a leaderboard ranks members by.",
    {
        "EXPERIENCE": "Experience earned in the period.",
        "LIKES_RECEIVED": "Likes received in the period.",
        "POSTS": "Topics and comments published in the period.",
    },
)
LeaderboardPeriod = described_enum(
    leaderboards.LeaderboardPeriod,
    "The period a leaderboard counts, in the community's time zone (MALLFORUM_TIMEZONE).",
    {
        "DAILY": "Today, from midnight.",
        "WEEKLY": "This week, from Monday midnight.",
        "MONTHLY": "This calendar month.",
        "ALL_TIME": "Since the community began.",
    },
)


@strawberry.type(description="A member's place on a leaderboard.")
class LeaderboardEntry:
    rank: int = strawberry.field(
        description="1 for the top; equal scores rank by who reached the score first."
    )
    score: float = strawberry.field(
        description="The member's total for the period: a whole number of experience, likes "
        "or posts."
    )
    member: Member = strawberry.field(description="The member.")

    @classmethod
    def of(cls, entry: leaderboards.Entry) -> LeaderboardEntry:
        return cls(rank=entry.rank, score=float(entry.total), member=Member.of(entry.member))


Kind = Annotated[
    LeaderboardKind | None,  # type: ignore[valid-type]
    strawberry.argument(description="What to rank members by (default EXPERIENCE)."),
]
Period = Annotated[
    LeaderboardPeriod | None,  # type: ignore[valid-type]
    strawberry.argument(description="The period to count (default WEEKLY)."),
]
BoardSlug = Annotated[
    str | None,
    strawberry.argument(
        description="Only what was earned in this board; null: the whole community. A board "
        "the viewer may not see has an empty leaderboard."
    ),
]


@strawberry.type
class LeaderboardQueries:
    @strawberry.field(
        description="The members with the highest totals, highest first; only totals above "
        "zero are ranked, and banned members are left out."
    )
    async def leaderboard(
        self,
        info: Info,
        kind: Kind = leaderboards.LeaderboardKind.EXPERIENCE,
        period: Period = leaderboards.LeaderboardPeriod.WEEKLY,
        board_slug: BoardSlug = None,
        first: Annotated[
            int | None,
            strawberry.argument(description="How many members, at most 100 (default 20)."),
        ] = 20,
    ) -> list[LeaderboardEntry]:
        entries = await leaderboards.leaderboard(
            context(info),
            kind or leaderboards.LeaderboardKind.EXPERIENCE,
            period or leaderboards.LeaderboardPeriod.WEEKLY,
            board_slug,
            first,
        )
        return [LeaderboardEntry.of(entry) for entry in entries]

    @strawberry.field(
        description="The viewer's own place on that leaderboard; null when unranked or anonymous."
    )
    async def viewer_rank(
        self,
        info: Info,
        kind: Kind = leaderboards.LeaderboardKind.EXPERIENCE,
        period: Period = leaderboards.LeaderboardPeriod.WEEKLY,
        board_slug: BoardSlug = None,
    ) -> LeaderboardEntry | None:
        entry = await leaderboards.viewer_rank(
            context(info),
            kind or leaderboards.LeaderboardKind.EXPERIENCE,
            period or leaderboards.LeaderboardPeriod.WEEKLY,
            board_slug,
        )
        return LeaderboardEntry.of(entry) if entry else None
