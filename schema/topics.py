"""Topics (帖子): posts with Markdown bodies, counters, and the feeds that list them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

import models
from mallforum.ids import encode_id, parse_id
from models.topics import sku_facet
from resolvers import boards as board_resolvers
from resolvers import feeds
from resolvers import polls as poll_resolvers
from resolvers import topics as topic_resolvers
from resolvers.comments import topic_comments
from resolvers.pagination import MAX_PAGE_SIZE
from resolvers.topics import TopicInput
from schema.bindings import Info, context, described_enum
from schema.boards import Board, TopicSort
from schema.members import Member
from schema.payloads import ERRORS, DeletePayload, UserError, payload
from schema.polls import CreatePollInput, Poll
from schema.relay import After, Connection, First, Node, connection

if TYPE_CHECKING:
    from schema.comments import Comment

CommentRef = Annotated["Comment", strawberry.lazy("schema.comments")]

PRODUCT_FEED_PAGE_SIZE = 10

TopicKind = described_enum(
    models.TopicKind,
    "What kind of post a topic is.",
    {
        "DISCUSSION": "An ordinary post.",
        "QUESTION": "A question; acceptedAnswer names the comment that answered it.",
        "POLL": "A post with a poll: createTopic makes one when given input.poll.",
        "CONTEST_ENTRY": "An entry to a contest; createTopic does not make these.",
        "ANNOUNCEMENT": "News from the staff; only moderators post these.",
    },
)
ContentStatus = described_enum(
    models.ContentStatus,
    "Whether a topic or comment is published, held for review or removed.",
    {
        "PUBLISHED": "Seen by all who may see its board.",
        "PENDING_REVIEW": "Held by moderation: seen only by its author and moderators.",
        "HIDDEN": "Hidden by a moderator: seen only by moderators.",
        "DELETED": "Deleted by its author or a moderator: seen only by moderators.",
    },
)


async def _view_count(root: Any, info: Info) -> int:
    """The row's count and the views counted since the last flush (mirrors.views)."""
    return await topic_resolvers.view_count(context(info), root.model)


