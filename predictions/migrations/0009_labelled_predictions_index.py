"""The scorecard's index: predictions with an outcome, by creation time (built concurrently)."""

from django.db import migrations, models

from reviewapp.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("predictions", "0008_review_reason_and_outcome"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="prediction",
            index=models.Index(
                condition=models.Q(("outcome_label__isnull", False)),
                fields=["created_at"],
                name="prediction_labelled_created",
            ),
        ),
    ]
