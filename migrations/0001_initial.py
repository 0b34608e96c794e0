from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from consult.models import ConsultationKind, ConsultationStatus, Role, TokenPurpose
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('display_name', fields.CharField(max_length=60)),
                ('password_hash', fields.CharField(max_length=200)),
                ('email_verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('language', fields.CharField(null=True, max_length=5)),
                ('session_version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_sign_in_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AccountToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='VERIFY_EMAIL: verify_email\nRESET_PASSWORD: reset_password', enum_type=TokenPurpose, max_length=20)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_token', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Agency',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=80)),
                ('name_vi', fields.CharField(max_length=200)),
                ('name_en', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'agency', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('models.Account', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=60)),
                ('target_type', fields.CharField(max_length=40)),
                ('target_id', fields.CharField(max_length=40)),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'indexes': [Index(fields=['target_type', 'target_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Consent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(max_length=40)),
                ('notice_version', fields.CharField(max_length=20)),
                ('given_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'consent', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Consultation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='consultations', on_delete=OnDelete.RESTRICT)),
                ('slug', fields.CharField(unique=True, max_length=120)),
                ('title', fields.CharField(max_length=300)),
                ('summary', fields.TextField(unique=False)),
                ('kind', fields.CharEnumField(description='POLICY: policy\nLEGAL_TEXT: legal_text\nSERVICE_DESIGN: service_design', enum_type=ConsultationKind, max_length=20)),
                ('language', fields.CharField(max_length=5)),
                ('status', fields.CharEnumField(default=ConsultationStatus.DRAFT, description='DRAFT: draft\nSCHEDULED: scheduled\nOPEN: open\nCLOSED: closed\nOUTCOME_PUBLISHED: outcome_published\nARCHIVED: archived', enum_type=ConsultationStatus, max_length=20)),
                ('opens_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('models.Account', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'consultation', 'app': 'models', 'indexes': [Index(fields=['status', 'closes_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMail',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('to_address', fields.CharField(max_length=254)),
                ('subject', fields.CharField(max_length=300)),
                ('body_text', fields.TextField(unique=False)),
                ('language', fields.CharField(max_length=5)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'outbox_mail', 'app': 'models', 'indexes': [Index(fields=['sent_at', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RoleGrant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='role_grants', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='OFFICIAL: official\nMODERATOR: moderator\nADMIN: admin', enum_type=Role, max_length=20)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', null=True, db_constraint=True, to_field='id', related_name='role_grants', on_delete=OnDelete.CASCADE)),
                ('granted_by', fields.ForeignKeyField('models.Account', source_field='granted_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('granted_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'role_grant', 'app': 'models', 'unique_together': (('account', 'role', 'agency'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
