"""Subscriptions over WebSocket (`graphql-transport-ws`), fanned out through Redis."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from mallforum import events
from resolvers import live
from schema.bindings import Info, described_enum
from schema.comments import Comment
from schema.contest_entries import ContestEntry
from schema.topics import Topic

TopicEventKind = described_enum(
    events.TopicEventKind,
    "What happened to a topic.",
    {
        "COMMENT_ADDED": "A comment the subscriber may see was published.",
        "LIKED": "The topic was liked.",
        "UPDATED": "Its author or a moderator edited it.",
        "HIDDEN": "It was hidden or deleted; the last event for members who no longer see it.",
    },
)


@strawberry.type(description="One event on a topic.")
class TopicEvent:
    kind: TopicEventKind = strawberry.field(description="What happened.")  # type: ignore[valid-type]
    topic: Topic = strawberry.field(description="The topic as it is now.")
    comment: Comment | None = strawberry.field(
        description="The comment added, for COMMENT_ADDED; null otherwise."
    )


@strawberry.type(description="Live events: each reaches subscribers on every server process.")
class Subscription:
    @strawberry.subscription(
        description="Live activity on one topic, across every server instance."
    )
    async def topic_activity(
        self,
        info: Info,
        topic_id: Annotated[strawberry.ID, strawberry.argument(description="The topic to follow.")],
    ) -> AsyncGenerator[TopicEvent, None]:
        async for event in live.topic_events(info.context, topic_id):
            comment = Comment.of(event.comment) if event.comment else None
            yield TopicEvent(kind=event.kind, topic=Topic.of(event.topic), comment=comment)

    @strawberry.subscription(description="Top entries of a contest whenever its ranking changes.")
    async def contest_ranking(
        self,
        info: Info,
        contest_id: Annotated[
            strawberry.ID, strawberry.argument(description="The contest to follow.")
        ],
        first: Annotated[
            int | None, strawberry.argument(description="How many entries, 1 to 50.")
        ] = 10,
    ) -> AsyncGenerator[list[ContestEntry], None]:
        async for entries in live.contest_ranking(info.context, contest_id, first or 10):
            yield [ContestEntry.of(entry) for entry in entries]
