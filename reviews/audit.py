"""The tamper-evident audit log: record events, link them into the hash chain, verify it.

Writers only insert, in the same transaction as the change they record, and take no lock.
One linker at a time (a PostgreSQL advisory lock; SQLite's write lock elsewhere) extends
the chain from its head, so the chain never forks; it runs every few seconds from Celery
beat, after each commit when there is no broker, and before every verification.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from reviews.models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant works; it only has to be the same for every linker.
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


def event_content(event: Any) -> str:
    """The canonical text an event's hash covers; `event` is an AuditEvent or a row of its fields."""
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


HEAD_QUERY = "SELECT seq, hash FROM reviews_auditevent WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"


def _lock_and_read_head() -> tuple[int, str]:
    """Take the linkers' lock, then read the chain's head: one round trip on PostgreSQL."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Simple-protocol multi-statement; the lock id is a constant, never user input.
            cursor.execute(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_ID}); {HEAD_QUERY}")
            cursor.nextset()
        else:
            cursor.execute(HEAD_QUERY)
        head = cursor.fetchone()
    return (head[0], head[1]) if head else (0, GENESIS_HASH)


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


def audit_link_after_commit() -> None:
    """With no beat to run the linker (no broker), link new events once the writer commits."""
    if settings.AUDIT_LINK_ON_COMMIT:
        transaction.on_commit(audit_chain_extend)


# What an event's hash covers (see event_content), read without building model instances.
_CONTENT_FIELDS = (
    "id",
    "seq",
    "created_at",
    "action",
    "actor",
    "request_id",
    "object_type",
    "object_id",
    "before",
    "after",
)


def audit_chain_extend(*, batch_size: int = 2000) -> int:
    """Give every unlinked event, oldest first, the next place in the chain. Returns how many."""
    linked = 0
    while True:
        with transaction.atomic():
            seq, prev_hash = _lock_and_read_head()
            pending = AuditEvent.objects.filter(seq__isnull=True).order_by("id")
            links = []
            for event in pending.values_list(*_CONTENT_FIELDS, named=True)[:batch_size]:
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
            "UPDATE reviews_auditevent AS event SET seq = link.seq, prev_hash = link.prev_hash, "
            "hash = link.hash FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) "
            "AS link(id, seq, prev_hash, hash) WHERE event.id = link.id",
            [ids, seqs, prev_hashes, hashes],
        )


def audit_event_record(**fields: Any) -> AuditEvent:
    return audit_events_record(events=[Event(**fields)])[0]


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_hash: str
    unlinked: int = 0
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _linked_rows(batch_size: int = 5000) -> Iterator[AuditEvent]:
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
    for event in _linked_rows():
        if event.seq != expected_seq:
            return ChainReport(
                checked, prev_hash, broken_seq=expected_seq, problem=f"event #{expected_seq} is missing"
            )
        if event.prev_hash != prev_hash:
            return ChainReport(
                checked,
                prev_hash,
                broken_seq=event.seq,
                problem="its prev_hash does not match the event before it",
            )
        if event.hash != chain_hash(prev_hash, event_content(event)):
            return ChainReport(
                checked, prev_hash, broken_seq=event.seq, problem="its content does not match its hash"
            )
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return ChainReport(checked, prev_hash, unlinked=AuditEvent.objects.filter(seq__isnull=True).count())


def audit_events_for(*, request_id: str) -> list[AuditEvent]:
    """The timeline of one prediction, oldest first."""
    return list(AuditEvent.objects.filter(request_id=request_id).order_by("id"))


def audit_events_page(*, page: int, page_size: int) -> list[AuditEvent]:
    """Newest first; one row more than a page, to tell whether another page follows."""
    start = (page - 1) * page_size
    return list(AuditEvent.objects.order_by("-id")[start : start + page_size + 1])
