from tortoise import migrations
from tortoise.migrations import operations as ops
from models.growth import BadgeKind, PointReason
from models.rewards import RedemptionStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('mallforum', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActivityDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('mallforum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
            ],
            options={'table': 'activity_day', 'app': 'mallforum', 'unique_together': (('member', 'day'),), 'pk_attr': 'id', 'table_description': 'A member wrote something (a topic, a comment, a like, a check-in) on a calendar day.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Badge',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=32)),
                ('description', fields.TextField(unique=False)),
                ('icon_url', fields.CharField(null=True, max_length=1024)),
                ('kind', fields.CharEnumField(description='AUTOMATIC: AUTOMATIC\nMANUAL: MANUAL', enum_type=BadgeKind, max_length=16)),
                ('rule', fields.CharField(null=True, max_length=32)),
                ('threshold', fields.IntField(null=True)),
                ('holder_count', fields.IntField(default=0)),
            ],
            options={'table': 'badge', 'app': 'mallforum', 'constraints': [CheckConstraint(check='holder_count >= 0', name='badge_holder_count_not_negative')], 'pk_attr': 'id', 'table_description': 'A badge of the catalogue (kept in step with the catalogue file at start-up).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BadgeAward',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('mallforum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('badge', fields.ForeignKeyField('mallforum.Badge', source_field='badge_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharField(null=True, max_length=200)),
                ('awarded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'badge_award', 'app': 'mallforum', 'unique_together': (('member', 'badge'),), 'indexes': [Index(fields=['member_id', 'id'], name='badge_award_member_idx')], 'pk_attr': 'id', 'table_description': 'A member holds a badge: once, unique in the database.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CheckIn',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('mallforum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('streak', fields.IntField()),
                ('points', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'check_in', 'app': 'mallforum', 'unique_together': (('member', 'day'),), 'pk_attr': 'id', 'table_description': 'A member checked in (签到) on a calendar day: at most once, unique in the database.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'outbox_event', 'app': 'mallforum', 'indexes': [Index(fields=['delivered_at', 'next_attempt_at'], name='outbox_due_idx')], 'pk_attr': 'id', 'table_description': "One event to POST to the mall's webhook, delivered once a 2xx answers it."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointTransaction',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('mallforum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('delta', fields.BigIntField()),
                ('experience', fields.BigIntField(default=0)),
                ('reason', fields.CharEnumField(description='WELCOME_GIFT: WELCOME_GIFT\nTOPIC_CREATED: TOPIC_CREATED\nCOMMENT_CREATED: COMMENT_CREATED\nLIKE_RECEIVED: LIKE_RECEIVED\nANSWER_ACCEPTED: ANSWER_ACCEPTED\nTOPIC_FEATURED: TOPIC_FEATURED\nCHECK_IN: CHECK_IN\nCONTEST_PRIZE: CONTEST_PRIZE\nCONTENT_REMOVED: CONTENT_REMOVED\nREDEMPTION: REDEMPTION\nREDEMPTION_REFUND: REDEMPTION_REFUND\nADMIN_ADJUSTMENT: ADMIN_ADJUSTMENT', enum_type=PointReason, max_length=24)),
                ('reference', fields.CharField(null=True, description='What the change is about, as a global ID ("Topic:…"): `revoke` sums by it.', max_length=64)),
                ('note', fields.CharField(null=True, description="The admin's words for an adjustment.", max_length=200)),
                ('idempotency_key', fields.CharField(unique=True, max_length=200)),
                ('balance_after', fields.BigIntField()),
                ('day', fields.DateField(description="The calendar day in the community's time zone, for the daily caps.")),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'point_transaction', 'app': 'mallforum', 'constraints': [CheckConstraint(check='balance_after >= 0', name='point_tx_balance_not_negative')], 'indexes': [Index(fields=['member_id', 'reason', 'day'], name='point_tx_cap_idx'), Index(fields=['member_id', 'id'], name='point_tx_member_idx'), Index(fields=['reference'], name='point_tx_reference_idx')], 'pk_attr': 'id', 'table_description': "One change of a member's points and experience: the ledger."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RewardItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('description', fields.TextField(null=True, unique=False)),
                ('cost_points', fields.IntField()),
                ('stock', fields.IntField(null=True, description='Units left, or null for unlimited.')),
                ('min_level', fields.IntField(default=0)),
                ('required_privilege', fields.CharField(null=True, description="A privilege the member's level must grant as well, e.g. PRODUCT_TRIALS for trials.", max_length=32)),
                ('mall_reward_code', fields.CharField(max_length=64)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reward_item', 'app': 'mallforum', 'constraints': [CheckConstraint(check='cost_points >= 0', name='reward_item_cost_not_negative'), CheckConstraint(check='stock >= 0', name='reward_item_stock_not_negative')], 'pk_attr': 'id', 'table_description': 'A coupon or gift members buy with points, issued by the mall by `mall_reward_code`.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Redemption',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('mallforum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('item', fields.ForeignKeyField('mallforum.RewardItem', source_field='item_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('cost_points', fields.IntField()),
                ('status', fields.CharEnumField(default=RedemptionStatus.PENDING, description='PENDING: PENDING\nISSUED: ISSUED\nREFUNDED: REFUNDED', enum_type=RedemptionStatus, max_length=16)),
                ('idempotency_key', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'redemption', 'app': 'mallforum', 'unique_together': (('member', 'idempotency_key'),), 'indexes': [Index(fields=['member_id', 'id'], name='redemption_member_idx')], 'pk_attr': 'id', 'table_description': 'A member spent points on an item, settled by the mall as ISSUED or REFUNDED.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='check_in_streak',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Member',
            name='last_check_in_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Member',
            name='likes_received',
            field=fields.IntField(default=0, description="Likes by others on the member's published topics and comments, now."),
        ),
        ops.AddField(
            model_name='Member',
            name='points',
            field=fields.BigIntField(default=0, description='Spendable points, changed only together with a PointTransaction row (the ledger).'),
        ),
        ops.AddConstraint(
            model_name='Member',
            constraint=CheckConstraint(check='points >= 0', name='member_points_not_negative'),
        ),
        ops.AddConstraint(
            model_name='Member',
            constraint=CheckConstraint(check='likes_received >= 0', name='member_likes_not_negative'),
        ),
    ]
