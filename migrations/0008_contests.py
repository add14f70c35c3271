import importlib

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from models.contests import ContestKind

# CreateModel records CHECK constraints without creating them (see 0003).
CreateDeclaredCheck = importlib.import_module(
    "migrations.0003_check_constraints"
).CreateDeclaredCheck

CHECKS = [
    ("Contest", "submission_ends_at > starts_at", "contest_windows_ordered"),
    (
        "Contest",
        "voting_ends_at IS NULL OR voting_ends_at >= submission_ends_at",
        "contest_voting_after_submission",
    ),
    ("Contest", "votes_per_member >= 1", "contest_votes_positive"),
    ("Contest", "judge_weight >= 0 AND judge_weight <= 1", "contest_judge_weight_range"),
    ("Contest", "entry_count >= 0", "contest_entries_not_negative"),
    ("ContestPrize", "rank_from >= 1 AND rank_to >= rank_from", "contest_prize_ranks"),
    ("ContestPrize", "points >= 0", "contest_prize_points_not_negative"),
    ("ContestEntry", "vote_count >= 0", "contest_entry_votes_not_negative"),
]


class Migration(migrations.Migration):
    dependencies = [("mallforum", "0007_polls")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Contest",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "board",
                    fields.ForeignKeyField(
                        "mallforum.Board",
                        source_field="board_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("title", fields.CharField(max_length=120)),
                ("description", fields.TextField(unique=False)),
                ("rules", fields.TextField(null=True, unique=False)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="SUBMISSION: SUBMISSION\nCHALLENGE: CHALLENGE",
                        enum_type=ContestKind,
                        max_length=16,
                    ),
                ),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("submission_ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "voting_ends_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("votes_per_member", fields.IntField(default=1)),
                ("required_check_ins", fields.IntField(null=True)),
                (
                    "consecutive_check_ins",
                    fields.BooleanField(
                        default=False,
                        description="CHALLENGE: whether the check-ins must fall on consecutive days.",
                    ),
                ),
                ("judge_weight", fields.FloatField(default=0)),
                ("entry_count", fields.IntField(default=0)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "mallforum.Member",
                        source_field="created_by_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "finalized_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "cancelled_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "contest",
                "app": "mallforum",
                "constraints": [
                    CheckConstraint(
                        check="submission_ends_at > starts_at", name="contest_windows_ordered"
                    ),
                    CheckConstraint(
                        check="voting_ends_at IS NULL OR voting_ends_at >= submission_ends_at",
                        name="contest_voting_after_submission",
                    ),
                    CheckConstraint(check="votes_per_member >= 1", name="contest_votes_positive"),
                    CheckConstraint(
                        check="judge_weight >= 0 AND judge_weight <= 1",
                        name="contest_judge_weight_range",
                    ),
                    CheckConstraint(check="entry_count >= 0", name="contest_entries_not_negative"),
                ],
                "indexes": [Index(fields=["board_id", "id"], name="contest_board_idx")],
                "pk_attr": "id",
                "table_description": "A campaign in one board: its windows, voting rules and prizes.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ChallengeCheckIn",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "contest",
                    fields.ForeignKeyField(
                        "mallforum.Contest",
                        source_field="contest_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
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
                ("day", fields.DateField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "challenge_check_in",
                "app": "mallforum",
                "unique_together": (("contest", "member", "day"),),
                "pk_attr": "id",
                "table_description": "One day's check-in post in a challenge: once per member per calendar day.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ContestPrize",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "contest",
                    fields.ForeignKeyField(
                        "mallforum.Contest",
                        source_field="contest_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("rank_from", fields.IntField()),
                ("rank_to", fields.IntField()),
                ("title", fields.CharField(max_length=64)),
                ("points", fields.IntField(default=0)),
                (
                    "badge",
                    fields.ForeignKeyField(
                        "mallforum.Badge",
                        source_field="badge_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("mall_reward_code", fields.CharField(null=True, max_length=64)),
            ],
            options={
                "table": "contest_prize",
                "app": "mallforum",
                "constraints": [
                    CheckConstraint(
                        check="rank_from >= 1 AND rank_to >= rank_from", name="contest_prize_ranks"
                    ),
                    CheckConstraint(check="points >= 0", name="contest_prize_points_not_negative"),
                ],
                "pk_attr": "id",
                "table_description": "A prize band: ranks `rank_from`..`rank_to` win points, a badge and a mall reward.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ContestEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "contest",
                    fields.ForeignKeyField(
                        "mallforum.Contest",
                        source_field="contest_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
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
                (
                    "author",
                    fields.ForeignKeyField(
                        "mallforum.Member",
                        source_field="author_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("vote_count", fields.IntField(default=0)),
                (
                    "judge_score",
                    fields.FloatField(
                        null=True, description="The judges' mean score, kept with their scores."
                    ),
                ),
                (
                    "final_score",
                    fields.FloatField(null=True, description="Fixed by finalizeContest."),
                ),
                ("final_rank", fields.IntField(null=True)),
                (
                    "prize",
                    fields.ForeignKeyField(
                        "mallforum.ContestPrize",
                        source_field="prize_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "check_in_count",
                    fields.IntField(
                        default=0,
                        description="CHALLENGE: check-ins so far, and when the required ones were reached.",
                    ),
                ),
                (
                    "completed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "contest_entry",
                "app": "mallforum",
                "unique_together": (("contest", "author"),),
                "constraints": [
                    CheckConstraint(
                        check="vote_count >= 0", name="contest_entry_votes_not_negative"
                    )
                ],
                "indexes": [Index(fields=["contest_id", "id"], name="contest_entry_contest_idx")],
                "pk_attr": "id",
                "table_description": "A member's entry (a topic of kind CONTEST_ENTRY), or their part in a challenge (its",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ContestScore",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "entry",
                    fields.ForeignKeyField(
                        "mallforum.ContestEntry",
                        source_field="entry_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "judge",
                    fields.ForeignKeyField(
                        "mallforum.Member",
                        source_field="judge_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("score", fields.FloatField()),
                ("scored_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "contest_score",
                "app": "mallforum",
                "unique_together": (("entry", "judge"),),
                "pk_attr": "id",
                "table_description": "A judge's (moderator's) score of an entry: scoring again replaces it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ContestVote",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "contest",
                    fields.ForeignKeyField(
                        "mallforum.Contest",
                        source_field="contest_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "entry",
                    fields.ForeignKeyField(
                        "mallforum.ContestEntry",
                        source_field="entry_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
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
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "contest_vote",
                "app": "mallforum",
                "unique_together": (("entry", "member"),),
                "indexes": [
                    Index(fields=["contest_id", "member_id"], name="contest_vote_member_idx")
                ],
                "pk_attr": "id",
                "table_description": "A member's vote for an entry: at most one per entry, unique in the database.",
            },
            bases=["Model"],
        ),
    ] + [
        CreateDeclaredCheck(model_name=model, constraint=CheckConstraint(check=check, name=name))
        for model, check, name in CHECKS
    ]
