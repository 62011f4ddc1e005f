"""Which front door a request came through (chat today; the next doors add theirs)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("usage", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="usagerecord",
            name="protocol",
            field=models.CharField(
                default="chat",
                help_text="The front door it came through, e.g. chat.",
                max_length=20,
            ),
        ),
    ]
