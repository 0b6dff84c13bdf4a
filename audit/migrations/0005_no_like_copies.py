"""The audit log's varchar_pattern_ops index copies (PostgreSQL's, for LIKE 'prefix%'), dropped.

Events are found by request_id and by hash with equality only, which the plain and unique
indexes serve; each copy cost every event an index entry twice, at its insert and when the
chain links it (bench/README.md).
"""

from django.db import migrations

from reviewapp.migration_operations import DropColumnIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audit", "0004_lifecycle_actions"),
    ]

    operations = [
        DropColumnIndex(model_name="auditevent", column="request_id", suffix="_like"),
        DropColumnIndex(model_name="auditevent", column="hash", suffix="_like"),
    ]
