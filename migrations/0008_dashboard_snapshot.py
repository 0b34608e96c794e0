from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_satisfaction')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DashboardSnapshot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(unique=True, max_length=40)),
                ('first_month', fields.CharField(max_length=7)),
                ('last_month', fields.CharField(max_length=7)),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('built_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('build_seconds', fields.FloatField()),
            ],
            options={'table': 'dashboard_snapshot', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
