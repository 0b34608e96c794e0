from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from consult.models import AppealState, ReviewReason
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_participation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name='campaigns', on_delete=OnDelete.CASCADE)),
                ('size', fields.IntField(default=1)),
                ('first_seen', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'campaign', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BulkDecision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('models.Account', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=20)),
                ('reason_code', fields.CharField(null=True, max_length=20)),
                ('note', fields.TextField(default='', unique=False)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('comment_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('total', fields.IntField(default=0)),
                ('done', fields.IntField(default=0)),
                ('skipped', fields.IntField(default=0)),
                ('state', fields.CharField(default='queued', max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'bulk_decision', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CommentFingerprint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('comment', fields.OneToOneField('models.Comment', source_field='comment_id', db_constraint=True, to_field='id', related_name='fingerprint', on_delete=OnDelete.CASCADE)),
                ('signature', fields.BinaryField()),
            ],
            options={'table': 'comment_fingerprint', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FingerprintBand',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation_id', fields.IntField()),
                ('key', fields.BigIntField()),
                ('comment', fields.ForeignKeyField('models.Comment', source_field='comment_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'fingerprint_band', 'app': 'models', 'indexes': [Index(fields=['consultation_id', 'key', 'comment_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RedactedOriginal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('audit_entry', fields.OneToOneField('models.AuditEntry', source_field='audit_entry_id', db_constraint=True, to_field='id', related_name='redacted_original', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(unique=False)),
                ('proposed_wording', fields.TextField(null=True, unique=False)),
                ('erase_after', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'redacted_original', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Comment',
            name='appeal_note',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Comment',
            name='appeal_state',
            field=fields.CharEnumField(null=True, description='PENDING: pending\nUPHELD: upheld\nOVERTURNED: overturned', enum_type=AppealState, max_length=12),
        ),
        ops.AddField(
            model_name='Comment',
            name='appealed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Comment',
            name='campaign',
            field=fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Comment',
            name='decided_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Comment',
            name='decided_by',
            field=fields.ForeignKeyField('models.Account', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Comment',
            name='decision_note',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Comment',
            name='decision_seconds',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Comment',
            name='moderation_version',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Comment',
            name='redacted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Comment',
            name='review',
            field=fields.CharEnumField(null=True, description='SCREENING: screening\nFLAGS: flags\nAPPEAL: appeal\nPREMODERATION: premoderation', enum_type=ReviewReason, max_length=16),
        ),
        ops.AddField(
            model_name='Comment',
            name='review_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Comment',
            name='signals',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Comment',
            name='top_signal',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddIndex(
            model_name='Comment',
            index=Index(fields=['review_since', 'id']),
        ),
        ops.AddIndex(
            model_name='Comment',
            index=Index(fields=['consultation_id', 'review_since', 'id']),
        ),
        ops.AddIndex(
            model_name='Comment',
            index=Index(fields=['review', 'review_since', 'id']),
        ),
        ops.AddIndex(
            model_name='Comment',
            index=Index(fields=['review', 'top_signal', 'consultation_id']),
        ),
        ops.AddIndex(
            model_name='Comment',
            index=Index(fields=['flag_count', 'id']),
        ),
        ops.AddIndex(
            model_name='Comment',
            index=Index(fields=['campaign_id', 'review']),
        ),
        ops.AddIndex(
            model_name='Comment',
            index=Index(fields=['decided_at', 'id']),
        ),
    ]
