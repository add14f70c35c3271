"""Topics (帖子): posts with Markdown bodies, counters, and the feeds that list them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import models
from mallforum.ids import encode_id, parse_id
from resolvers import boards as board_resolvers
from resolvers import topics as topic_resolvers
from resolvers.comments import topic_comments
from resolvers.topics import TopicInput
from schema.boards import Board, TopicSort
from schema.common import (
    Connection,
    DeletePayload,
    Info,
    Node,
    UserError,
    connection,
    context,
    payload,
)
from schema.members import Member

if TYPE_CHECKING:
    from schema.comments import Comment

CommentRef = Annotated["Comment", strawberry.lazy("schema.comments")]

PRODUCT_FEED_PAGE_SIZE = 10

TopicKind = strawberry.enum(models.TopicKind, description="What kind of post a topic is.")
ContentStatus = strawberry.enum(
    models.ContentStatus,
    description="PUBLISHED is seen by all; PENDING_REVIEW only by its author and moderators.",
)


@strawberry.type(description="A topic (帖子) in a board.")
class Topic(Node):
    title: str
    body: str = strawberry.field(description="Markdown source as written.")
    body_html: str = strawberry.field(
        description="Rendered, sanitized HTML: safe to insert into a page."
    )
    kind: TopicKind  # type: ignore[valid-type]
    status: ContentStatus  # type: ignore[valid-type]
    tags: list[str]
    product_skus: list[str]
    image_urls: list[str]
    is_pinned: bool
    is_featured: bool
    is_locked: bool = strawberry.field(description="Locked topics take no new comments.")
    like_count: int
    comment_count: int = strawberry.field(description="Published comments and replies.")
    view_count: int = strawberry.field(description="Readers, once per reader per day.")
    created_at: datetime
    last_activity_at: datetime = strawberry.field(description="When it was last commented.")
    model: strawberry.Private[models.Topic]

    @classmethod
    def of(cls, topic: models.Topic) -> Topic:
        return cls(
            id=strawberry.ID(encode_id("Topic", topic.pk)),
            title=topic.title,
            body=topic.body,
            body_html=topic.body_html,
            kind=topic.kind,
            status=topic.status,
            tags=topic.tags,
            product_skus=topic.product_skus,
            image_urls=topic.image_urls,
            is_pinned=topic.is_pinned,
            is_featured=topic.is_featured,
            is_locked=topic.is_locked,
            like_count=topic.like_count,
            comment_count=topic.comment_count,
            view_count=topic.view_count,
            created_at=topic.created_at,
            last_activity_at=topic.last_activity_at,
            model=topic,
        )

    @strawberry.field
    async def author(self, info: Info) -> Member:
        member = await context(info).loaders.member_by_id.load(self.model.author_id)
        assert member is not None
        return Member.of(member)

    @strawberry.field
    async def board(self, info: Info) -> Board:
        board = await context(info).loaders.board_by_id.load(self.model.board_id)
        assert board is not None
        return Board.of(board)

    @strawberry.field(description="Whether the viewer likes this topic.")
    async def viewer_has_liked(self, info: Info) -> bool:
        key = (models.LikeSubject.TOPIC, self.model.pk)
        return await context(info).loaders.liked_by_viewer.load(key)

    @strawberry.field(
        description="The author bought one of productSkus (known from the mall's purchase records)."
    )
    async def author_is_verified_buyer(self, info: Info) -> bool:
        if not self.model.product_skus:
            return False
        loaders = context(info).loaders
        author = await loaders.member_by_id.load(self.model.author_id)
        assert author is not None
        bought = await loaders.verified_buyer.load_many(
            [(author.mall_user_id, sku) for sku in self.model.product_skus]
        )
        return any(bought)

    @strawberry.field(description="Top-level comments, oldest first; replies are under each.")
    async def comments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CommentRef]:
        from schema.comments import Comment  # import here: schema.comments imports this module

        page = await topic_comments(context(info), self.model.pk, first, after)
        return connection(page, Comment.of)

    @strawberry.field(description="The comment the question's author accepted as the answer.")
    async def accepted_answer(self, info: Info) -> CommentRef | None:
        from schema.comments import load_comment

        if self.model.accepted_answer_id is None:
            return None
        comment: Comment | None = await load_comment(info, self.model.accepted_answer_id)
        return comment


async def load_topic(info: Info, topic_id: int) -> Topic | None:
    topic = await topic_resolvers.visible_topic(context(info), topic_id)
    return Topic.of(topic) if topic else None


@strawberry.input(description="A new topic.")
class CreateTopicInput:
    board_id: strawberry.ID
    title: str = strawberry.field(description="1 to 120 characters.")
    body: str = strawberry.field(description="Markdown, 1 to 20,000 characters.")
    kind: TopicKind | None = models.TopicKind.DISCUSSION  # type: ignore[valid-type]
    tags: list[str] | None = strawberry.field(default=None, description="At most 10.")
    product_skus: list[str] | None = strawberry.field(default=None, description="At most 20.")
    image_urls: list[str] | None = strawberry.field(
        default=None, description="At most 9, http or https."
    )


@strawberry.input(description="Changes to a topic; fields left out stay as they are.")
class UpdateTopicInput:
    id: strawberry.ID
    title: str | None = None
    body: str | None = None
    tags: list[str] | None = None
    product_skus: list[str] | None = None
    image_urls: list[str] | None = None


@strawberry.type
class TopicPayload:
    topic: Topic | None = None
    errors: list[UserError]


@strawberry.type
class TopicQueries:
    @strawberry.field(description="A topic by global ID; reading it counts a view.")
    async def topic(self, info: Info, id: strawberry.ID) -> Topic | None:
        parsed = parse_id(id)
        if parsed is None or parsed[0] != "Topic":
            return None
        topic = await topic_resolvers.view_topic(context(info), parsed[1])
        return Topic.of(topic) if topic else None

    @strawberry.field(
        description="Published topics that name this product SKU: what a product page widget "
        "shows. Readable anonymously."
    )
    async def product_feed(
        self,
        info: Info,
        sku: str,
        first: int | None = PRODUCT_FEED_PAGE_SIZE,
        after: str | None = None,
        sort: TopicSort | None = TopicSort.HOT,  # type: ignore[valid-type]
    ) -> Connection[Topic]:
        page = await topic_resolvers.topic_page(
            context(info),
            [topic_resolvers.sku_facet(sku)],
            sort or topic_resolvers.TopicSort.HOT,
            first,
            after,
            default_size=PRODUCT_FEED_PAGE_SIZE,
        )
        return connection(page, Topic.of)

    @strawberry.field(description="Topics from the boards the viewer follows, newest first.")
    async def home_feed(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Topic]:
        page = await board_resolvers.home_feed(context(info), first, after)
        return connection(page, Topic.of)


def _topic_input(data: CreateTopicInput | UpdateTopicInput) -> TopicInput:
    return TopicInput(
        title=data.title,
        body=data.body,
        tags=data.tags,
        product_skus=data.product_skus,
        image_urls=data.image_urls,
    )


@strawberry.type
class TopicMutations:
    @strawberry.mutation(description="Post a topic in a board.")
    async def create_topic(self, info: Info, input: CreateTopicInput) -> TopicPayload:
        work = topic_resolvers.create_topic(
            context(info),
            input.board_id,
            input.kind or models.TopicKind.DISCUSSION,
            _topic_input(input),
            has_poll=False,
        )
        return await payload(TopicPayload, work, Topic.of, "topic")

    @strawberry.mutation(description="Its author or a moderator changes a topic.")
    async def update_topic(self, info: Info, input: UpdateTopicInput) -> TopicPayload:
        work = topic_resolvers.update_topic(context(info), input.id, _topic_input(input))
        return await payload(TopicPayload, work, Topic.of, "topic")

    @strawberry.mutation(description="Its author or a moderator deletes a topic.")
    async def delete_topic(self, info: Info, id: strawberry.ID) -> DeletePayload:
        work = topic_resolvers.delete_topic(context(info), id)
        return await payload(DeletePayload, work, name="deleted_id")
