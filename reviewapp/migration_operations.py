"""Migration operations shared by the apps."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.indexes import PostgresIndex
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, so inserts go on while a large table's index builds.

    Elsewhere (SQLite, for tests and the demo) a B-tree index is a plain one and a PostgreSQL
    kind (GIN) is left out. The migration using it must say `atomic = False`.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        elif not isinstance(self.index, PostgresIndex):
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        elif not isinstance(self.index, PostgresIndex):
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrentlyOnPostgres(RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL; a plain DROP INDEX elsewhere."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class DropColumnIndex(migrations.operations.base.Operation):
    """Drop the index Django made by itself for a column: for `db_index`, a foreign key, or the
    `varchar_pattern_ops` copy (suffix "_like") PostgreSQL gets for a unique or indexed CharField.

    For indexes another one makes redundant. Each costs every insert an index entry; the model
    says `db_index=False` where the state must follow (use it in SeparateDatabaseAndState), and a
    "_like" copy is not in the state at all. DROP INDEX CONCURRENTLY on PostgreSQL (the migration
    says `atomic = False`); a plain DROP INDEX elsewhere. Backwards, the index is built again.
    """

    reversible = True

    def __init__(self, *, model_name: str, column: str, suffix: str = "") -> None:
        self.model_name = model_name
        self.column = column
        self.suffix = suffix

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # the index is the database's side effect of a field, not a part of the state

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if self.suffix == "_like" and schema_editor.connection.vendor != "postgresql":
            return  # only PostgreSQL makes the copy
        name = self._name(app_label, schema_editor, to_state)
        schema_editor.execute(f"DROP INDEX {self._concurrently(schema_editor)}IF EXISTS {name}")

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if self.suffix == "_like" and schema_editor.connection.vendor != "postgresql":
            return
        name = self._name(app_label, schema_editor, to_state)
        table = schema_editor.quote_name(to_state.apps.get_model(app_label, self.model_name)._meta.db_table)
        column = schema_editor.quote_name(self.column)
        opclass = " varchar_pattern_ops" if self.suffix == "_like" else ""
        concurrently = self._concurrently(schema_editor)
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {table} ({column}{opclass})"
        )

    def describe(self) -> str:
        return f"Drop the index Django made for {self.model_name}.{self.column}{self.suffix}"

    def _name(self, app_label: str, schema_editor: Any, state: Any) -> str:
        table = state.apps.get_model(app_label, self.model_name)._meta.db_table
        name = schema_editor._create_index_name(table, [self.column], suffix=self.suffix)
        return schema_editor.quote_name(name)

    @staticmethod
    def _concurrently(schema_editor: Any) -> str:
        return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
