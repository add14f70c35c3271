"""Comments (评论) and replies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

import models
from mallforum.ids import encode_id
from resolvers import comments as comment_resolvers
from schema.bindings import Info, context
from schema.members import Member
from schema.payloads import ERRORS, DeletePayload, UserError, payload
from schema.relay import After, Connection, First, Node, connection
from schema.topics import ContentStatus, Topic


@strawberry.type(description="A comment on a topic, or a reply in a comment's thread.")
class Comment(Node):
    status: ContentStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether the comment is published, held for review or removed."
    )
    like_count: int = strawberry.field(description="How many members like this comment.")
    created_at: datetime = strawberry.field(description="When it was written.")
    model: strawberry.Private[models.Comment]

    @classmethod
    def of(cls, comment: models.Comment) -> Comment:
        return cls(
            id=strawberry.ID(encode_id("Comment", comment.pk)),
            status=comment.status,
            like_count=comment.like_count,
            created_at=comment.created_at,
            model=comment,
        )

    @strawberry.field(description="Markdown source; empty when the comment was removed.")
    def body(self, info: Info) -> str:
        return self.model.body if comment_resolvers.shows_body(context(info), self.model) else ""

    @strawberry.field(description="Rendered, sanitized HTML; empty when the comment was removed.")
    def body_html(self, info: Info) -> str:
        shown = comment_resolvers.shows_body(context(info), self.model)
        return self.model.body_html if shown else ""

    @strawberry.field(description="Who wrote the comment.")
    async def author(self, info: Info) -> Member:
        member = await context(info).loaders.member_by_id.load(self.model.author_id)
        assert member is not None
        return Member.of(member)

    @strawberry.field(description="The topic the comment is on.")
    async def topic(self, info: Info) -> Topic:
        topic = await context(info).loaders.topic_by_id.load(self.model.topic_id)
        assert topic is not None
        return Topic.of(topic)

    @strawberry.field(
        description="The comment this one replies to; null for a comment on the topic itself."
    )
    async def parent(self, info: Info) -> Comment | None:
        parent = await comment_resolvers.replied_comment(context(info), self.model)
        return Comment.of(parent) if parent else None

    @strawberry.field(description="Replies in this comment's thread, oldest first.")
    async def replies(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Comment]:
        root_id = self.model.root_id or self.model.pk
        page = await comment_resolvers.comment_replies(context(info), root_id, first, after)
        return connection(page, Comment.of)

    @strawberry.field(description="Whether the viewer likes this comment.")
    async def viewer_has_liked(self, info: Info) -> bool:
        key = (models.LikeSubject.COMMENT, self.model.pk)
        return await context(info).loaders.liked_by_viewer.load(key)

    @strawberry.field(description="Whether the question's author accepted this as the answer.")
    async def is_accepted_answer(self, info: Info) -> bool:
        topic = await context(info).loaders.topic_by_id.load(self.model.topic_id)
        return topic is not None and topic.accepted_answer_id == self.model.pk


async def load_comment(info: Info, comment_id: int) -> Comment | None:
    comment = await comment_resolvers.visible_comment(context(info), comment_id)
    return Comment.of(comment) if comment else None


@strawberry.input(description="A new comment, or a reply to one.")
class CreateCommentInput:
    topic_id: strawberry.ID = strawberry.field(
        description="The published topic to comment on; for a reply, the topic of its parent."
    )
    body: str = strawberry.field(description="Markdown, 1 to 5,000 characters.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Reply to this comment instead of the topic."
    )


@strawberry.type(description="What createComment answers: the comment, or why not.")
class CommentPayload:
    comment: Comment | None = strawberry.field(
        default=None, description="The new comment; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class CommentMutations:
    @strawberry.mutation(
        description="Active members comment on a topic, or reply to a comment; "
        "on a locked topic only moderators may."
    )
    async def create_comment(
        self,
        info: Info,
        input: Annotated[
            CreateCommentInput, strawberry.argument(description="The comment or reply to post.")
        ],
    ) -> CommentPayload:
        work = comment_resolvers.create_comment(
            context(info), input.topic_id, input.body, input.parent_id
        )
        return await payload(CommentPayload, work, Comment.of, "comment")

    @strawberry.mutation(description="Its author or a moderator deletes a comment.")
    async def delete_comment(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The comment's global ID.")],
    ) -> DeletePayload:
        work = comment_resolvers.delete_comment(context(info), id)
        return await payload(DeletePayload, work, name="deleted_id")
