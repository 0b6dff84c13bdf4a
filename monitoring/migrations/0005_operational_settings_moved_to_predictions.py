"""OperationalSettings now belongs to `predictions` (predictions/migrations/0007): the table stays.

What remains here is a proxy for the admin, so its page keeps its address
(/admin/monitoring/operationalsettings/) and the content type, with the permissions and admin
history recorded against it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0004_latency_snapshot"),
        ("predictions", "0007_operational_settings_moved_from_monitoring"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OperationalSettings")],
            database_operations=[],
        ),
        migrations.CreateModel(
            name="OperationalSettings",
            fields=[],
            options={
                "verbose_name": "operational switches",
                "verbose_name_plural": "operational switches",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("predictions.operationalsettings",),
        ),
    ]
