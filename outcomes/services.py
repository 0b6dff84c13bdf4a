"""Writes on outcomes: what upstream learned later about a prediction, each recorded once.

An outcome is identified by its prediction, source and reference (empty when upstream has
none). The same report again stores nothing and is answered with the stored outcome; the same
identity with another label or time is a conflict. Every stored outcome is an
`outcome.recorded` audit event, written in the same transaction. Reports of one outcome that
race each other are settled by the unique constraint `outcome_identity`: the loser reads the
winner's row and is answered as a repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

import reviewapp.errors
from audit.models import AuditEvent
from audit.services import Event, audit_events_record
from outcomes.imports import ImportRow
from outcomes.models import Outcome
from predictions import services as prediction_services
from predictions.models import ApiKey, Prediction
from predictions.services import ReportedOutcome
from predictions.validators import REQUEST_ID_PATTERN, request_id_validator
from reviews.selectors import predictions_visible_to


class InvalidInput(reviewapp.errors.InvalidInput):
    """A report that breaks the rules; `errors` is DRF's field-error shape."""


class Conflict(reviewapp.errors.Conflict):
    """The outcome is already recorded with another label or time."""


# Upstream's clock may run a little ahead of ours: a time this close to now is not "in the future".
CLOCK_LEEWAY = timedelta(minutes=1)
REFERENCE_MAX_LENGTH = 128  # Outcome.reference's max_length (a test holds them equal)
LABELS = frozenset(Prediction.Label.values)
SOURCES = frozenset(Outcome.Source.values)
NO_PREDICTION = "There is no prediction with this request_id."
NUL_MESSAGE = "Null characters are not allowed."
# An import stores its rows a chunk at a time: one look-up and one bulk insert per chunk, and
# never more than a chunk in memory.
IMPORT_CHUNK_ROWS = 1000
BAD_ROWS_KEPT = 1000  # an import's summary lists this many bad rows; it counts them all

Identity = tuple[int, str, str]  # (prediction id, source, reference)


@dataclass(frozen=True)
class OutcomeReport:
    """One outcome as upstream reports it, not yet checked."""

    request_id: str
    label: str
    source: str = Outcome.Source.OTHER
    occurred_at: datetime | None = None  # None: now
    reference: str = ""


@dataclass(frozen=True)
class _Candidate:
    """A report that passed the checks, with its prediction and its time settled."""

    report: OutcomeReport
    prediction: Prediction
    occurred_at: datetime

    @property
    def identity(self) -> Identity:
        return (self.prediction.pk, self.report.source, self.report.reference)


# --- one outcome, or a batch: all or nothing ----------------------------------------------


def outcome_record(
    *,
    api_key: ApiKey | None,
    actor: str,
    request_id: str,
    label: str,
    source: str = Outcome.Source.OTHER,
    occurred_at: datetime | None = None,
    reference: str = "",
) -> tuple[Outcome, bool]:
    """Record one outcome of a prediction the caller can see; return (outcome, created).

    `api_key` is the reporting key, which may report only on its own predictions; None for a
    person or the command line, who may report on any. A repeat returns the stored outcome.
    """
    report = OutcomeReport(request_id, label, source, occurred_at, reference)
    results, created = outcomes_record_batch(api_key=api_key, actor=actor, reports=[report], single=True)
    return results[0], bool(created)


def outcomes_record_batch(
    *, api_key: ApiKey | None, actor: str, reports: Sequence[OutcomeReport], single: bool = False
) -> tuple[list[Outcome], list[Outcome]]:
    """Record every report or none; return (outcomes in input order, the newly stored ones).

    Raises InvalidInput or Conflict with errors keyed by item index ({"items": {"3": ...}}),
    or, for `single`, the one item's errors.
    """
    now = timezone.now()
    errors = [_report_errors(report, now=now) for report in reports]
    predictions = _visible_predictions(
        api_key, {r.request_id for r, e in zip(reports, errors, strict=True) if "request_id" not in e}
    )
    candidates: list[_Candidate] = []
    first_item: dict[Identity, int] = {}
    for index, (report, item_errors) in enumerate(zip(reports, errors, strict=True)):
        prediction = predictions.get(report.request_id)
        if prediction is None:
            item_errors.setdefault("request_id", [NO_PREDICTION])
        if item_errors or prediction is None:
            continue
        candidate = _Candidate(report, prediction, report.occurred_at or now)
        if candidate.identity in first_item:
            item_errors["reference"] = [
                f"Repeats the outcome of item {first_item[candidate.identity]} "
                "(the same request_id, source and reference)."
            ]
            continue
        first_item[candidate.identity] = index
        candidates.append(candidate)
    if any(errors):
        by_index = {str(index): item_errors for index, item_errors in enumerate(errors) if item_errors}
        raise InvalidInput(by_index["0"] if single else {"items": by_index})
    try:
        return _store_all(candidates, api_key=api_key, actor=actor, single=single)
    except IntegrityError:
        # A concurrent report stored one of these identities first; now its row is visible.
        return _store_all(candidates, api_key=api_key, actor=actor, single=single)


