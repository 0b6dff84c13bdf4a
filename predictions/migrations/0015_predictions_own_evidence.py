"""A prediction records who scored it when no API key did (an admin from the API docs page),
as its `prediction.created` event did; and every stored prediction is queued for the audit chain: from now on a prediction's row is its
own `created` evidence (predictions/evidence.py), and verification counts every prediction as
linked or queued.

Predictions stored before keep their `prediction.created` events, linked as they were; their
rows are linked too, by the linker, in the background (about 20,000 a second).
"""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

QUEUE_EVERY_PREDICTION = """
INSERT INTO audit_pending (source, object_id)
SELECT 'prediction', id FROM predictions_prediction ORDER BY id
"""


def predictions_queue(apps, schema_editor) -> None:
    schema_editor.execute(QUEUE_EVERY_PREDICTION)


def predictions_unqueue(apps, schema_editor) -> None:
    # Refused here, before `scored_by` is dropped: going back would lose it, and the schema
    # before cannot hold a prediction's link anyway (audit 0006 would refuse next).
    if apps.get_model("audit", "AuditLink").objects.filter(source="prediction").exists():
        raise IrreversibleError(
            "The chain links rows other than events (predictions); the old schema cannot hold them"
        )
    apps.get_model("audit", "AuditPending").objects.filter(source="prediction").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0014_fewer_prediction_indexes"),
        ("audit", "0006_links_of_their_own"),
    ]

    operations = [
        migrations.AddField(
            model_name="prediction",
            name="scored_by",
            field=models.CharField(
                blank=True,
                null=True,
                help_text="Who asked for the score, when no API key did: an admin from the API docs page",
                max_length=200,
            ),
        ),
        migrations.RunPython(predictions_queue, predictions_unqueue),
    ]
