from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.moderation import WordListAction


class Migration(migrations.Migration):
    dependencies = [("mallforum", "0005_member_mall_nickname")]

    initial = False

    operations = [
        ops.CreateModel(
            name="WordRule",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("pattern", fields.CharField(max_length=100)),
                ("folded", fields.CharField(unique=True, max_length=400)),
                (
                    "action",
                    fields.CharEnumField(
                        description="BLOCK: BLOCK\nMASK: MASK\nREVIEW: REVIEW",
                        enum_type=WordListAction,
                        max_length=16,
                    ),
                ),
                ("category", fields.CharField(max_length=32)),
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
                    "updated_by",
                    fields.ForeignKeyField(
                        "mallforum.Member",
                        source_field="updated_by_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "word_rule",
                "app": "mallforum",
                "pk_attr": "id",
                "table_description": "A word rule an admin added, or wrote over a shipped one with the same folded pattern.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="WordRuleRevision",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("revision", fields.BigIntField(default=0)),
            ],
            options={
                "table": "word_rule_revision",
                "app": "mallforum",
                "pk_attr": "id",
                "table_description": "How many times the word rules changed: one row, bumped in each change's transaction.",
            },
            bases=["Model"],
        ),
    ]
