"""What the hash chain covers: kinds of rows ("sources"), each able to read its rows' content.

The audit log's own events are one source. An app above this one registers its own kind in
its AppConfig.ready(), so the chain covers rows of tables this app cannot import: the
predictions app registers its predictions, each its own `created` evidence, which spares the
scoring hot path an event row per prediction (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

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
        """The rows of these ids that exist, by id."""
        ids = list(ids)
        if connection.vendor == "postgresql":
            # One array parameter, not a placeholder per id: 2,000 of those cost the linker more
            # than reading the rows.
            found = self.model._default_manager.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
        else:
            found = self.model._default_manager.filter(pk__in=ids)
        if self.json_as_text:
            found = found.annotate(**{f"{name}_text": Cast(name, TextField()) for name in self.json_as_text})
        fields = [f"{name}_text" if name in self.json_as_text else name for name in self.fields]
        return {row.id: row for row in found.values_list(*fields, named=True)}

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
