"""Boards: created by admins, hidden from members below their viewing level, followed."""

from __future__ import annotations

import contextlib
import re
from typing import cast

from tortoise.exceptions import IntegrityError

from mallforum.clock import now
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.ids import decode_id
from models import Board, BoardFollow, BoardKind, Topic
from models.topics import board_facet, tag_facet
from resolvers.context import Context
from resolvers.feeds import TopicSort, board_hot_page, topic_page
from resolvers.pagination import Page
from resolvers.topics import can_view_board, followed_tags

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
LEVEL_MAX = 100


async def visible_boards(ctx: Context) -> list[Board]:
    return await Board.filter(min_level_to_view__lte=ctx.viewer_level).order_by("id")


async def board_by_slug(ctx: Context, slug: str) -> Board | None:
    board = await Board.get_or_none(slug=slug.strip().lower())
    return board if board is not None and can_view_board(ctx, board) else None


async def visible_board(ctx: Context, board_id: int) -> Board | None:
    board = await ctx.loaders.board_by_id.load(board_id)
    return board if board is not None and can_view_board(ctx, board) else None


async def create_board(
    ctx: Context,
    slug: str,
    name: str,
    description: str | None,
    kind: BoardKind,
    min_level_to_view: int,
    min_level_to_post: int,
) -> Board:
    ctx.require_admin()
    problems = Problems()
    slug, name = slug.strip().lower(), name.strip()
    description = (description or "").strip() or None
    if not SLUG_PATTERN.match(slug):
        problems.invalid("A slug is 3 to 64 lowercase letters, digits and dashes.", "input", "slug")
    if not 1 <= len(name) <= 64:
        problems.invalid("A name is 1 to 64 characters.", "input", "name")
    if description is not None and len(description) > 2000:
        problems.invalid("A description is at most 2000 characters.", "input", "description")
    for value, field in (
        (min_level_to_view, "minLevelToView"),
        (min_level_to_post, "minLevelToPost"),
    ):
        if not 0 <= value <= LEVEL_MAX:
            problems.invalid(f"A level is 0 to {LEVEL_MAX}.", "input", field)
    problems.raise_any()
    try:
        return await Board.create(
            slug=slug,
            name=name,
            description=description,
            kind=kind,
            min_level_to_view=min_level_to_view,
            min_level_to_post=max(min_level_to_post, min_level_to_view),
            created_at=now(),
        )
    except IntegrityError:
        raise UserFailure.of(
            ErrorCode.DUPLICATE, f"A board with the slug {slug} exists.", ["input", "slug"]
        ) from None


async def board_topics(
    ctx: Context,
    board: Board,
    sort: TopicSort,
    tag: str | None,
    first: int | None,
    after: str | None,
) -> Page[Topic]:
    if sort == TopicSort.HOT and tag is None:  # from the board's HOT set in Redis, if it can
        page = await board_hot_page(ctx, board, first, after)
        if page is not None:
            return page
    return await topic_page(ctx, [board_facet(board.pk, tag)], sort, first, after)


async def set_follow(ctx: Context, board_gid: str, follow: bool) -> Board:
    member = ctx.require_unbanned_member()
    board = await visible_board(ctx, decode_id(board_gid, "Board", field=["boardId"]))
    if board is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No board has that id.", ["boardId"])
    if follow:
        with contextlib.suppress(IntegrityError):  # a concurrent call followed it first
            await BoardFollow.get_or_create(
                member_id=member.pk, board_id=board.pk, defaults={"created_at": now()}
            )
    else:
        await BoardFollow.filter(member_id=member.pk, board_id=board.pk).delete()
    return board


async def home_feed(ctx: Context, first: int | None, after: str | None) -> Page[Topic]:
    """Newest topics of the boards and tags the viewer follows; empty for anonymous readers."""
    member = ctx.viewer
    facets: list[str] = []
    if member is not None:
        boards = await BoardFollow.filter(member_id=member.pk).values_list("board_id", flat=True)
        facets = [board_facet(cast(int, b)) for b in boards]
        facets += [tag_facet(tag) for tag in await followed_tags(ctx)]
    return await topic_page(ctx, facets, TopicSort.LATEST, first, after)
