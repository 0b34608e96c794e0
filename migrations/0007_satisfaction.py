from tortoise import migrations
from tortoise.migrations import operations as ops
from consult.models import SatisfactionQuestion
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_reports')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SatisfactionAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('question', fields.CharEnumField(description='EASE: ease\nOUTCOME: outcome', enum_type=SatisfactionQuestion, max_length=10)),
                ('value', fields.SmallIntField()),
                ('note', fields.TextField(default='', unique=False)),
                ('asked_after', fields.CharField(max_length=10)),
                ('answered_on', fields.DateField()),
            ],
            options={'table': 'satisfaction_answer', 'app': 'models', 'indexes': [Index(fields=['consultation_id', 'question'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SatisfactionGiven',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('consultation', fields.ForeignKeyField('models.Consultation', source_field='consultation_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('question', fields.CharEnumField(description='EASE: ease\nOUTCOME: outcome', enum_type=SatisfactionQuestion, max_length=10)),
            ],
            options={'table': 'satisfaction_given', 'app': 'models', 'unique_together': (('account', 'consultation', 'question'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
