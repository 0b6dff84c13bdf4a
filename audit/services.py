"""Writes on the tamper-evident audit log: record events, link rows into the hash chain.

Writers only insert, in the same transaction as the change they record, and take no lock:
the row, and its entry in the linker's queue. One linker at a time (a PostgreSQL advisory
lock; SQLite's write lock elsewhere) extends the chain from its head, so the chain never
forks; it runs every few seconds from Celery beat, after each commit when there is no broker,
and before every verification.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, chain_hash, plain
from audit.models import AuditEvent, AuditLink, AuditPending
from audit.sources import EVENT, chain_source

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Any constant works; it only has to be the same for every linker.
CHAIN_LOCK_ID = 7_410_001
PENDING_TABLE = AuditPending._meta.db_table
LINK_TABLE = AuditLink._meta.db_table
# Their triggers refuse every UPDATE, DELETE and TRUNCATE (audit/migrations/0006_links_of_their_own.py).
APPEND_ONLY_TABLES = (AuditEvent._meta.db_table, LINK_TABLE)


@dataclass(frozen=True)
class Event:
    action: str
    actor: str
    object_type: str
    object_id: str | int
    request_id: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    created_at: datetime | None = field(default=None)


def audit_events_record(*, events: list[Event]) -> list[AuditEvent]:
    """Insert events inside the caller's transaction; they are linked into the chain soon after."""
    if not events:
        return []
    now = timezone.now()
    rows = [
        AuditEvent(
            created_at=event.created_at or now,
            action=event.action,
            actor=event.actor[:200],
            request_id=event.request_id or "",
            object_type=event.object_type,
            object_id=str(event.object_id),
            before=plain(event.before),
            after=plain(event.after),
        )
        for event in events
    ]
    # An event and its queue entry, or neither: in the caller's transaction if there is one
    # (no savepoint, a round trip less for every audited change), else in a transaction of its own.
    with transaction.atomic(savepoint=False):
        if connection.vendor != "postgresql":
            created = AuditEvent.objects.bulk_create(rows)
            audit_rows_enqueue(source=EVENT, object_ids=[event.pk for event in created])
            return created
        _events_insert_postgresql(rows)
        audit_link_after_commit()
    return rows


# The events and their queue entries in one statement, the columns bound as arrays on the server:
# through the ORM, two statements whose every value Django compiles and psycopg quotes were half
# of routing's time in the worker (bench/README.md). Table and column names are module constants.
_EVENT_COLUMNS = {
    "created_at": "timestamptz",
    "action": "text",
    "actor": "text",
    "request_id": "text",
    "object_type": "text",
    "object_id": "text",
    "before": "jsonb",
    "after": "jsonb",
}
_EVENT_ARRAYS = ", ".join(f"%b::{'text' if kind == 'jsonb' else kind}[]" for kind in _EVENT_COLUMNS.values())
_EVENTS_INSERT = f"""
WITH events AS (
    INSERT INTO {AuditEvent._meta.db_table} ({", ".join(_EVENT_COLUMNS)})
    SELECT {", ".join(f"{name}::{kind}" for name, kind in _EVENT_COLUMNS.items())}
    FROM unnest({_EVENT_ARRAYS})
        WITH ORDINALITY AS t({", ".join(_EVENT_COLUMNS)}, ordinal)
    ORDER BY ordinal
    RETURNING id
), queued AS (
    INSERT INTO {PENDING_TABLE} (source, object_id) SELECT %s, id FROM events ORDER BY id
)
SELECT id FROM events ORDER BY id
"""  # noqa: S608


def _events_insert_postgresql(rows: list[AuditEvent]) -> None:
    """Insert the events and queue them for linking; sets their pks, in order (ids rise with the ordinal)."""
    columns = [
        [_json_text(row.__dict__[name]) for row in rows]
        if kind == "jsonb"
        else [row.__dict__[name] for row in rows]
        for name, kind in _EVENT_COLUMNS.items()
    ]
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_EVENTS_INSERT, [*columns, EVENT])
        ids = [pk for (pk,) in cursor.fetchall()]
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding = False


def _json_text(value: Any) -> str | None:
    # None is SQL NULL, as the ORM stores it, not JSON null.
    return None if value is None else json.dumps(value)


