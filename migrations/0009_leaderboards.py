"""Leaderboards: the ledger notes the board of the content each row is about, and the rows
of topics, comments, likes and the ledger are indexed by time, so that one period's
leaderboard is rebuilt from that period's rows alone."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

#: Rows written before this migration get the board of the content their reference names
#: ("Topic:1", "Comment:2", "Answer:2" for an accepted answer, which is a comment).
BACKFILL_BOARDS = [
    "UPDATE point_transaction SET board_id = (SELECT t.board_id FROM topic t"
    " WHERE t.id = CAST(substr(point_transaction.reference, 7) AS BIGINT))"
    " WHERE point_transaction.reference LIKE 'Topic:%'",
    "UPDATE point_transaction SET board_id = (SELECT t.board_id FROM comment c"
    " JOIN topic t ON t.id = c.topic_id"
    " WHERE c.id = CAST(substr(point_transaction.reference, 9) AS BIGINT))"
    " WHERE point_transaction.reference LIKE 'Comment:%'",
    "UPDATE point_transaction SET board_id = (SELECT t.board_id FROM comment c"
    " JOIN topic t ON t.id = c.topic_id"
    " WHERE c.id = CAST(substr(point_transaction.reference, 8) AS BIGINT))"
    " WHERE point_transaction.reference LIKE 'Answer:%'",
]


class Migration(migrations.Migration):
    dependencies = [("mallforum", "0008_contests")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Comment",
            index=Index(fields=["created_at"], name="comment_created_idx"),
        ),
        ops.AddIndex(
            model_name="Like",
            index=Index(fields=["created_at"], name="like_created_idx"),
        ),
        ops.AddField(
            model_name="PointTransaction",
            name="board_id",
            field=fields.BigIntField(
                null=True,
                description="The board of the content `reference` names (a topic, a comment,"
                " an accepted answer),",
            ),
        ),
        ops.RunSQL(BACKFILL_BOARDS, reverse_sql=[]),
        ops.AddIndex(
            model_name="PointTransaction",
            index=Index(fields=["created_at"], name="point_tx_created_idx"),
        ),
        ops.AddIndex(
            model_name="PointTransaction",
            index=Index(fields=["board_id", "created_at"], name="point_tx_board_created_idx"),
        ),
        ops.AddIndex(
            model_name="Topic",
            index=Index(fields=["created_at"], name="topic_created_idx"),
        ),
    ]
