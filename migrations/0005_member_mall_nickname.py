from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('mallforum', '0004_moderation')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='mall_nickname',
            field=fields.CharField(null=True, description="The nickname the mall's token last gave, as given: `nickname` is what the community", max_length=64),
        ),
    ]
