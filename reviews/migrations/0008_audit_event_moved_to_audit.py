"""AuditEvent now belongs to the `audit` app (audit/migrations/0001): the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0007_api_key_changed_action"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
