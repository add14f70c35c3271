"""Create the CHECK constraints that CreateModel declared but did not create.

Tortoise's CreateModel records a model's CHECK constraints in the migration state without
creating them in the database, so the counters, balances and stock of 0001 and 0002 were
unguarded. This creates each of them, leaving the state (which has them already) as it is.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint


class CreateDeclaredCheck(ops.AddConstraint):
    """AddConstraint for a constraint the state already holds: the database part only."""

    def state_forward(self, app_label, state) -> None:
        return None


CHECKS = [
    ("Board", "topic_count >= 0", "board_topic_count_not_negative"),
    ("Comment", "like_count >= 0", "comment_like_count_not_negative"),
    ("Comment", "reply_count >= 0", "comment_reply_count_not_negative"),
    ("Member", "experience >= 0", "member_experience_not_negative"),
    ("Member", "level >= 0", "member_level_not_negative"),
    ("Topic", "like_count >= 0", "topic_like_count_not_negative"),
    ("Topic", "comment_count >= 0", "topic_comment_count_not_negative"),
    ("Topic", "view_count >= 0", "topic_view_count_not_negative"),
    ("PointTransaction", "balance_after >= 0", "point_tx_balance_not_negative"),
    ("Badge", "holder_count >= 0", "badge_holder_count_not_negative"),
    ("RewardItem", "cost_points >= 0", "reward_item_cost_not_negative"),
    ("RewardItem", "stock >= 0", "reward_item_stock_not_negative"),
]


class Migration(migrations.Migration):
    dependencies = [("mallforum", "0002_growth")]

    initial = False

    operations = [
        CreateDeclaredCheck(model_name=model, constraint=CheckConstraint(check=check, name=name))
        for model, check, name in CHECKS
    ]
