"""Likes (点赞) on topics and comments."""

from __future__ import annotations

from typing import Annotated

import strawberry

import models
from resolvers.likes import set_like
from schema.bindings import Info, context
from schema.comments import Comment
from schema.payloads import ERRORS, UserError, payload
from schema.relay import Node
from schema.topics import Topic


@strawberry.type(
    description="What like and unlike answer: the subject with its new count, or why not."
)
class LikePayload:
    subject: Node | None = strawberry.field(
        default=None, description="The topic or comment, with its new likeCount and viewerHasLiked."
    )
    like_count: int | None = strawberry.field(
        default=None, description="The subject's like count now; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


def _liked(subject: models.Topic | models.Comment) -> LikePayload:
    node = Topic.of(subject) if isinstance(subject, models.Topic) else Comment.of(subject)
    return LikePayload(subject=node, like_count=subject.like_count, errors=[])


LikedId = Annotated[
    strawberry.ID,
    strawberry.argument(description="The global ID of a published topic or comment."),
]


async def _like_payload(info: Info, id: strawberry.ID, liked: bool) -> LikePayload:
    return await payload(LikePayload, set_like(context(info), id, liked), _liked)


@strawberry.type
class LikeMutations:
    @strawberry.mutation(
        description="Like a topic or comment. Liking twice is not an error and counts once."
    )
    async def like(self, info: Info, id: LikedId) -> LikePayload:
        return await _like_payload(info, id, True)

    @strawberry.mutation(
        description="Active members take a like back; unliking what they do not like is no error."
    )
    async def unlike(self, info: Info, id: LikedId) -> LikePayload:
        return await _like_payload(info, id, False)
