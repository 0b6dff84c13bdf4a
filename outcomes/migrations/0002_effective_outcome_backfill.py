"""Outcomes stored before predictions kept their effective outcome: copy the latest of each onto it."""

from django.db import migrations


def effective_outcomes_backfill(apps, schema_editor):
    Outcome = apps.get_model("outcomes", "Outcome")
    Prediction = apps.get_model("predictions", "Prediction")
    seen = set()
    latest_first = Outcome.objects.order_by("prediction_id", "-occurred_at", "-received_at").iterator()
    for outcome in latest_first:
        if outcome.prediction_id in seen:
            continue
        seen.add(outcome.prediction_id)
        Prediction.objects.filter(pk=outcome.prediction_id).update(
            outcome_label=outcome.label,
            outcome_source=outcome.source,
            outcome_occurred_at=outcome.occurred_at,
            outcome_received_at=outcome.received_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0001_initial"),
        ("predictions", "0008_review_reason_and_outcome"),
    ]

    operations = [
        migrations.RunPython(effective_outcomes_backfill, migrations.RunPython.noop),
    ]
