"""Leaderboards as the API answers them: the current leaderboard of a kind and period, in
the community or in a board the viewer may see, its top members and the viewer's place.
What they hold, and how Redis keeps them, is in mirrors/leaderboards."""

from __future__ import annotations

from dataclasses import dataclass

from mallforum.clock import now
from mirrors.leaderboards import read
from mirrors.leaderboards.periods import (
    Leaderboard,
    LeaderboardKind,
    LeaderboardPeriod,
    window_of,
)
from models import Member, MemberStatus
from resolvers.boards import board_by_slug
from resolvers.context import Context
from resolvers.pagination import page_size

__all__ = ["Entry", "LeaderboardKind", "LeaderboardPeriod", "leaderboard", "viewer_rank"]


@dataclass
class Entry:
    """A member's place: rank 1 is the top."""

    rank: int
    total: int
    member: Member


async def _leaderboard_of(
    ctx: Context, kind: LeaderboardKind, period: LeaderboardPeriod, board_slug: str | None
) -> Leaderboard | None:
    """The current leaderboard asked for; None for a board the viewer may not see (or that
    is not there), as `board(slug:)` answers null for it."""
    board_id = None
    if board_slug is not None:
        board = await board_by_slug(ctx, board_slug)
        if board is None:
            return None
        board_id = board.pk
    return Leaderboard(kind, window_of(period, now(), ctx.settings.zone), board_id)


async def leaderboard(
    ctx: Context,
    kind: LeaderboardKind,
    period: LeaderboardPeriod,
    board_slug: str | None,
    first: int | None,
) -> list[Entry]:
    """The top `first` (default 20, at most 100: more is an error, as for every list)."""
    size = page_size(first)
    board = await _leaderboard_of(ctx, kind, period, board_slug)
    if board is None or size == 0:
        return []
    top = await read.top(ctx.redis, board, size)
    members = await ctx.loaders.member_by_id.load_many([member_id for member_id, _ in top])
    entries: list[Entry] = []
    for (_, total), member in zip(top, members, strict=True):
        # A member banned since their last update is left out (and those below move up).
        if member is not None and member.status != MemberStatus.BANNED:
            entries.append(Entry(len(entries) + 1, total, member))
    return entries


async def viewer_rank(
    ctx: Context, kind: LeaderboardKind, period: LeaderboardPeriod, board_slug: str | None
) -> Entry | None:
    """The viewer's place; None when anonymous, banned or unranked (no total above zero)."""
    viewer = ctx.viewer
    if viewer is None or viewer.status == MemberStatus.BANNED:
        return None
    board = await _leaderboard_of(ctx, kind, period, board_slug)
    if board is None:
        return None
    found = await read.rank(ctx.redis, board, viewer.pk)
    if found is None:
        return None
    rank, total = found
    return Entry(rank, total, viewer)
