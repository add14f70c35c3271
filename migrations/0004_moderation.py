from tortoise import migrations
from tortoise.migrations import operations as ops
from models.moderation import ModerationCaseStatus, ModerationSource, ReportReason
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('mallforum', '0003_check_constraints')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ModerationCase',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('target_kind', fields.CharField(max_length=16)),
                ('target_id', fields.BigIntField()),
                ('source', fields.CharEnumField(description='HOOK: HOOK\nREPORT: REPORT', enum_type=ModerationSource, max_length=16)),
                ('status', fields.CharEnumField(default=ModerationCaseStatus.OPEN, description='OPEN: OPEN\nAPPROVED: APPROVED\nREJECTED: REJECTED', enum_type=ModerationCaseStatus, max_length=16)),
                ('reasons', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('report_count', fields.IntField(default=0)),
                ('report_weight', fields.FloatField(default=0, description="The reports' weights summed: past `report_hide_threshold` the item is hidden.")),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_by', fields.ForeignKeyField('mallforum.Member', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('note', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'moderation_case', 'app': 'mallforum', 'indexes': [Index(fields=['status', 'id'], name='moderation_case_queue_idx'), Index(fields=['target_kind', 'target_id', 'status'], name='moderation_case_target_idx')], 'pk_attr': 'id', 'table_description': 'Content a hook held or members reported, waiting for (or decided by) a moderator.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ModerationLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('mallforum.Member', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('action', fields.CharField(max_length=32)),
                ('target_id', fields.CharField(description='The global ID of what was acted on (a topic, comment or member).', max_length=128)),
                ('note', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_log', 'app': 'mallforum', 'pk_attr': 'id', 'table_description': "One moderator action, written in the action's own transaction and never changed."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reporter', fields.ForeignKeyField('mallforum.Member', source_field='reporter_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('target_kind', fields.CharField(max_length=16)),
                ('target_id', fields.BigIntField()),
                ('case', fields.ForeignKeyField('mallforum.ModerationCase', source_field='case_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('reason', fields.CharEnumField(description='SPAM: SPAM\nABUSE: ABUSE\nILLEGAL: ILLEGAL\nOFF_TOPIC: OFF_TOPIC\nOTHER: OTHER', enum_type=ReportReason, max_length=16)),
                ('note', fields.TextField(null=True, unique=False)),
                ('weight', fields.FloatField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report', 'app': 'mallforum', 'unique_together': (('reporter', 'target_kind', 'target_id'),), 'indexes': [Index(fields=['case_id'], name='report_case_idx')], 'pk_attr': 'id', 'table_description': "One member's report of one item: a member reports an item once."},
            bases=['Model'],
        ),
    ]
