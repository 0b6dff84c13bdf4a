"""Three of the prediction table's indexes that others make redundant, dropped (bench/README.md).

Every prediction paid an entry in each on the scoring path:
- created_at's own index: prediction_quality_volume's key is created_at, and it serves every
  query by time (elsewhere than PostgreSQL it is a plain index on created_at);
- model_version's foreign-key index: prediction_version_created leads with model_version;
- request_id's varchar_pattern_ops copy (PostgreSQL's, for LIKE 'prefix%'): the API looks a
  request_id up by equality, which the unique index serves.
"""

import django.db.models.deletion
from django.db import migrations, models

from reviewapp.migration_operations import DropColumnIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("predictions", "0013_model_version_shadow_status"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="prediction",
                    name="created_at",
                    field=models.DateTimeField(auto_now_add=True),
                ),
                migrations.AlterField(
                    model_name="prediction",
                    name="model_version",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="predictions",
                        to="predictions.modelversion",
                    ),
                ),
            ],
            database_operations=[
                DropColumnIndex(model_name="prediction", column="created_at"),
                DropColumnIndex(model_name="prediction", column="model_version_id"),
                DropColumnIndex(model_name="prediction", column="request_id", suffix="_like"),
            ],
        ),
    ]