def _store_all(
    candidates: list[_Candidate], *, api_key: ApiKey | None, actor: str, single: bool
) -> tuple[list[Outcome], list[Outcome]]:
    stored = _stored_outcomes(candidates)
    conflicts = {
        str(index): differences
        for index, candidate in enumerate(candidates)
        if (existing := stored.get(candidate.identity)) is not None
        and (differences := _differences(existing.label, existing.occurred_at, candidate.report))
    }
    if conflicts:
        raise Conflict(conflicts["0"] if single else {"items": conflicts})
    created = _insert([c for c in candidates if c.identity not in stored], api_key=api_key, actor=actor)
    by_identity = {**stored, **{_identity(outcome): outcome for outcome in created}}
    return [by_identity[candidate.identity] for candidate in candidates], created


# --- importing a file's rows ----------------------------------------------------------------


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass
class ImportSummary:
    stored: int = 0
    unchanged: int = 0  # repeats of stored outcomes
    bad: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)  # the first BAD_ROWS_KEPT of them

    def bad_row_add(self, row: BadRow) -> None:
        self.bad += 1
        if len(self.bad_rows) < BAD_ROWS_KEPT:
            self.bad_rows.append(row)


def outcomes_import(
    *,
    rows: Iterable[ImportRow],
    actor: str,
    chunk_rows: int = IMPORT_CHUNK_ROWS,
    on_bad_row: Callable[[BadRow], None] | None = None,
) -> ImportSummary:
    """Store the good rows of a file (outcomes.imports.csv_rows) and count the rest.

    Rows are taken from the iterable a chunk at a time, each chunk stored in its own
    transaction with bulk inserts, so any number of rows costs the memory of one chunk. A
    repeat of a stored outcome counts as unchanged; a row that breaks a rule, names no
    prediction or conflicts with a stored outcome (or an earlier row) is a bad row, passed to
    `on_bad_row` as it is found. Imports are made by people: any prediction may be named.
    """
    summary = ImportSummary()

    def bad(line: int, reason: str) -> None:
        row = BadRow(line, reason)
        summary.bad_row_add(row)
        if on_bad_row is not None:
            on_bad_row(row)

    iterator = iter(rows)
    while chunk := list(islice(iterator, chunk_rows)):
        _import_chunk(chunk, actor=actor, summary=summary, bad=bad)
    return summary


def _import_chunk(
    chunk: list[ImportRow], *, actor: str, summary: ImportSummary, bad: Callable[[int, str], None]
) -> None:
    now = timezone.now()
    found: list[BadRow] = []  # reported in line order once the chunk is stored
    reports: list[tuple[int, OutcomeReport]] = []
    for row in chunk:
        if row.error:
            found.append(BadRow(row.line, row.error))
        elif errors := (parsed := _report_from_row(row.values, now=now))[1]:
            found.append(BadRow(row.line, _reason(errors)))
        else:
            reports.append((row.line, parsed[0]))
    predictions = _visible_predictions(None, {report.request_id for _, report in reports})
    candidates: list[tuple[int, _Candidate]] = []
    first_row: dict[Identity, tuple[int, _Candidate]] = {}
    for line, report in reports:
        prediction = predictions.get(report.request_id)
        if prediction is None:
            found.append(BadRow(line, f"request_id: {NO_PREDICTION}"))
            continue
        candidate = _Candidate(report, prediction, report.occurred_at or now)
        if candidate.identity not in first_row:
            first_row[candidate.identity] = (line, candidate)
            candidates.append((line, candidate))
            continue
        first_line, first = first_row[candidate.identity]
        if differences := _differences(first.report.label, first.occurred_at, report):
            found.append(BadRow(line, f"Conflicts with line {first_line}: {_reason(differences)}"))
        else:
            summary.unchanged += 1
    try:
        conflicts = _import_candidates(candidates, actor=actor, summary=summary)
    except IntegrityError:
        # A concurrent writer stored one of these outcomes first; sort the chunk again.
        conflicts = _import_candidates(candidates, actor=actor, summary=summary)
    for bad_row in sorted([*found, *conflicts], key=lambda bad_row: bad_row.line):
        bad(bad_row.line, bad_row.reason)


