"""Per-request DataLoaders: every related row a query path needs is loaded in batches.

Each loader is named for what it loads and by which key; results come back in key order.
A `Loaders` is created for each request, so nothing is cached across requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from models import (
    Badge,
    Board,
    BoardFollow,
    Comment,
    ContentStatus,
    Like,
    LikeSubject,
    Member,
    Purchase,
    RewardItem,
    Topic,
)

M = TypeVar("M", bound=Model)


def _by_id(model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        rows = {row.pk: row for row in await model.filter(id__in=list(set(ids)))}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


class Loaders:
    """The DataLoaders of one request."""

    def __init__(self, viewer_id: int | None) -> None:
        self.member_by_id: DataLoader[int, Member | None] = _by_id(Member)
        self.board_by_id: DataLoader[int, Board | None] = _by_id(Board)
        self.topic_by_id: DataLoader[int, Topic | None] = _by_id(Topic)
        self.comment_by_id: DataLoader[int, Comment | None] = _by_id(Comment)
        self.badge_by_id: DataLoader[int, Badge | None] = _by_id(Badge)
        self.reward_item_by_id: DataLoader[int, RewardItem | None] = _by_id(RewardItem)
        self.liked_by_viewer = DataLoader(load_fn=self._load_liked_by_viewer)
        self.followed_by_viewer = DataLoader(load_fn=self._load_followed_by_viewer)
        self.verified_buyer = DataLoader(load_fn=_load_verified_buyer)
        self.first_replies_by_root = DataLoader(load_fn=_load_first_replies_by_root)
        self._viewer_id = viewer_id

    def prime_many(self, loader: DataLoader[int, M | None], rows: Sequence[M]) -> None:
        for row in rows:
            loader.prime(row.pk, row)

    async def _load_liked_by_viewer(self, keys: Sequence[tuple[LikeSubject, int]]) -> list[bool]:
        """LikedByViewer: (subject kind, subject id) → whether the viewer likes it."""
        if self._viewer_id is None:
            return [False] * len(keys)
        liked = set(
            await Like.filter(
                member_id=self._viewer_id, subject_id__in=list({i for _, i in keys})
            ).values_list("subject_kind", "subject_id")
        )
        return [(kind, i) in liked for kind, i in keys]

    async def _load_followed_by_viewer(self, board_ids: Sequence[int]) -> list[bool]:
        """FollowedByViewer: board id → whether the viewer follows that board."""
        if self._viewer_id is None:
            return [False] * len(board_ids)
        followed = set(
            await BoardFollow.filter(
                member_id=self._viewer_id, board_id__in=list(set(board_ids))
            ).values_list("board_id", flat=True)
        )
        return [i in followed for i in board_ids]


async def _load_verified_buyer(keys: Sequence[tuple[str, str]]) -> list[bool]:
    """VerifiedBuyer: (mall user id, sku) → whether the mall reported that purchase."""
    bought = set(
        await Purchase.filter(
            mall_user_id__in=list({u for u, _ in keys}), sku__in=list({s for _, s in keys})
        )
        .distinct()
        .values_list("mall_user_id", "sku")
    )
    return [key in bought for key in keys]


async def _load_first_replies_by_root(keys: Sequence[tuple[int, int]]) -> list[list[Comment]]:
    """FirstRepliesByRoot: (root comment id, n) → the thread's first n published replies,
    oldest first: one statement per distinct n, numbering the replies within each thread.

    Raw SQL because the ORM has no window functions; it holds only integers and a constant,
    and runs on PostgreSQL and SQLite alike."""
    threads: dict[tuple[int, int], list[Comment]] = {key: [] for key in keys}
    for n in {n for _, n in keys}:
        roots = ",".join(str(int(root_id)) for root_id, size in threads if size == n)
        replies: list[Comment] = await Comment.raw(
            'SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "root_id" ORDER BY "id")'
            f' AS "reply_number" FROM "comment" WHERE "root_id" IN ({roots})'
            f' AND "status" = \'{ContentStatus.PUBLISHED.value}\') AS "numbered"'
            f' WHERE "reply_number" <= {int(n)} ORDER BY "root_id", "id"'
        )
        for reply in replies:
            threads[(reply.root_id, n)].append(reply)
    return [threads[key] for key in keys]
