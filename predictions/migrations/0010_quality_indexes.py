"""The scorecard's and the what-if's indexes (outcomes/quality.py; figures in bench/README.md).

Built with CREATE INDEX CONCURRENTLY on PostgreSQL, so scoring keeps inserting while they build
(about 1 s for the three at 1,000,000 predictions); elsewhere plain indexes on created_at, the
INCLUDE columns being PostgreSQL's. prediction_quality_labelled has the key and the condition
of 0009's prediction_labelled_created and more columns, so it takes its place.
"""

from django.db import migrations, models

from reviewapp.migration_operations import AddIndexConcurrentlyOnPostgres, RemoveIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("predictions", "0009_labelled_predictions_index"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="prediction",
            index=models.Index(
                fields=["created_at"],
                include=["model_version", "confidence", "label", "outcome_label"],
                name="prediction_quality_volume",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="prediction",
            index=models.Index(
                condition=models.Q(("outcome_label__isnull", False)),
                fields=["created_at"],
                include=[
                    "model_version",
                    "score",
                    "confidence",
                    "label",
                    "final_label",
                    "status",
                    "review_reason",
                    "outcome_label",
                    "outcome_occurred_at",
                    "outcome_received_at",
                ],
                name="prediction_quality_labelled",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="prediction",
            index=models.Index(
                condition=models.Q(("review_reason__isnull", False)),
                fields=["created_at"],
                include=[
                    "id",
                    "model_version",
                    "label",
                    "review_reason",
                    "inclusion_probability",
                    "outcome_label",
                ],
                name="prediction_quality_reviewed",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="prediction", name="prediction_labelled_created"),
    ]
