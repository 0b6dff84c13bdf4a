"""Reads on the audit log: a request's timeline, the newest events, the chain's verification."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import Count, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone

from audit.chain import GENESIS_HASH, chain_hash
from audit.models import AuditEvent, AuditLink, AuditPending
from audit.sources import EVENT, ChainSource, chain_source, chain_sources


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_hash: str
    unlinked: int = 0
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and not self.problem


def _links(batch_size: int) -> Iterator[list[AuditLink]]:
    last = 0
    while True:
        batch = list(AuditLink.objects.filter(seq__gt=last).order_by("seq")[:batch_size])
        if not batch:
            return
        yield batch
        last = batch[-1].seq


def audit_chain_verify(*, batch_size: int = 5000) -> ChainReport:
    """Walk the chain from the start; report the first link that does not follow.

    Then count: every row of every linked kind must be linked or queued for linking, so a row
    deleted together with its queue entry, or its link, is found even where nothing follows it.
    """
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for batch in _links(batch_size):
        rows = {
            source.name: source.rows(link.object_id for link in batch if link.source == source.name)
            for source in _sources_of(batch)
        }
        for link in batch:
            problem = _link_problem(link, expected_seq, prev_hash, rows)
            if problem:
                return ChainReport(checked, prev_hash, broken_seq=expected_seq, problem=problem)
            prev_hash, expected_seq, checked = link.hash, expected_seq + 1, checked + 1
    unlinked, problem = _count_problem()
    return ChainReport(checked, prev_hash, unlinked=unlinked, problem=problem)


def _sources_of(batch: list[AuditLink]) -> list[ChainSource]:
    return [chain_source(name) for name in {link.source for link in batch}]


def _link_problem(link: AuditLink, expected_seq: int, prev_hash: str, rows: dict[str, dict]) -> str:
    if link.seq != expected_seq:
        return f"event #{expected_seq} is missing"
    if link.prev_hash != prev_hash:
        return "its prev_hash does not match the event before it"
    source = chain_source(link.source)
    row = rows[link.source].get(link.object_id)
    if row is None:
        return f"the {source.label} it covers (#{link.object_id}) is missing"
    if link.hash != chain_hash(prev_hash, source.content(row, link.seq)):
        return "its content does not match its hash"
    return ""


def _count_problem() -> tuple[int, str]:
    """How many rows wait to be linked, and a mismatch of rows against links and queue entries.

    One statement, so one snapshot: a linker moving entries to links meanwhile changes nothing.
    """
    sources = chain_sources()
    link_table, pending_table = AuditLink._meta.db_table, AuditPending._meta.db_table
    # Table names are the models' own; the kinds are bound as parameters.
    counts = ", ".join(
        f"(SELECT count(*) FROM {source.table}), "  # noqa: S608
        f"(SELECT count(*) FROM {link_table} WHERE source = %s), "
        f"(SELECT count(*) FROM {pending_table} WHERE source = %s)"
        for source in sources
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {counts}", [name for source in sources for name in (source.name, source.name)]
        )
        figures = cursor.fetchone()
    unlinked, problems = 0, []
    for index, source in enumerate(sources):
        stored, linked, queued = figures[3 * index : 3 * index + 3]
        unlinked += queued
        if stored != linked + queued:
            problems.append(
                f"{stored} {source.label} rows against {linked} linked and {queued} queued: "
                f"{abs(stored - linked - queued)} {'deleted' if stored < linked + queued else 'never queued'}"
            )
    return unlinked, "; ".join(problems)


def _with_links(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Each event with its place in the chain (`seq`, `hash`: None until linked)."""
    link = AuditLink.objects.filter(source=EVENT, object_id=OuterRef("id"))
    return events.annotate(seq=Subquery(link.values("seq")), hash=Subquery(link.values("hash")))


def audit_events_for_request(*, request_id: str) -> list[AuditEvent]:
    """The events of one request, oldest first."""
    return list(_with_links(AuditEvent.objects.filter(request_id=request_id)).order_by("id"))


def audit_events_page(*, page: int, page_size: int) -> list[AuditEvent]:
    """Newest first; one row more than a page, to tell whether another page follows."""
    start = (page - 1) * page_size
    return list(_with_links(AuditEvent.objects.order_by("-id"))[start : start + page_size + 1])


@dataclass(frozen=True)
class LinkerBacklog:
    rows: int  # written, not linked yet
    oldest_age: timedelta | None  # how long the oldest of them has waited; None when none waits


def audit_linker_backlog() -> LinkerBacklog:
    """How much the linker has still to link, and how far behind it is: one query."""
    backlog = AuditPending.objects.aggregate(rows=Count("id"), oldest=Min("queued_at"))
    oldest = backlog["oldest"]
    return LinkerBacklog(
        rows=backlog["rows"],
        oldest_age=None if oldest is None else max(timezone.now() - oldest, timedelta(0)),
    )


def audit_link_of(*, source: str, object_id: int) -> AuditLink | None:
    """The link covering one row, or None while it waits to be linked."""
    return AuditLink.objects.filter(source=source, object_id=object_id).first()
