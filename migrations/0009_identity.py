from tortoise import migrations
from tortoise.migrations import operations as ops
from consult.models import ParticipationRule
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_dashboard_snapshot')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdentityLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='identity_links', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=30)),
                ('subject', fields.CharField(max_length=255)),
                ('linked_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'identity_link', 'app': 'models', 'unique_together': (('provider', 'subject'), ('account', 'provider')), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='birth_year',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Account',
            name='identity_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Account',
            name='verified_by',
            field=fields.CharField(null=True, max_length=30),
        ),
        ops.AddField(
            model_name='Account',
            name='verified_fields',
            field=fields.CharField(default='', db_default='', max_length=60),
        ),
        ops.AddField(
            model_name='Account',
            name='verified_name',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='Consultation',
            name='participation',
            field=fields.CharEnumField(default=ParticipationRule.ACCOUNTS, description='ACCOUNTS: accounts\nVERIFIED: verified', db_default='accounts', enum_type=ParticipationRule, max_length=10),
        ),
    ]
