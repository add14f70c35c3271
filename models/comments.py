"""Comments (评论): a topic's comments, each with its thread of replies."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from models.topics import ContentStatus


class Comment(Model):
    """A comment on a topic (root is null) or a reply inside a root comment's thread.

    Replies are kept flat under their root comment, as shopping apps show them; `parent`
    names the comment a reply answers.
    """

    id = fields.BigIntField(primary_key=True)
    topic = fields.ForeignKeyField("mallforum.Topic", related_name=False, on_delete=fields.CASCADE)
    author = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    topic_id: int
    author_id: int
    parent_id = fields.BigIntField(null=True)
    root_id = fields.BigIntField(null=True)
    status = fields.CharEnumField(ContentStatus, max_length=16, default=ContentStatus.PUBLISHED)
    body = fields.TextField()
    body_html = fields.TextField()
    like_count = fields.IntField(default=0)
    reply_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "comment"
        indexes = [
            Index(fields=("topic_id", "root_id", "id"), name="comment_thread_idx"),
            Index(fields=("root_id", "id"), name="comment_replies_idx"),
            Index(fields=("author_id", "id"), name="comment_author_idx"),
            # A period's POSTS leaderboards are rebuilt from the comments of that period.
            Index(fields=("created_at",), name="comment_created_idx"),
        ]
        constraints = [
            CheckConstraint(check="like_count >= 0", name="comment_like_count_not_negative"),
            CheckConstraint(check="reply_count >= 0", name="comment_reply_count_not_negative"),
        ]