def audit_event_record(
    *,
    action: str,
    actor: str,
    object_type: str,
    object_id: str | int,
    request_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record one event; see audit_events_record."""
    event = Event(action, actor, object_type, object_id, request_id, before, after)
    return audit_events_record(events=[event])[0]


def audit_rows_enqueue(*, source: str, object_ids: list[int]) -> None:
    """Queue rows written in the caller's transaction for linking; the kind must be registered."""
    chain_source(source)  # an unknown kind would wait in the queue for ever
    AuditPending.objects.bulk_create(AuditPending(source=source, object_id=pk) for pk in object_ids)
    audit_link_after_commit()


def audit_enqueue_sql(*, select: str) -> str:
    """SQL queueing the rows a SELECT yields for linking, for a writer folding it into its own statement.

    The SELECT yields (source, object_id). The scoring hot path writes its predictions and
    their queue entries in one statement this way (predictions/persistence.py); call
    audit_link_after_commit() after it, as audit_rows_enqueue does.
    """
    return f"INSERT INTO {PENDING_TABLE} (source, object_id) {select}"


def audit_link_after_commit() -> None:
    """With no beat to run the linker (no broker), link new rows once the writer commits."""
    if settings.AUDIT_LINK_ON_COMMIT:
        transaction.on_commit(audit_chain_extend)


# --- linking ------------------------------------------------------------------------------

# The table name is the model's own constant, never input.
_HEAD_QUERY = f"SELECT seq, hash FROM {LINK_TABLE} ORDER BY seq DESC LIMIT 1"  # noqa: S608


def _lock_and_read_head() -> tuple[int, str]:
    """Take the linkers' lock, then read the chain's head: one round trip on PostgreSQL."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Simple-protocol multi-statement; the lock id is a constant, never user input.
            cursor.execute(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_ID}); {_HEAD_QUERY}")
            cursor.nextset()
        else:
            cursor.execute(_HEAD_QUERY)
        head = cursor.fetchone()
    return (head[0], head[1]) if head else (0, GENESIS_HASH)


def audit_chain_extend(*, batch_size: int = 2000) -> int:
    """Link every queued row, oldest entry first, at the next places in the chain. Returns how many.

    An entry whose row is gone (deleted by someone with the rights to lift the triggers) stays
    queued, unlinked: verification reports it, and the chain goes on without it.
    """
    linked, after = 0, 0
    while True:
        with transaction.atomic():
            seq, prev_hash = _lock_and_read_head()
            queued = list(
                AuditPending.objects.filter(id__gt=after)
                .order_by("id")
                .values_list("id", "source", "object_id")[:batch_size]
            )
            rows = _rows_by_source(queued)
            links, done = [], []
            for entry_id, source, object_id in queued:
                row = rows[source].get(object_id)
                if row is None:
                    continue
                seq += 1
                link_hash = chain_hash(prev_hash, chain_source(source).content(row, seq))
                links.append(
                    AuditLink(
                        seq=seq, source=source, object_id=object_id, prev_hash=prev_hash, hash=link_hash
                    )
                )
                done.append(entry_id)
                prev_hash = link_hash
            _links_write(links, done)
        linked += len(links)
        if len(queued) < batch_size:
            return linked
        after = queued[-1][0]


def _links_write(links: list[AuditLink], done: list[int]) -> None:
    """Append the links and take their rows' entries off the queue."""
    if connection.vendor != "postgresql":
        AuditLink.objects.bulk_create(links)
        AuditPending.objects.filter(id__in=done).delete()
        return
    if not links:
        return
    # Arrays bound on the server, one statement each: Django's ORM compiles a placeholder per
    # value and its cursor quotes every array element, most of the linker's Python at 2,000
    # links a batch (bench/README.md).
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"INSERT INTO {LINK_TABLE} (seq, source, object_id, prev_hash, hash) "  # noqa: S608
            "SELECT * FROM unnest(%b::bigint[], %b::text[], %b::bigint[], %b::text[], %b::text[])",
            [
                [link.seq for link in links],
                [link.source for link in links],
                [link.object_id for link in links],
                [link.prev_hash for link in links],
                [link.hash for link in links],
            ],
        )
        cursor.execute(f"DELETE FROM {PENDING_TABLE} WHERE id = ANY(%b::bigint[])", [done])  # noqa: S608


def _rows_by_source(queued: list[tuple[int, str, int]]) -> dict[str, dict[int, Any]]:
    """The queued rows' contents, one query per kind of row."""
    ids: dict[str, list[int]] = defaultdict(list)
    for _, source, object_id in queued:
        ids[source].append(object_id)
    return {source: chain_source(source).rows(object_ids) for source, object_ids in ids.items()}


# --- people: lockouts and roles -------------------------------------------------------------


def login_lockout_record(*, username: str | None, ip_address: str | None, request_id: str = "") -> AuditEvent:
    """A username and address passed the failed-login limit (django-axes says so)."""
    return audit_event_record(
        action=AuditEvent.Action.LOGIN_LOCKED_OUT,
        # The name tried is not a proven identity: written as given, with the address it came from.
        actor=f"login:{username or '?'}@{ip_address or '?'}"[:200],
        object_type="user",
        object_id=(username or "")[:64],
        request_id=request_id,
        after={"username": username, "ip_address": ip_address},
    )


def user_roles(user: User) -> dict[str, Any]:
    """What the log records of someone's roles, before and after a change."""
    return {
        "username": user.get_username(),
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "is_active": user.is_active,
    }


def user_roles_change_record(
    *, user_id: int, actor: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> AuditEvent | None:
    """Someone's groups or staff flags changed; nothing is written when nothing changed."""
    if before == after:
        return None
    return audit_event_record(
        action=AuditEvent.Action.USER_ROLE_CHANGED,
        actor=actor,
        object_type="user",
        object_id=user_id,
        before=before,
        after=after,
    )
