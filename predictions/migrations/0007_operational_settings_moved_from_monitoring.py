"""The kill switch's settings move from `monitoring` to `predictions`: the same table, the same row.

Only Django's idea of which app owns the model changes (its state); the table keeps its name
(`monitoring_operationalsettings`, Meta.db_table), its row and its singleton constraint.

The content type stays where it was: `monitoring` keeps a proxy of the model for the admin,
at the same address, and the proxy is what admin permissions and history are recorded
against. The model here gets a content type of its own.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0006_api_key_rate_limit"),
        # The table exists from here on: later migrations of this app may alter it.
        ("monitoring", "0004_latency_snapshot"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OperationalSettings",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("review_all_predictions", models.BooleanField(default=False, help_text="Pauses automatic decisions: every new prediction goes to the review queue whatever its confidence. REVIEW_ALL_PREDICTIONS=1 in the environment keeps this on regardless.", verbose_name="Send every prediction to review")),
                        ("changed_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("changed_by", models.CharField(blank=True, editable=False, max_length=200)),
                    ],
                    options={
                        "verbose_name": "operational switches",
                        "verbose_name_plural": "operational switches",
                        "db_table": "monitoring_operationalsettings",
                        "constraints": [models.CheckConstraint(condition=models.Q(("pk", 1)), name="operational_settings_singleton")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
