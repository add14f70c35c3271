import importlib

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

# CreateModel records CHECK constraints without creating them (see 0003).
CreateDeclaredCheck = importlib.import_module(
    "migrations.0003_check_constraints"
).CreateDeclaredCheck

CHECKS = [
    ("Poll", "max_choices >= 1", "poll_max_choices_positive"),
    ("Poll", "total_voters >= 0", "poll_voters_not_negative"),
    ("PollOption", "vote_count >= 0", "poll_option_votes_not_negative"),
]


class Migration(migrations.Migration):
    dependencies = [("mallforum", "0006_word_rules")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Poll",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "topic",
                    fields.ForeignKeyField(
                        "mallforum.Topic",
                        source_field="topic_id",
                        unique=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("question", fields.CharField(max_length=200)),
                ("max_choices", fields.IntField(default=1)),
                ("closes_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("total_voters", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "poll",
                "app": "mallforum",
                "constraints": [
                    CheckConstraint(check="max_choices >= 1", name="poll_max_choices_positive"),
                    CheckConstraint(check="total_voters >= 0", name="poll_voters_not_negative"),
                ],
                "pk_attr": "id",
                "table_description": "A topic's poll. `total_voters` and the options' `vote_count` change only together",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PollBallot",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "poll",
                    fields.ForeignKeyField(
                        "mallforum.Poll",
                        source_field="poll_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "member",
                    fields.ForeignKeyField(
                        "mallforum.Member",
                        source_field="member_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "option_ids",
                    fields.JSONField(
                        default=list,
                        description="The chosen PollOption ids.",
                        encoder=JSON_DUMPS,
                        decoder=loads,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "poll_ballot",
                "app": "mallforum",
                "unique_together": (("poll", "member"),),
                "pk_attr": "id",
                "table_description": "A member's choices in a poll: one ballot per member, unique in the database.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PollOption",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "poll",
                    fields.ForeignKeyField(
                        "mallforum.Poll",
                        source_field="poll_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("position", fields.IntField()),
                ("text", fields.CharField(max_length=100)),
                ("vote_count", fields.IntField(default=0)),
            ],
            options={
                "table": "poll_option",
                "app": "mallforum",
                "unique_together": (("poll", "position"),),
                "constraints": [
                    CheckConstraint(check="vote_count >= 0", name="poll_option_votes_not_negative")
                ],
                "pk_attr": "id",
                "table_description": "One answer of a poll, in the order the author wrote them.",
            },
            bases=["Model"],
        ),
    ] + [
        CreateDeclaredCheck(model_name=model, constraint=CheckConstraint(check=check, name=name))
        for model, check, name in CHECKS
    ]