def _import_candidates(
    candidates: list[tuple[int, _Candidate]], *, actor: str, summary: ImportSummary
) -> list[BadRow]:
    """Store the new candidates and count the repeats; return the conflicting ones."""
    stored = _stored_outcomes([candidate for _, candidate in candidates])
    new, unchanged, conflicts = [], 0, []
    for line, candidate in candidates:
        existing = stored.get(candidate.identity)
        if existing is None:
            new.append(candidate)
        elif differences := _differences(existing.label, existing.occurred_at, candidate.report):
            conflicts.append(BadRow(line, f"Conflicts with the stored outcome: {_reason(differences)}"))
        else:
            unchanged += 1
    created = _insert(new, api_key=None, actor=actor)  # raises before anything is counted
    summary.stored += len(created)
    summary.unchanged += unchanged
    return conflicts


def _report_from_row(
    values: Mapping[str, str], *, now: datetime
) -> tuple[OutcomeReport, dict[str, list[str]]]:
    """A file's row as a report, and what is wrong with it (empty when nothing is)."""
    occurred_text = values.get("occurred_at", "")
    occurred_at = _parsed_time(occurred_text) if occurred_text else None
    report = OutcomeReport(
        request_id=values.get("request_id", ""),
        label=values.get("label", ""),
        source=values.get("source") or Outcome.Source.OTHER,
        occurred_at=occurred_at,
        reference=values.get("reference", ""),
    )
    errors = _report_errors(report, now=now)
    for name in ("request_id", "label"):
        if not values.get(name):
            errors[name] = ["This field is required."]
    if occurred_text and occurred_at is None:
        errors["occurred_at"] = ["Not a date and time: use ISO 8601, e.g. 2026-11-27T14:05:00Z."]
    return report, errors


