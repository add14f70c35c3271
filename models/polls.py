"""Polls (投票) on topics: options, and one ballot per member counted under the poll's lock."""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class Poll(Model):
    """A topic's poll. `total_voters` and the options' `vote_count` change only together
    with a ballot, under this row's lock, so they are exact."""

    id = fields.BigIntField(primary_key=True)
    topic = fields.ForeignKeyField(
        "mallforum.Topic", related_name=False, unique=True, on_delete=fields.RESTRICT
    )
    topic_id: int
    question = fields.CharField(max_length=200)
    max_choices = fields.IntField(default=1)
    closes_at = fields.DatetimeField(null=True)
    total_voters = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "poll"
        constraints = [
            CheckConstraint(check="max_choices >= 1", name="poll_max_choices_positive"),
            CheckConstraint(check="total_voters >= 0", name="poll_voters_not_negative"),
        ]


class PollOption(Model):
    """One answer of a poll, in the order the author wrote them."""

    id = fields.BigIntField(primary_key=True)
    poll = fields.ForeignKeyField("mallforum.Poll", related_name=False, on_delete=fields.CASCADE)
    poll_id: int
    position = fields.IntField()
    text = fields.CharField(max_length=100)
    vote_count = fields.IntField(default=0)

    class Meta:
        table = "poll_option"
        unique_together = (("poll", "position"),)
        constraints = [
            CheckConstraint(check="vote_count >= 0", name="poll_option_votes_not_negative"),
        ]


class PollBallot(Model):
    """A member's choices in a poll: one ballot per member, unique in the database."""

    id = fields.BigIntField(primary_key=True)
    poll = fields.ForeignKeyField("mallforum.Poll", related_name=False, on_delete=fields.CASCADE)
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    poll_id: int
    member_id: int
    #: The chosen PollOption ids.
    option_ids = fields.JSONField(default=list)
    created_at = fields.DatetimeField()

    class Meta:
        table = "poll_ballot"
        unique_together = (("poll", "member"),)
