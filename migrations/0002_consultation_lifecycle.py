from tortoise import migrations
from tortoise.migrations import operations as ops
from consult.models import ModerationMode
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Consultation',
            name='closed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Consultation',
            name='moderation_mode',
            field=fields.CharEnumField(default=ModerationMode.POST, description='PRE: pre\nPOST: post', db_default='post', enum_type=ModerationMode, max_length=10),
        ),
        ops.AddField(
            model_name='Consultation',
            name='opened_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Consultation',
            index=Index(fields=['status', 'opens_at']),
        ),
    ]
