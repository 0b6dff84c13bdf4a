"""The tamper-evident audit log: write events into the hash chain, and verify the chain.

Writers are serialised (a PostgreSQL advisory lock held to the end of the transaction;
SQLite's write lock elsewhere), so two transactions never extend the same head and the
chain never forks. Events are written in the same transaction as the change they record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from reviews.models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant works; it only has to be the same for every writer.
CHAIN_LOCK_ID = 7_410_001


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


def actor_name(*, user=None, api_key=None) -> str:
    """How an actor is written in the log: `user:NAME` or `api_key:NAME`."""
    if api_key is not None:
        return f"api_key:{api_key.name}"
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    return "system"


def cli_actor() -> str:
    """The operator running a management command, as the log names them."""
    import getpass

    return f"cli:{getpass.getuser()}"


def canonical(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, dates as ISO 8601."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def plain(value: Any) -> Any:
    """The JSON form the database will hand back, so the hash can be recomputed from a row."""
    return json.loads(canonical(value))


def event_content(event: AuditEvent) -> str:
    return canonical(
        {
            "seq": event.seq,
            "created_at": event.created_at.isoformat(),
            "action": event.action,
            "actor": event.actor,
            "request_id": event.request_id,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "before": event.before,
            "after": event.after,
        }
    )


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])


def audit_events_record(*, events: list[Event]) -> list[AuditEvent]:
    """Append events to the chain, inside the caller's transaction."""
    if not events:
        return []
    with transaction.atomic():
        _lock_chain()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = head or (0, GENESIS_HASH)
        now = timezone.now()
        rows = []
        for event in events:
            seq += 1
            row = AuditEvent(
                seq=seq,
                created_at=event.created_at or now,
                action=event.action,
                actor=event.actor[:200],
                request_id=event.request_id or "",
                object_type=event.object_type,
                object_id=str(event.object_id),
                before=plain(event.before),
                after=plain(event.after),
                prev_hash=prev_hash,
            )
            row.hash = prev_hash = chain_hash(prev_hash, event_content(row))
            rows.append(row)
        return AuditEvent.objects.bulk_create(rows)


def audit_event_record(**fields: Any) -> AuditEvent:
    return audit_events_record(events=[Event(**fields)])[0]


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _rows(batch_size: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq")[:batch_size])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq


def audit_chain_verify() -> ChainReport:
    """Walk the chain from the start; report the first event that does not follow."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for event in _rows():
        if event.seq != expected_seq:
            return ChainReport(checked, prev_hash, expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(
                checked, prev_hash, event.seq, "its prev_hash does not match the event before it"
            )
        if event.hash != chain_hash(prev_hash, event_content(event)):
            return ChainReport(checked, prev_hash, event.seq, "its content does not match its hash")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return ChainReport(checked, prev_hash)


def audit_events_for(*, request_id: str) -> list[AuditEvent]:
    """The timeline of one prediction, oldest first."""
    return list(AuditEvent.objects.filter(request_id=request_id).order_by("seq"))


def audit_events_page(*, page: int, page_size: int) -> list[AuditEvent]:
    """Newest first; one row more than a page, to tell whether another page follows."""
    start = (page - 1) * page_size
    return list(AuditEvent.objects.order_by("-seq")[start : start + page_size + 1])
