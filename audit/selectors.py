"""Reads on the audit log: a prediction's timeline, the newest events, the chain's verification."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from audit.chain import GENESIS_HASH, chain_hash, event_content
from audit.models import AuditEvent


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
        last = batch[-1].seq or last


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


def audit_events_for_request(*, request_id: str) -> list[AuditEvent]:
    """The timeline of one prediction, oldest first."""
    return list(AuditEvent.objects.filter(request_id=request_id).order_by("id"))


def audit_events_page(*, page: int, page_size: int) -> list[AuditEvent]:
    """Newest first; one row more than a page, to tell whether another page follows."""
    start = (page - 1) * page_size
    return list(AuditEvent.objects.order_by("-id")[start : start + page_size + 1])