def _parsed_time(text: str) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (a naive one is in TIME_ZONE, as the API takes
    it); None when it is not one."""
    try:
        value = parse_datetime(text)
        if value is None:
            return None
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):  # a 30th of February; a time outside datetime's range in UTC
        return None


def _reason(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


# --- the rules, shared by every way in ------------------------------------------------------


def _report_errors(report: OutcomeReport, *, now: datetime) -> dict[str, list[str]]:
    """What is wrong with a report by itself, by field (empty when nothing is)."""
    errors: dict[str, list[str]] = {}
    for name in ("request_id", "label", "source", "reference"):
        if "\x00" in getattr(report, name):
            errors[name] = [NUL_MESSAGE]
    if "request_id" not in errors and not REQUEST_ID_PATTERN.fullmatch(report.request_id):
        errors["request_id"] = [str(request_id_validator.message)]
    if "label" not in errors and report.label not in LABELS:
        errors["label"] = [f'"{_shown(report.label)}" is not a valid choice.']
    if "source" not in errors and report.source not in SOURCES:
        errors["source"] = [f'"{_shown(report.source)}" is not a valid choice.']
    if "reference" not in errors and len(report.reference) > REFERENCE_MAX_LENGTH:
        errors["reference"] = [f"Ensure this field has no more than {REFERENCE_MAX_LENGTH} characters."]
    if report.occurred_at is not None:
        if timezone.is_naive(report.occurred_at):
            errors["occurred_at"] = ["Give the time with its time zone."]
        elif report.occurred_at > now + CLOCK_LEEWAY:
            errors["occurred_at"] = ["Must not be in the future."]
    return errors


def _shown(value: str) -> str:
    # A refused value is echoed back; a megabyte of it would only fill the log and the page.
    return value if len(value) <= 40 else f"{value[:40]}…"


def _differences(label: str, occurred_at: datetime | None, report: OutcomeReport) -> dict[str, list[str]]:
    """How a report differs from the outcome already recorded under its identity.

    A report without a time does not differ in time: "now" is only its default.
    """
    differences: dict[str, list[str]] = {}
    if report.label != label:
        differences["label"] = [f"This outcome is already recorded with the label '{label}'."]
    if occurred_at is not None and report.occurred_at is not None and report.occurred_at != occurred_at:
        differences["occurred_at"] = [
            f"This outcome is already recorded as occurring at {occurred_at.isoformat()}."
        ]
    return differences


# --- reading and writing the rows -----------------------------------------------------------


def _visible_predictions(api_key: ApiKey | None, request_ids: set[str]) -> dict[str, Prediction]:
    """The predictions the caller can see among these request IDs (well-formed ones only)."""
    if not request_ids:
        return {}
    visible = predictions_visible_to(api_key=api_key).select_related(None).only("pk", "request_id")
    return {prediction.request_id: prediction for prediction in visible.filter(request_id__in=request_ids)}


def _identity(outcome: Outcome) -> Identity:
    return (outcome.prediction_id, outcome.source, outcome.reference)


def _stored_outcomes(candidates: list[_Candidate]) -> dict[Identity, Outcome]:
    """The stored outcomes with the candidates' identities, each with its prediction attached."""
    if not candidates:
        return {}
    predictions = {candidate.prediction.pk: candidate.prediction for candidate in candidates}
    wanted = {candidate.identity for candidate in candidates}
    # A superset, found through outcome_identity's index on all three columns (a prediction
    # with many outcomes is not read whole for each chunk of an import).
    found = Outcome.objects.filter(
        prediction_id__in=predictions,
        source__in={candidate.report.source for candidate in candidates},
        reference__in={candidate.report.reference for candidate in candidates},
    )
    stored = {}
    for outcome in found:
        if _identity(outcome) in wanted:
            outcome.prediction = predictions[outcome.prediction_id]
            stored[_identity(outcome)] = outcome
    return stored


def _insert(candidates: list[_Candidate], *, api_key: ApiKey | None, actor: str) -> list[Outcome]:
    """Store new outcomes and their audit events in one transaction."""
    if not candidates:
        return []
    outcomes = [
        Outcome(
            prediction=candidate.prediction,
            label=candidate.report.label,
            source=candidate.report.source,
            reference=candidate.report.reference,
            occurred_at=candidate.occurred_at,
            api_key=api_key,
            reported_by=actor[:200],
        )
        for candidate in candidates
    ]
    with transaction.atomic():
        Outcome.objects.bulk_create(outcomes)
        prediction_services.predictions_outcome_apply(
            outcomes=[
                ReportedOutcome(
                    prediction_id=outcome.prediction_id,
                    label=outcome.label,
                    source=outcome.source,
                    occurred_at=outcome.occurred_at,
                    received_at=outcome.received_at,
                )
                for outcome in outcomes
            ]
        )
        audit_events_record(events=[_recorded_event(outcome) for outcome in outcomes])
    return outcomes


def _recorded_event(outcome: Outcome) -> Event:
    return Event(
        action=AuditEvent.Action.OUTCOME_RECORDED,
        actor=outcome.reported_by,
        object_type="outcome",
        object_id=outcome.pk,
        request_id=outcome.prediction.request_id,
        after=_recorded_after(outcome),
    )


def _recorded_after(outcome: Outcome) -> dict[str, Any]:
    """What the `outcome.recorded` audit event records of an outcome."""
    return {
        "prediction": outcome.prediction_id,
        "request_id": outcome.prediction.request_id,
        "label": outcome.label,
        "source": outcome.source,
        "reference": outcome.reference,
        # Written here, not by the JSON encoder, which would cut them to milliseconds.
        "occurred_at": outcome.occurred_at.isoformat(),
        "received_at": outcome.received_at.isoformat(),
        "api_key": outcome.api_key_id,
        "reported_by": outcome.reported_by,
    }
