"""Topics (帖子) and the listing rows every topic feed is paged from."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class TopicKind(StrEnum):
    DISCUSSION = "DISCUSSION"
    QUESTION = "QUESTION"
    POLL = "POLL"
    CONTEST_ENTRY = "CONTEST_ENTRY"
    ANNOUNCEMENT = "ANNOUNCEMENT"


class ContentStatus(StrEnum):
    PUBLISHED = "PUBLISHED"
    PENDING_REVIEW = "PENDING_REVIEW"
    HIDDEN = "HIDDEN"
    DELETED = "DELETED"


class Topic(Model):
    """A post in a board. Counters are kept exact on write, under the row's lock."""

    id = fields.BigIntField(primary_key=True)
    board = fields.ForeignKeyField("mallforum.Board", related_name=False, on_delete=fields.RESTRICT)
    author = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    board_id: int
    author_id: int
    kind = fields.CharEnumField(TopicKind, max_length=16, default=TopicKind.DISCUSSION)
    status = fields.CharEnumField(ContentStatus, max_length=16, default=ContentStatus.PUBLISHED)
    title = fields.CharField(max_length=120)
    body = fields.TextField()
    body_html = fields.TextField()
    tags = fields.JSONField(default=list)
    product_skus = fields.JSONField(default=list)
    image_urls = fields.JSONField(default=list)
    is_pinned = fields.BooleanField(default=False)
    is_featured = fields.BooleanField(default=False)
    is_locked = fields.BooleanField(default=False)
    like_count = fields.IntField(default=0)
    comment_count = fields.IntField(default=0)
    view_count = fields.BigIntField(default=0)
    hot_score = fields.FloatField(default=0)
    accepted_answer_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_activity_at = fields.DatetimeField()

    class Meta:
        table = "topic"
        indexes = [
            Index(fields=("author_id", "id"), name="topic_author_idx"),
            # A period's POSTS leaderboards are rebuilt from the topics of that period.
            Index(fields=("created_at",), name="topic_created_idx"),
        ]
        constraints = [
            CheckConstraint(check="like_count >= 0", name="topic_like_count_not_negative"),
            CheckConstraint(check="comment_count >= 0", name="topic_comment_count_not_negative"),
            CheckConstraint(check="view_count >= 0", name="topic_view_count_not_negative"),
        ]


class TopicListing(Model):
    """One row per (feed, published topic): the indexed copy of the sort keys a feed pages by.

    A feed is named by its `facet`: `board:<id>`, `board:<id>:tag:<tag>`, `sku:<sku>` or
    `member:<id>`. Rows exist only while the topic is published, so every feed is one
    index range scan whatever its depth (keyset pagination), and a counter change is one
    UPDATE of the topic's rows.
    """

    id = fields.BigIntField(primary_key=True)
    topic = fields.ForeignKeyField("mallforum.Topic", related_name=False, on_delete=fields.CASCADE)
    topic_id: int
    facet = fields.CharField(max_length=200)
    min_level = fields.IntField(default=0)
    hot_score = fields.FloatField()
    top_key = fields.BigIntField()
    last_activity_at = fields.DatetimeField()

    class Meta:
        table = "topic_listing"
        unique_together = (("facet", "topic_id"),)
        indexes = [
            Index(fields=("facet", "hot_score", "topic_id"), name="listing_hot_idx"),
            Index(fields=("facet", "top_key"), name="listing_top_idx"),
            Index(fields=("facet", "last_activity_at", "topic_id"), name="listing_active_idx"),
        ]


class TagFollow(Model):
    """A member follows a tag: topics with it, in any board, reach their home feed."""

    id = fields.BigIntField(primary_key=True)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    tag = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tag_follow"
        unique_together = (("member", "tag"),)


# ---------------------------------------------------------------- the feeds listing rows name


def normalize_tag(tag: str) -> str:
    """A tag as topics store it and feeds name it: trimmed, without '#', case-folded."""
    return tag.strip().lstrip("#＃").strip().casefold()


def board_facet(board_id: int, tag: str | None = None) -> str:
    return f"board:{board_id}" if tag is None else f"board:{board_id}:tag:{normalize_tag(tag)}"


def tag_facet(tag: str) -> str:
    return f"tag:{normalize_tag(tag)}"


def sku_facet(sku: str) -> str:
    return f"sku:{sku.strip()}"


def member_facet(member_id: int) -> str:
    return f"member:{member_id}"


def facets_of(topic: Topic) -> list[str]:
    """Every feed a published topic appears in (the `facet` of its listing rows)."""
    return [
        board_facet(topic.board_id),
        member_facet(topic.author_id),
        *(board_facet(topic.board_id, tag) for tag in topic.tags),
        *(tag_facet(tag) for tag in topic.tags),
        *(sku_facet(sku) for sku in topic.product_skus),
    ]
