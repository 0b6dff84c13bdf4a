"""What the hash chain covers: kinds of rows ("sources"), each able to read its rows' content.

The audit log's own events are one source. An app above this one registers its own kind in
its AppConfig.ready(), so the chain covers rows of tables this app cannot import: the
predictions app registers its predictions, each its own `created` evidence, which spares the
scoring hot path an event row per prediction (bench/README.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from django.db import connection, models
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils.functional import cached_property
from psycopg.rows import namedtuple_row
from psycopg.types.datetime import TimestamptzLoader

from audit.chain import event_content
from audit.models import AuditEvent

EVENT = "event"


@dataclass(frozen=True)
class ChainSource:
    """A kind of row the chain links: where it lives and what of it a link's hash covers.

    `content(row, seq)` must give the same text whenever it is given the row as stored, so it
    may only read columns nobody changes after the row is written.
    """

    name: str
    model: type[models.Model]
    fields: tuple[str, ...]  # read for `content`; "id" first
    content: Callable[[Any, int], str]
    label: str  # how a missing row is named in a verification report
    # JSON fields read as the database spells them back, not parsed: cheaper, and as exact.
    json_as_text: tuple[str, ...] = ()

    def rows(self, ids: Iterable[int]) -> dict[int, Any]:
        """The rows of these ids that exist, by id, each a named tuple of `fields`."""
        ids = list(ids)
        if connection.vendor == "postgresql":
            return self._rows_postgresql(ids)
        return self._rows_orm(ids)

    def _rows_orm(self, ids: list[int]) -> dict[int, Any]:
        found = self.model._default_manager.filter(pk__in=ids)
        if self.json_as_text:
            found = found.annotate(**{f"{name}_text": Cast(name, TextField()) for name in self.json_as_text})
        fields = [f"{name}_text" if name in self.json_as_text else name for name in self.fields]
        return {row.id: row for row in found.values_list(*fields, named=True)}

    def _rows_postgresql(self, ids: list[int]) -> dict[int, Any]:
        # The same rows as the ORM's (a test compares them), read with psycopg's own loaders:
        # through the ORM, reading was two fifths of the linker's time, over half of that in
        # Django's time loader, a Python subclass of psycopg's C one (bench/README.md). One
        # array parameter, not a placeholder per id.
        if not ids:
            return {}
        connection.ensure_connection()
        with (
            connection.wrap_database_errors,
            psycopg.Cursor(connection.connection, row_factory=namedtuple_row) as cursor,
        ):
            cursor.adapters.register_loader("timestamptz", TimestamptzLoader)  # C where available
            cursor.execute(self._select_by_ids, [ids])
            found: list[Any] = cursor.fetchall()
        if self._parsed_json:
            found = [
                row._replace(**{name: _json_or_none(getattr(row, name)) for name in self._parsed_json})
                for row in found
            ]
        return {row.id: row for row in found}

    @cached_property
    def _select_by_ids(self) -> str:
        """SELECT of `fields` by an array of ids, named as the ORM's `rows` names them; JSON as text."""
        columns = []
        for name in self.fields:
            column = self._column(name)
            # Read as text; json_as_text's stay so, the rest are parsed (_parsed_json).
            alias = f"{name}_text" if name in self.json_as_text else name
            as_text = "::text" if self._is_json(name) else ""
            columns.append(f"{column}{as_text} AS {alias}")
        table = connection.ops.quote_name(self.table)
        return f"SELECT {', '.join(columns)} FROM {table} WHERE {self._column('id')} = ANY(%b::bigint[])"  # noqa: S608

    @cached_property
    def _parsed_json(self) -> tuple[str, ...]:
        return tuple(name for name in self.fields if self._is_json(name) and name not in self.json_as_text)

    def _column(self, name: str) -> str:
        # Every name in `fields` is a concrete column's (an attname, like "api_key_id").
        field = cast(models.Field, self.model._meta.get_field(name))
        return connection.ops.quote_name(cast(str, field.column))

    def _is_json(self, name: str) -> bool:
        return isinstance(self.model._meta.get_field(name), models.JSONField)

    @property
    def table(self) -> str:
        return self.model._meta.db_table


_sources: dict[str, ChainSource] = {}


def chain_source_register(source: ChainSource) -> None:
    """Make a kind of row linkable; call it from an AppConfig.ready()."""
    _sources[source.name] = source


def chain_source(name: str) -> ChainSource:
    try:
        return _sources[name]
    except KeyError:
        raise LookupError(
            f"The audit chain links rows of kind {name!r}, and no installed app registers it"
        ) from None


def chain_sources() -> list[ChainSource]:
    return list(_sources.values())


def _json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


chain_source_register(
    ChainSource(
        name=EVENT,
        model=AuditEvent,
        fields=(
            "id",
            "created_at",
            "action",
            "actor",
            "request_id",
            "object_type",
            "object_id",
            "before",
            "after",
        ),
        content=event_content,
        label="event",
    )
)
