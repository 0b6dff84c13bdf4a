"""The audit log's varchar_pattern_ops index copies (PostgreSQL's, for LIKE 'prefix%'), dropped.

Events are found by request_id and by hash with equality only, which the plain and unique
indexes serve; each copy cost every event an index entry twice, at its insert and when the
chain links it (bench/README.md). Dropped concurrently, so events go on being written. The
copies are a side effect of the fields, not part of the migration state, and only PostgreSQL
makes them. (The audit app imports nothing of the project, so not reviewapp's DropColumnIndex.)
"""

from django.db import migrations

COLUMNS = ["request_id", "hash"]


def _like_index(schema_editor, column: str) -> str:
    return schema_editor.quote_name(
        schema_editor._create_index_name("reviews_auditevent", [column], suffix="_like")
    )


def drop_copies(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for column in COLUMNS:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_like_index(schema_editor, column)}")


def build_copies(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for column in COLUMNS:
            schema_editor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_like_index(schema_editor, column)} "
                f'ON reviews_auditevent ("{column}" varchar_pattern_ops)'
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audit", "0004_lifecycle_actions"),
    ]

    operations = [migrations.RunPython(drop_copies, build_copies)]
