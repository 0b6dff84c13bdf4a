"""The reason-code index takes new entries in its pending list, merged by beat every few seconds.

Only the index's storage parameters change (ALTER INDEX ... SET: no rebuild, no lock held for
longer than the catalog update). PostgreSQL only: elsewhere there is no GIN index.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations

INDEX = "prediction_reason_codes"


def _pending_list_on(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX {INDEX} SET (fastupdate = on, gin_pending_list_limit = 16384)")


def _pending_list_off(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Entries waiting in the list would stay there until a vacuum: merge them first.
        schema_editor.execute(f"SELECT gin_clean_pending_list('{INDEX}'::regclass)")
        schema_editor.execute(f"ALTER INDEX {INDEX} SET (fastupdate = off)")
        schema_editor.execute(f"ALTER INDEX {INDEX} RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0015_predictions_own_evidence"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="prediction", name=INDEX),
                migrations.AddIndex(
                    model_name="prediction",
                    index=GinIndex(
                        fastupdate=True,
                        gin_pending_list_limit=16384,
                        fields=["reason_codes"],
                        name=INDEX,
                        opclasses=["jsonb_path_ops"],
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_pending_list_on, _pending_list_off)],
        ),
    ]
