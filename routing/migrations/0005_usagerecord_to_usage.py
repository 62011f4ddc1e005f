"""The usage record moves to the usage app: removed from routing's state only (the table,
`routing_usagerecord`, stays; usage/migrations/0001 takes it over)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("routing", "0004_complexity_score")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="UsageRecord")],
            database_operations=[],
        )
    ]