@strawberry.type(description="A topic (帖子) in a board.")
class Topic(Node):
    title: str = strawberry.field(description="The headline, 1 to 120 characters.")
    body: str = strawberry.field(description="Markdown source as written.")
    body_html: str = strawberry.field(
        description="Rendered, sanitized HTML: safe to insert into a page."
    )
    kind: TopicKind = strawberry.field(  # type: ignore[valid-type]
        description="What kind of post this is."
    )
    status: ContentStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether the topic is published, held for review or removed."
    )
    tags: list[str] = strawberry.field(
        description="Up to 10 lowercase tags; Board.topics(tag:) lists the topics of a tag."
    )
    product_skus: list[str] = strawberry.field(
        description="Up to 20 SKUs of the mall's products it is about; productFeed lists them."
    )
    image_urls: list[str] = strawberry.field(description="Up to 9 image URLs, in order.")
    is_pinned: bool = strawberry.field(description="Whether a moderator pinned the topic.")
    is_featured: bool = strawberry.field(description="Whether a moderator featured the topic.")
    is_locked: bool = strawberry.field(description="Locked topics take no new comments.")
    like_count: int = strawberry.field(description="How many members like this topic.")
    comment_count: int = strawberry.field(description="Published comments and replies.")
    view_count: int = strawberry.field(
        resolver=_view_count, description="Readers, once per reader per day."
    )
    created_at: datetime = strawberry.field(description="When it was posted.")
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
            created_at=topic.created_at,
            last_activity_at=topic.last_activity_at,
            model=topic,
        )

    @strawberry.field(description="Who posted the topic.")
    async def author(self, info: Info) -> Member:
        member = await context(info).loaders.member_by_id.load(self.model.author_id)
        assert member is not None
        return Member.of(member)

    @strawberry.field(description="The board the topic is posted in.")
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
        return await topic_resolvers.author_is_verified_buyer(context(info), self.model)

    @strawberry.field(description="Top-level comments, oldest first; replies are under each.")
    async def comments(
        self, info: Info, first: First = None, after: After = None
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

    @strawberry.field(description="The topic's poll; null unless the topic is of kind POLL.")
    async def poll(self, info: Info) -> Poll | None:
        if self.model.kind != models.TopicKind.POLL:
            return None
        poll = await context(info).loaders.poll_by_topic_id.load(self.model.pk)
        return Poll.of(poll) if poll else None


async def load_topic(info: Info, topic_id: int) -> Topic | None:
    topic = await topic_resolvers.visible_topic(context(info), topic_id)
    return Topic.of(topic) if topic else None


@strawberry.input(description="A new topic.")
class CreateTopicInput:
    board_id: strawberry.ID = strawberry.field(
        description="The board to post in; the member's level must reach its minLevelToPost."
    )
    title: str = strawberry.field(description="1 to 120 characters.")
    body: str = strawberry.field(description="Markdown, 1 to 20,000 characters.")
    kind: TopicKind | None = strawberry.field(  # type: ignore[valid-type]
        default=models.TopicKind.DISCUSSION,
        description="ANNOUNCEMENT is for moderators; POLL needs a poll; CONTEST_ENTRY is "
        "refused here.",
    )
    tags: list[str] | None = strawberry.field(
        default=None,
        description="At most 10, up to 24 characters each; stored lowercase, without '#'.",
    )
    product_skus: list[str] | None = strawberry.field(
        default=None, description="At most 20: letters, digits, '.', '_' or '-', up to 64 each."
    )
    image_urls: list[str] | None = strawberry.field(
        default=None, description="At most 9, http or https."
    )
    poll: CreatePollInput | None = strawberry.field(
        default=None,
        description="A poll to attach: the topic becomes of kind POLL; needs CREATE_POLL.",
    )


@strawberry.input(description="Changes to a topic; fields left out stay as they are.")
class UpdateTopicInput:
    id: strawberry.ID = strawberry.field(description="The global ID of the topic to change.")
    title: str | None = strawberry.field(
        default=None, description="A new title, 1 to 120 characters."
    )
    body: str | None = strawberry.field(
        default=None, description="A new Markdown body, 1 to 20,000 characters."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Tags to replace the old ones, at most 10."
    )
    product_skus: list[str] | None = strawberry.field(
        default=None, description="Product SKUs to replace the old ones, at most 20."
    )
    image_urls: list[str] | None = strawberry.field(
        default=None, description="Image URLs to replace the old ones, at most 9, http or https."
    )


@strawberry.type(description="What a topic mutation answers: the topic, or why not.")
class TopicPayload:
    topic: Topic | None = strawberry.field(
        default=None, description="The topic as it is now; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


TopicId = Annotated[strawberry.ID, strawberry.argument(description="The topic's global ID.")]
TagArgument = Annotated[
    str, strawberry.argument(description="The tag, as topics carry it; a leading # is ignored.")
]


@strawberry.type(description="What following or unfollowing a tag answers.")
class TagFollowPayload:
    followed_tags: list[str] | None = strawberry.field(
        default=None,
        description="Every tag the viewer now follows; null when errors is not empty.",
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class TopicQueries:
    @strawberry.field(description="A topic by global ID; reading it counts a view.")
    async def topic(self, info: Info, id: TopicId) -> Topic | None:
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
        sku: Annotated[
            str, strawberry.argument(description="The product SKU, as the mall names it.")
        ],
        first: Annotated[
            int | None,
            strawberry.argument(
                description=f"How many topics, at most {MAX_PAGE_SIZE} "
                f"(default {PRODUCT_FEED_PAGE_SIZE})."
            ),
        ] = PRODUCT_FEED_PAGE_SIZE,
        after: After = None,
        sort: Annotated[  # type: ignore[valid-type]
            TopicSort | None,
            strawberry.argument(description="The order of the topics (default HOT)."),
        ] = TopicSort.HOT,
    ) -> Connection[Topic]:
        page = await feeds.topic_page(
            context(info),
            [sku_facet(sku)],
            sort or feeds.TopicSort.HOT,
            first,
            after,
            default_size=PRODUCT_FEED_PAGE_SIZE,
        )
        return connection(page, Topic.of)

    @strawberry.field(
        description="Topics from the boards and tags the viewer follows, newest first."
    )
    async def home_feed(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Topic]:
        page = await board_resolvers.home_feed(context(info), first, after)
        return connection(page, Topic.of)

    @strawberry.field(
        description=f"The tags the viewer follows (at most {topic_resolvers.TAG_FOLLOWS_MAX}); "
        "empty when anonymous."
    )
    async def followed_tags(self, info: Info) -> list[str]:
        return await topic_resolvers.followed_tags(context(info))


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
    @strawberry.mutation(
        description="Active members post a topic in a board whose minLevelToPost they reach."
    )
    async def create_topic(
        self,
        info: Info,
        input: Annotated[CreateTopicInput, strawberry.argument(description="The new topic.")],
    ) -> TopicPayload:
        kind = input.kind or models.TopicKind.DISCUSSION
        if input.poll is None:
            work = topic_resolvers.create_topic(
                context(info), input.board_id, kind, _topic_input(input)
            )
        else:
            work = poll_resolvers.create_poll_topic(
                context(info), input.board_id, kind, _topic_input(input), input.poll.to_input()
            )
        return await payload(TopicPayload, work, Topic.of, "topic")

    @strawberry.mutation(
        description="Its author or a moderator changes a topic; a locked one only a moderator."
    )
    async def update_topic(
        self,
        info: Info,
        input: Annotated[
            UpdateTopicInput, strawberry.argument(description="The topic and what to change.")
        ],
    ) -> TopicPayload:
        work = topic_resolvers.update_topic(context(info), input.id, _topic_input(input))
        return await payload(TopicPayload, work, Topic.of, "topic")

    @strawberry.mutation(description="Its author or a moderator deletes a topic.")
    async def delete_topic(self, info: Info, id: TopicId) -> DeletePayload:
        work = topic_resolvers.delete_topic(context(info), id)
        return await payload(DeletePayload, work, name="deleted_id")

    @strawberry.mutation(
        description="Signed-in members: follow a tag, so topics with it, in any board, reach "
        f"their homeFeed; at most {topic_resolvers.TAG_FOLLOWS_MAX} tags."
    )
    async def follow_tag(self, info: Info, tag: TagArgument) -> TagFollowPayload:
        work = topic_resolvers.set_tag_follow(context(info), tag, True)
        return await payload(TagFollowPayload, work, name="followed_tags")

    @strawberry.mutation(description="Signed-in members: stop following a tag.")
    async def unfollow_tag(self, info: Info, tag: TagArgument) -> TagFollowPayload:
        work = topic_resolvers.set_tag_follow(context(info), tag, False)
        return await payload(TagFollowPayload, work, name="followed_tags")
