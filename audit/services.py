"""Writes on the tamper-evident audit log: record events, link them into the hash chain.

Writers only insert, in the same transaction as the change they record, and take no lock.
One linker at a time (a PostgreSQL advisory lock; SQLite's write lock elsewhere) extends
the chain from its head, so the chain never forks; it runs every few seconds from Celery
beat, after each commit when there is no broker, and before every verification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import CONTENT_FIELDS, GENESIS_HASH, chain_hash, event_content, plain
from audit.models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Any constant works; it only has to be the same for every linker.
CHAIN_LOCK_ID = 7_410_001
AUDIT_TABLE = AuditEvent._meta.db_table


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
    created = AuditEvent.objects.bulk_create(rows)
    audit_link_after_commit()
    return created


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


def audit_events_insert_sql(*, select: str) -> str:
    """SQL that records the events a SELECT yields, for a writer that folds them into its own statement.

    The SELECT yields (created_at, action, actor, request_id, object_type, object_id, after),
    values already canonical JSON. The scoring hot path writes a prediction and its `created`
    event in one statement this way (predictions/persistence.py); call audit_link_after_commit()
    after it, as audit_events_record does.
    """
    return (
        f"INSERT INTO {AUDIT_TABLE} (created_at, action, actor, request_id, object_type, object_id, after) "
        f"{select}"
    )


def audit_link_after_commit() -> None:
    """With no beat to run the linker (no broker), link new events once the writer commits."""
    if settings.AUDIT_LINK_ON_COMMIT:
        transaction.on_commit(audit_chain_extend)


# --- linking ------------------------------------------------------------------------------

# The table name is the model's own constant, never input.
_HEAD_QUERY = f"SELECT seq, hash FROM {AUDIT_TABLE} WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"  # noqa: S608


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
    """Give every unlinked event, oldest first, the next place in the chain. Returns how many."""
    linked = 0
    while True:
        with transaction.atomic():
            seq, prev_hash = _lock_and_read_head()
            pending = AuditEvent.objects.filter(seq__isnull=True).order_by("id")
            links = []
            for event in pending.values_list(*CONTENT_FIELDS, named=True)[:batch_size]:
                seq += 1
                link_hash = chain_hash(prev_hash, event_content(event._replace(seq=seq)))
                links.append((event.id, seq, prev_hash, link_hash))
                prev_hash = link_hash
            _links_write(links)
        linked += len(links)
        if len(links) < batch_size:
            return linked


def _links_write(links: list[tuple[int, int, str, str]]) -> None:
    if connection.vendor != "postgresql":
        events = [AuditEvent(id=id_, seq=seq, prev_hash=prev, hash=hash_) for id_, seq, prev, hash_ in links]
        AuditEvent.objects.bulk_update(events, ["seq", "prev_hash", "hash"], batch_size=500)
        return
    if not links:
        return
    # One statement for the whole batch. Django's bulk_update builds a CASE of every row
    # for each column: ~1 ms of CPU per event, the linker's whole cost at scoring rates.
    ids, seqs, prev_hashes, hashes = (list(column) for column in zip(*links, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AUDIT_TABLE} AS event SET seq = link.seq, prev_hash = link.prev_hash, "  # noqa: S608
            "hash = link.hash FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) "
            "AS link(id, seq, prev_hash, hash) WHERE event.id = link.id",
            [ids, seqs, prev_hashes, hashes],
        )


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
