from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from consult.models import CommentStatus, FlagReason, QuestionKind, Stance, VoteValue
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_articles')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=200)),
                ('filename', fields.CharField(max_length=200)),
                ('stored_name', fields.CharField(unique=True, max_length=80)),
                ('size', fields.IntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('uploaded_by', fields.ForeignKeyField('models.Account', source_field='uploaded_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'attachment', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Comment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('article', fields.ForeignKeyField('models.Article', source_field='article_id', null=True, db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.SET_NULL)),
                ('parent', fields.ForeignKeyField('models.Comment', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.Account', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.SET_NULL)),
                ('stance', fields.CharEnumField(null=True, description='SUPPORT: support\nOPPOSE: oppose\nCHANGE: change', enum_type=Stance, max_length=10)),
                ('body', fields.TextField(unique=False)),
                ('proposed_wording', fields.TextField(null=True, unique=False)),
                ('status', fields.CharEnumField(default=CommentStatus.PENDING, description='PENDING: pending\nPUBLISHED: published\nREJECTED: rejected\nHIDDEN: hidden\nWITHDRAWN: withdrawn', enum_type=CommentStatus, max_length=12)),
                ('reason_code', fields.CharField(null=True, max_length=40)),
                ('screened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('agree_count', fields.IntField(default=0)),
                ('disagree_count', fields.IntField(default=0)),
                ('pass_count', fields.IntField(default=0)),
                ('flag_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'comment', 'app': 'models', 'indexes': [Index(fields=['consultation_id', 'status', 'id']), Index(fields=['consultation_id', 'status', 'agree_count']), Index(fields=['article_id', 'status']), Index(fields=['parent_id', 'status']), Index(fields=['author_id', 'id']), Index(fields=['status', 'screened_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Flag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('comment', fields.ForeignKeyField('models.Comment', source_field='comment_id', db_constraint=True, to_field='id', related_name='flags', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='flags', on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharEnumField(description='SPAM: spam\nOFFENSIVE: offensive\nOFF_TOPIC: off_topic\nPERSONAL_DATA: personal_data\nMISINFORMATION: misinformation\nOTHER: other', enum_type=FlagReason, max_length=20)),
                ('note', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'flag', 'app': 'models', 'unique_together': (('comment', 'account'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'follow', 'app': 'models', 'unique_together': (('consultation', 'account'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Question',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('kind', fields.CharEnumField(description='SINGLE: single\nMULTIPLE: multiple\nSCALE: scale\nTEXT: text', enum_type=QuestionKind, max_length=10)),
                ('prompt', fields.CharField(max_length=500)),
                ('options', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('required', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'question', 'app': 'models', 'indexes': [Index(fields=['consultation_id', 'position'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QuestionResponse',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'question_response', 'app': 'models', 'unique_together': (('consultation', 'account'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Answer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('response', fields.ForeignKeyField('models.QuestionResponse', source_field='response_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('question', fields.ForeignKeyField('models.Question', source_field='question_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('option', fields.IntField(null=True)),
                ('text', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'answer', 'app': 'models', 'indexes': [Index(fields=['question_id', 'option'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Topic',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=80)),
                ('name_vi', fields.CharField(max_length=80)),
                ('name_en', fields.CharField(max_length=80)),
            ],
            options={'table': 'topic', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConsultationTopic',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='topic_links', on_delete=OnDelete.CASCADE)),
                ('topic', fields.ForeignKeyField('models.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name='consultation_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'consultation_topic', 'app': 'models', 'unique_together': (('consultation', 'topic'),), 'indexes': [Index(fields=['topic_id', 'consultation_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Vote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('comment', fields.ForeignKeyField('models.Comment', source_field='comment_id', db_constraint=True, to_field='id', related_name='votes', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='votes', on_delete=OnDelete.CASCADE)),
                ('value', fields.CharEnumField(description='AGREE: agree\nDISAGREE: disagree\nPASS: pass', enum_type=VoteValue, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'vote', 'app': 'models', 'unique_together': (('comment', 'account'),), 'indexes': [Index(fields=['account_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
