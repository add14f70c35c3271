from tortoise import migrations
from tortoise.migrations import operations as ops
from models.boards import BoardKind
from models.likes import LikeSubject
from models.members import MemberRole, MemberStatus
from models.topics import ContentStatus, TopicKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Board',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=64)),
                ('description', fields.TextField(null=True, unique=False)),
                ('kind', fields.CharEnumField(description='PRODUCT: PRODUCT\nINTEREST: INTEREST\nREGION: REGION\nPRIVILEGE: PRIVILEGE\nANNOUNCEMENT: ANNOUNCEMENT', enum_type=BoardKind, max_length=16)),
                ('min_level_to_view', fields.IntField(default=0)),
                ('min_level_to_post', fields.IntField(default=0)),
                ('topic_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'board', 'app': 'mallforum', 'constraints': [CheckConstraint(check='topic_count >= 0', name='board_topic_count_not_negative')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Member',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mall_user_id', fields.CharField(unique=True, max_length=128)),
                ('nickname', fields.CharField(max_length=64)),
                ('avatar_url', fields.CharField(null=True, max_length=1024)),
                ('role', fields.CharEnumField(default=MemberRole.MEMBER, description='MEMBER: MEMBER\nMODERATOR: MODERATOR\nADMIN: ADMIN', enum_type=MemberRole, max_length=16)),
                ('status', fields.CharEnumField(default=MemberStatus.ACTIVE, description='ACTIVE: ACTIVE\nMUTED: MUTED\nBANNED: BANNED', enum_type=MemberStatus, max_length=16)),
                ('muted_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('experience', fields.BigIntField(default=0)),
                ('level', fields.IntField(default=0)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'member', 'app': 'mallforum', 'constraints': [CheckConstraint(check='experience >= 0', name='member_experience_not_negative'), CheckConstraint(check='level >= 0', name='member_level_not_negative')], 'pk_attr': 'id', 'table_description': "One shopper of the mall, keyed by the mall's own user id (the JWT `sub`)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BoardFollow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('mallforum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('board', fields.ForeignKeyField('mallforum.Board', source_field='board_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'board_follow', 'app': 'mallforum', 'unique_together': (('member', 'board'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Like',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('mallforum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('subject_kind', fields.CharEnumField(description='TOPIC: TOPIC\nCOMMENT: COMMENT', enum_type=LikeSubject, max_length=8)),
                ('subject_id', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'like', 'app': 'mallforum', 'unique_together': (('member', 'subject_kind', 'subject_id'),), 'indexes': [Index(fields=['subject_kind', 'subject_id'], name='like_subject_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Purchase',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mall_user_id', fields.CharField(max_length=128)),
                ('sku', fields.CharField(max_length=64)),
                ('order_id', fields.CharField(max_length=128)),
                ('purchased_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'purchase', 'app': 'mallforum', 'unique_together': (('mall_user_id', 'sku', 'order_id'),), 'indexes': [Index(fields=['sku', 'mall_user_id'], name='purchase_sku_buyer_idx')], 'pk_attr': 'id', 'table_description': "One SKU of one order. Keyed by the mall's user id: the buyer may not be a member yet."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TagFollow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('mallforum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('tag', fields.CharField(max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tag_follow', 'app': 'mallforum', 'unique_together': (('member', 'tag'),), 'pk_attr': 'id', 'table_description': 'A member follows a tag: topics with it, in any board, reach their home feed.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Topic',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('board', fields.ForeignKeyField('mallforum.Board', source_field='board_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('author', fields.ForeignKeyField('mallforum.Member', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(default=TopicKind.DISCUSSION, description='DISCUSSION: DISCUSSION\nQUESTION: QUESTION\nPOLL: POLL\nCONTEST_ENTRY: CONTEST_ENTRY\nANNOUNCEMENT: ANNOUNCEMENT', enum_type=TopicKind, max_length=16)),
                ('status', fields.CharEnumField(default=ContentStatus.PUBLISHED, description='PUBLISHED: PUBLISHED\nPENDING_REVIEW: PENDING_REVIEW\nHIDDEN: HIDDEN\nDELETED: DELETED', enum_type=ContentStatus, max_length=16)),
                ('title', fields.CharField(max_length=120)),
                ('body', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('tags', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('product_skus', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('image_urls', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('is_pinned', fields.BooleanField(default=False)),
                ('is_featured', fields.BooleanField(default=False)),
                ('is_locked', fields.BooleanField(default=False)),
                ('like_count', fields.IntField(default=0)),
                ('comment_count', fields.IntField(default=0)),
                ('view_count', fields.BigIntField(default=0)),
                ('hot_score', fields.FloatField(default=0)),
                ('accepted_answer_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('last_activity_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'topic', 'app': 'mallforum', 'constraints': [CheckConstraint(check='like_count >= 0', name='topic_like_count_not_negative'), CheckConstraint(check='comment_count >= 0', name='topic_comment_count_not_negative'), CheckConstraint(check='view_count >= 0', name='topic_view_count_not_negative')], 'indexes': [Index(fields=['author_id', 'id'], name='topic_author_idx')], 'pk_attr': 'id', 'table_description': "A post in a board. Counters are kept exact on write, under the row's lock."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Comment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.ForeignKeyField('mallforum.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('mallforum.Member', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('parent_id', fields.BigIntField(null=True)),
                ('root_id', fields.BigIntField(null=True)),
                ('status', fields.CharEnumField(default=ContentStatus.PUBLISHED, description='PUBLISHED: PUBLISHED\nPENDING_REVIEW: PENDING_REVIEW\nHIDDEN: HIDDEN\nDELETED: DELETED', enum_type=ContentStatus, max_length=16)),
                ('body', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('like_count', fields.IntField(default=0)),
                ('reply_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'comment', 'app': 'mallforum', 'constraints': [CheckConstraint(check='like_count >= 0', name='comment_like_count_not_negative'), CheckConstraint(check='reply_count >= 0', name='comment_reply_count_not_negative')], 'indexes': [Index(fields=['topic_id', 'root_id', 'id'], name='comment_thread_idx'), Index(fields=['root_id', 'id'], name='comment_replies_idx'), Index(fields=['author_id', 'id'], name='comment_author_idx')], 'pk_attr': 'id', 'table_description': "A comment on a topic (root is null) or a reply inside a root comment's thread."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TopicListing',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.ForeignKeyField('mallforum.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('facet', fields.CharField(max_length=200)),
                ('min_level', fields.IntField(default=0)),
                ('hot_score', fields.FloatField()),
                ('top_key', fields.BigIntField()),
                ('last_activity_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'topic_listing', 'app': 'mallforum', 'unique_together': (('facet', 'topic_id'),), 'indexes': [Index(fields=['facet', 'hot_score', 'topic_id'], name='listing_hot_idx'), Index(fields=['facet', 'top_key'], name='listing_top_idx'), Index(fields=['facet', 'last_activity_at', 'topic_id'], name='listing_active_idx')], 'pk_attr': 'id', 'table_description': 'One row per (feed, published topic): the indexed copy of the sort keys a feed pages by.'},
            bases=['Model'],
        ),
    ]
