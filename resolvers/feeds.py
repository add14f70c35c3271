"""The feeds topics are listed in, and their orders.

Every topic feed (a board, a board's tag, a tag across boards, a product SKU, a member's
topics, the home feed) reads `topic_listing`: one row per feed and published topic, with
copies of the topic's sort keys, so that each feed is an index range scan from the cursor.
The rows are written when a topic is published (resolvers/publishing.py) and their keys
when its counts change (`save_counters`). A board's HOT list is served from its Redis set
when it can be (mirrors.hot).

HOT order is `log10(max(1, likes + 2 × comments)) + (createdAt − 2024-01-01) / 45000 s`:
every 12.5 hours of age weighs as much as ten times the engagement. The score only changes
when a topic's own likes or comments do, so it is stored, indexed and paged by keyset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from tortoise.queryset import QuerySet

from mallforum.errors import ErrorCode, QueryError
from mirrors import hot
from models import Board, ContentStatus, Topic, TopicListing
from models.topics import board_facet, facets_of
from resolvers.context import Context
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    Page,
    SortKey,
    decode_cursor,
    encode_cursor,
    keyset_rows,
    page_size,
)

HOT_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
HOT_SECONDS_PER_DECADE = 45_000
TOP_KEY_FACTOR = 10**12


class TopicSort(StrEnum):
    LATEST = "LATEST"
    ACTIVE = "ACTIVE"
    HOT = "HOT"
    TOP = "TOP"


TOPIC_SORTS = {
    TopicSort.LATEST: SortKey("latest", ("topic_id",)),
    TopicSort.ACTIVE: SortKey("active", ("last_activity_at", "topic_id")),
    TopicSort.HOT: SortKey("hot", ("hot_score", "topic_id")),
    TopicSort.TOP: SortKey("top", ("top_key",)),
}


def hot_score(likes: int, comments: int, created_at: datetime) -> float:
    age = (created_at - HOT_EPOCH).total_seconds() / HOT_SECONDS_PER_DECADE
    return math.log10(max(1, likes + 2 * comments)) + age


def top_key(likes: int, topic_id: int) -> int:
    """Most liked first, newest first among equals: one unique, indexed column."""
    return likes * TOP_KEY_FACTOR + topic_id


async def publish_listings(topic: Topic, board: Board) -> None:
    await TopicListing.bulk_create(
        [
            TopicListing(
                topic_id=topic.pk,
                facet=facet,
                min_level=board.min_level_to_view,
                hot_score=topic.hot_score,
                top_key=top_key(topic.like_count, topic.pk),
                last_activity_at=topic.last_activity_at,
            )
            for facet in dict.fromkeys(facets_of(topic))
        ]
    )


async def withdraw_listings(topic: Topic) -> None:
    """Take the topic out of the feeds its current board, author, tags and SKUs name."""
    await _listings_of(topic).delete()


def _listings_of(topic: Topic) -> QuerySet[TopicListing]:
    """The topic's listing rows, found through the unique (facet, topic) index."""
    return TopicListing.filter(facet__in=facets_of(topic), topic_id=topic.pk)


async def topic_page(
    ctx: Context,
    facets: Sequence[str],
    sort: TopicSort,
    first: int | None,
    after: str | None,
    default_size: int = DEFAULT_PAGE_SIZE,
) -> Page[Topic]:
    """A page of published topics in the given feeds that the viewer's level may see.

    Each feed is read on its own index and several feeds are merged here, so that every
    feed is an index range scan from the cursor however old or quiet it is.
    """
    size, key = page_size(first, default_size), TOPIC_SORTS[sort]
    visible = TopicListing.filter(min_level__lte=ctx.viewer_level)
    rows: list[tuple[str, TopicListing]] = []
    has_next = False
    for facet in dict.fromkeys(facets):
        feed_rows, feed_has_next = await keyset_rows(visible.filter(facet=facet), key, size, after)
        rows.extend(feed_rows)
        has_next = has_next or feed_has_next
    if len(facets) > 1:  # merge, keeping a topic listed in two of the feeds once
        rows.sort(
            key=lambda item: [getattr(item[1], c) for c in key.columns], reverse=key.descending
        )
        rows = list({row.topic_id: (cursor, row) for cursor, row in rows}.values())
        has_next = has_next or len(rows) > size
        rows = rows[:size]
    topics = {t.pk: t for t in await Topic.filter(id__in=[r.topic_id for _, r in rows])}
    ctx.loaders.prime_many(ctx.loaders.topic_by_id, list(topics.values()))
    return Page(
        items=[(cursor, topics[r.topic_id]) for cursor, r in rows if r.topic_id in topics],
        has_next_page=has_next,
        has_previous_page=after is not None,
        count=visible.filter(facet__in=list(facets)).count,
    )


async def save_counters(topic: Topic) -> None:
    """Store a locked topic's counters and the sort keys derived from them, everywhere."""
    topic.hot_score = hot_score(topic.like_count, topic.comment_count, topic.created_at)
    await Topic.filter(id=topic.pk).update(
        like_count=topic.like_count,
        comment_count=topic.comment_count,
        hot_score=topic.hot_score,
        last_activity_at=topic.last_activity_at,
    )
    await _listings_of(topic).update(
        hot_score=topic.hot_score,
        top_key=top_key(topic.like_count, topic.pk),
        last_activity_at=topic.last_activity_at,
    )


def _hot_cursor(after: str) -> tuple[float, int]:
    score, topic_id = decode_cursor(TOPIC_SORTS[TopicSort.HOT], after)
    if not (
        isinstance(score, int | float)
        and math.isfinite(score)
        and isinstance(topic_id, int)
        and -(2**63) <= topic_id < 2**63
    ):
        raise QueryError(ErrorCode.INVALID, "after is not a cursor of this list.")
    return float(score), topic_id


async def board_hot_page(
    ctx: Context, board: Board, first: int | None, after: str | None
) -> Page[Topic] | None:
    """A page of the board's topics in HOT order from its Redis set (mirrors.hot), with the
    cursors the listing rows give; None when the database must answer (Redis down, or the
    set cold while another reader rebuilds it).

    Same page as `topic_page` over the board's listing rows: the board is only listed to
    viewers whose level may see it, and its rows carry its viewing level, so the rows' level
    filter passes them all; pinning does not change a board's order. A topic that left the
    board but is still in the set (its removal not yet copied) is left out of the page."""
    size, key = page_size(first), TOPIC_SORTS[TopicSort.HOT]
    position = _hot_cursor(after) if after else None
    entries = await hot.page_entries(ctx.redis, board.pk, size + 1, position)
    if entries is None:
        return None
    shown = entries[:size]
    topics = {t.pk: t for t in await Topic.filter(id__in=[t for t, _ in shown])} if shown else {}
    ctx.loaders.prime_many(ctx.loaders.topic_by_id, list(topics.values()))
    items = [
        (encode_cursor(key, [score, topic_id]), topic)
        for topic_id, score in shown
        if (topic := topics.get(topic_id)) is not None
        and topic.status == ContentStatus.PUBLISHED
        and topic.board_id == board.pk
    ]
    listed = TopicListing.filter(min_level__lte=ctx.viewer_level, facet=board_facet(board.pk))
    return Page(items, len(entries) > size, after is not None, listed.count)
