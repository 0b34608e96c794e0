from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from consult.models import OutcomeDecision
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_moderation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OpenDataRelease',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.OneToOneField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='open_data', on_delete=OnDelete.CASCADE)),
                ('licence', fields.CharField(max_length=40)),
                ('folder', fields.CharField(max_length=80)),
                ('files', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('released_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'open_data_release', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutcomeItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='outcome_items', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('kind', fields.CharField(max_length=10)),
                ('article', fields.ForeignKeyField('models.Article', source_field='article_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('title', fields.CharField(max_length=300)),
                ('comment_count', fields.IntField(default=0)),
                ('summary', fields.TextField(default='', unique=False)),
                ('decision', fields.CharEnumField(null=True, description='ACCEPTED: accepted\nPARTLY: partly\nNOT_ACCEPTED: not_accepted', enum_type=OutcomeDecision, max_length=14)),
                ('reason', fields.TextField(default='', unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'outcome_item', 'app': 'models', 'indexes': [Index(fields=['consultation_id', 'position'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.OneToOneField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='report', on_delete=OnDelete.CASCADE)),
                ('data', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('built_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('build_seconds', fields.FloatField(null=True)),
                ('final', fields.BooleanField(default=False)),
                ('last_comment_id', fields.IntField(default=0)),
                ('last_vote_id', fields.IntField(default=0)),
                ('last_response_id', fields.IntField(default=0)),
                ('requested_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='province',
            field=fields.CharField(null=True, max_length=30),
        ),
        ops.AddField(
            model_name='Account',
            name='respondent_kind',
            field=fields.CharField(null=True, max_length=20),
        ),
        ops.AddIndex(
            model_name='Answer',
            index=Index(fields=['response_id']),
        ),
        ops.AddField(
            model_name='Consultation',
            name='outcome_published_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Consultation',
            name='outcome_summary',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
    ]
