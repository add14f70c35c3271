"""Subscriptions: what a subscriber receives when a live event arrives (mallforum/events.py).

An event names what changed; the subscriber reads it again with fresh loaders and its own
visibility rules, so a hint never shows anyone more than a query would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from mallforum.errors import ErrorCode, QueryError
from mallforum.events import TopicEventKind, contest_channel, topic_channel
from mallforum.ids import decode_id
from models import Comment, ContestEntry, ContestStatus, Topic
from models.contests import status_of
from resolvers.comments import visible_comment
from resolvers.contest_entries import ContestEntrySort, entry_page
from resolvers.contests import visible_contest
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.topics import visible_topic


@dataclass
class TopicEvent:
    kind: TopicEventKind
    topic: Topic
    comment: Comment | None = None


def _fresh(ctx: Context) -> None:
    """A subscription's context lives as long as its socket: read each event anew."""
    ctx.loaders = Loaders(ctx.viewer.pk if ctx.viewer else None, ctx.redis)


async def topic_events(ctx: Context, topic_gid: str) -> AsyncIterator[TopicEvent]:
    """The topic's events while the subscriber may see it; after it is hidden from them,
    one HIDDEN event and the end."""
    topic_id = decode_id(topic_gid, "Topic")
    if ctx.events is None or await visible_topic(ctx, topic_id) is None:
        raise QueryError(ErrorCode.NOT_FOUND, "No topic has that id.")
    async with ctx.events.listen(topic_channel(ctx.redis, topic_id)) as queue:
        while True:
            message = await queue.get()
            _fresh(ctx)
            kind = TopicEventKind(message["kind"])
            topic = await visible_topic(ctx, topic_id)
            if topic is None:
                stored = await Topic.get_or_none(id=topic_id)
                if stored is not None:
                    yield TopicEvent(TopicEventKind.HIDDEN, stored)
                return
            comment = None
            if message.get("comment") is not None:
                comment = await visible_comment(ctx, message["comment"])
                if comment is None:
                    continue  # a comment held for review is not news to this reader
            yield TopicEvent(kind, topic, comment)


#: How many entries a ranking subscription may follow.
RANKING_MAX = 50


async def contest_ranking(
    ctx: Context, contest_gid: str, first: int
) -> AsyncIterator[list[ContestEntry]]:
    """The contest's top `first` entries at once, then again whenever its ranking changes:
    by votes while it runs, by final score once finalized. A burst of votes that arrives
    while the ranking is read is answered by one reading."""
    if not 1 <= first <= RANKING_MAX:
        raise QueryError(ErrorCode.INVALID, f"first must be 1 to {RANKING_MAX}.")
    contest_id = decode_id(contest_gid, "Contest")
    if ctx.events is None or await visible_contest(ctx, contest_id) is None:
        raise QueryError(ErrorCode.NOT_FOUND, "No contest has that id.")
    async with ctx.events.listen(contest_channel(ctx.redis, contest_id)) as queue:
        while True:
            _fresh(ctx)
            contest = await visible_contest(ctx, contest_id)
            if contest is None:
                return
            finished = status_of(contest) == ContestStatus.FINISHED
            sort = ContestEntrySort.FINAL_SCORE if finished else ContestEntrySort.VOTES
            page = await entry_page(ctx, contest, sort, first, None)
            yield [entry for _, entry in page.items]
            await queue.get()
            while not queue.empty():
                queue.get_nowait()
