"""Reads for the scorecard and the threshold what-if: what the database counts, and the statistics
of `outcomes/scorecard.py` over those counts.

The database does the counting: at 1,000,000 predictions and 200,000 outcomes, bringing the rows
into Python costs seconds where grouped counts cost tenths of one (bench/README.md, "Quality").
Five grouped queries, each read from an index that holds every column it needs (predictions
migration 0010): predictions by week, confidence bucket and label; predictions with an outcome
by bucket, calibration bin, labels, status and review reason; decisions by reviewer, blindness
and review reason; the medians; and the audit sample's few rows. The rules (what counts as
"final", as the reviewed band, as an error) are applied in Python to those counts, in one place
each, below. A selector, like every read: keyword-only, `<entity>_<action>`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    Expression,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Floor, Least, TruncWeek
from django.utils import timezone

import reviewapp.errors
from outcomes import scorecard
from predictions.models import ModelVersion, Prediction
from predictions.selectors import model_version_active
from reviews.models import Decision

# --- the window -------------------------------------------------------------------------

DEFAULT_DAYS = 90  # since defaults to until - 89 days: 90 days, today included
MAX_DAYS = 731  # two years and a day: a leap year's window of two full years fits
CALIBRATION_BINS = 10
FRAUD, LEGIT = Prediction.Label.FRAUD, Prediction.Label.LEGIT
# Who the reviewed band is: predictions a person reviews instead of the model deciding them.
# The audit sample is reviewed too, but to measure the model: its decision changes nothing.
REVIEW_BAND = (Prediction.ReviewReason.LOW_CONFIDENCE, Prediction.ReviewReason.REVIEW_EVERYTHING)
AUDIT = Prediction.ReviewReason.AUDIT_SAMPLE


class InvalidWindow(reviewapp.errors.InvalidInput):
    """A window the scorecard cannot be read over; `errors` names the field."""


@dataclass(frozen=True)
class QualityWindow:
    """Predictions created from `since` to `until`, both dates included, in UTC."""

    since: date
    until: date
    model_version: int | None  # the version number; None for every version
    model_version_id: int | None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the window."""
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def elapsed_days(self, now: datetime) -> float:
        """How much of the window has passed: predictions per day are over this, so a window
        ending today is not diluted by the hours still to come (never less than a minute)."""
        return max((min(self.end, now) - self.start).total_seconds(), 60.0) / 86_400

    def predictions(self) -> QuerySet[Prediction]:
        window = Prediction.objects.filter(created_at__gte=self.start, created_at__lt=self.end)
        if self.model_version_id is not None:
            window = window.filter(model_version_id=self.model_version_id)
        return window

    def decisions(self) -> QuerySet[Decision]:
        """Every decision on a prediction of the window, whenever it was made."""
        window = Decision.objects.filter(
            review_item__prediction__created_at__gte=self.start,
            review_item__prediction__created_at__lt=self.end,
            # Always true of a decided prediction; said, so PostgreSQL reads the window's
            # reviewed predictions from their own index instead of every prediction.
            review_item__prediction__review_reason__isnull=False,
        )
        if self.model_version_id is not None:
            window = window.filter(review_item__prediction__model_version_id=self.model_version_id)
        return window

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "days": self.days,
            "timezone": "UTC",
            "model_version": self.model_version,
        }


def quality_window(
    *,
    since: date | None = None,
    until: date | None = None,
    model_version: int | None = None,
    today: date | None = None,
) -> QualityWindow:
    """The window a request asks for, with the defaults filled in; InvalidWindow names what is wrong.

    until defaults to today (UTC), since to until - 89 days. Both are included. The window may
    not run backwards, span more than MAX_DAYS days or end after tomorrow (a day's grace for
    a caller whose today is ahead of UTC's); a model version must exist.
    """
    today = today or timezone.now().astimezone(UTC).date()
    until = until or today
    if until > today + timedelta(days=1):
        raise InvalidWindow({"until": [f"until ({until}) is in the future; today is {today} (UTC)."]})
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise InvalidWindow({"since": [f"since ({since}) is after until ({until})."]})
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidWindow(
            {"since": [f"The window is {(until - since).days + 1} days; at most {MAX_DAYS}."]}
        )
    version_id = None
    if model_version is not None:
        version_id = ModelVersion.objects.filter(version=model_version).values_list("id", flat=True).first()
        if version_id is None:
            raise InvalidWindow({"model_version": [f"There is no model version {model_version}."]})
    return QualityWindow(since=since, until=until, model_version=model_version, model_version_id=version_id)


# --- SQL pieces -------------------------------------------------------------------------


class WeekStart(TruncWeek):
    """Monday 00:00 UTC of the ISO week. PostgreSQL bins it with date_bin from a Monday, which
    costs half of date_trunc('week', created_at AT TIME ZONE 'UTC') over a million rows."""

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.lhs)
        return f"date_bin('7 days', {sql}, TIMESTAMPTZ '2001-01-01 00:00:00+00')", list(params)


class Median(Aggregate):
    """PostgreSQL's exact median; elsewhere `_medians` computes it in Python."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def _threshold_bucket(field: str) -> Expression:
    """scorecard.threshold_bucket in SQL: how many what-if thresholds are at or below the value.

    PostgreSQL's width_bucket over the thresholds as float8, so each comparison is the one
    Python makes; elsewhere (SQLite: tests, the demo) the same comparisons as a CASE.
    """
    thresholds = list(scorecard.WHAT_IF_THRESHOLDS)
    if connection.vendor == "postgresql":
        return Func(
            F(field),
            Value(thresholds, output_field=ArrayField(FloatField())),
            function="width_bucket",
            output_field=IntegerField(),
        )
    whens = [When(**{f"{field}__lt": threshold}, then=Value(i)) for i, threshold in enumerate(thresholds)]
    return Case(*whens, default=Value(len(thresholds)), output_field=IntegerField())


def _calibration_bin(field: str) -> Expression:
    # floor(score * bins) in double precision, as scorecard.calibration_bin computes it.
    return Least(
        Cast(Floor(F(field) * Value(float(CALIBRATION_BINS))), IntegerField()), Value(CALIBRATION_BINS - 1)
    )


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _medians_in_python(queryset: QuerySet[Any], **durations: Expression) -> dict[str, float | None]:
    """Each duration's median in seconds, the values brought back to Python: what PostgreSQL's
    percentile_cont computes, for the other databases (SQLite: tests, the demo)."""
    rows = queryset.annotate(**durations).values_list(*durations)
    columns = list(zip(*rows, strict=True)) or [()] * len(durations)
    medians = {}
    for name, column in zip(durations, columns, strict=True):
        seconds = [duration.total_seconds() for duration in column if duration is not None]
        medians[name] = statistics.median(seconds) if seconds else None
    return medians


def _duration(later: str, earlier: str) -> Expression:
    return F(later) - F(earlier)


def _handling() -> Expression:
    """How long a decision took: from the claim under which it was made to the decision."""
    return _duration("decided_at", "review_item__claimed_at")


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


# --- what the database counts -----------------------------------------------------------


@dataclass(frozen=True)
class _Volume:
    """Every prediction of the window by ISO week, what-if bucket and model label."""

    week: datetime
    bucket: int
    label: str
    predictions: int
    labelled: int


def _volume(window: QualityWindow) -> list[_Volume]:
    rows = (
        window.predictions()
        .values("label", week=WeekStart("created_at", tzinfo=UTC), bucket=_threshold_bucket("confidence"))
        .annotate(predictions=Count("*"), labelled=Count("outcome_label"))
    )
    return [_Volume(**row) for row in rows]


@dataclass(frozen=True)
class _Labelled:
    """Predictions with an outcome, alike in everything the scorecard tells apart."""

    bucket: int
    calibration_bin: int
    label: str
    final_label: str
    status: str
    review_reason: str | None
    outcome_label: str
    count: int
    score_sum: float
    score_squares: float

    @property
    def final(self) -> str:
        """The final label the scorecard counts: a person's where one decided it. An audit
        sample's decision measures the model and changes nothing, so it stays the model's;
        while a review is pending there is no final label yet, and the model's stands in."""
        if self.review_reason == AUDIT or not self.final_label:
            return self.label
        return self.final_label

    @property
    def pending(self) -> bool:
        return self.status == Prediction.Status.PENDING_REVIEW

    @property
    def in_review_band(self) -> bool:
        """Routed to a person, and decided by one."""
        return self.review_reason in REVIEW_BAND and self.status == Prediction.Status.REVIEWED


def _labelled(window: QualityWindow) -> list[_Labelled]:
    rows = (
        window.predictions()
        .filter(outcome_label__isnull=False)
        .values(
            "label",
            "final_label",
            "status",
            "review_reason",
            "outcome_label",
            bucket=_threshold_bucket("confidence"),
            calibration_bin=_calibration_bin("score"),
        )
        .annotate(count=Count("*"), score_sum=Sum("score"), score_squares=Sum(F("score") * F("score")))
    )
    return [
        _Labelled(
            bucket=row["bucket"],
            calibration_bin=row["calibration_bin"],
            label=row["label"],
            final_label=row["final_label"],
            status=row["status"],
            review_reason=row["review_reason"],
            outcome_label=row["outcome_label"] or "",  # never empty: filtered on
            count=row["count"],
            score_sum=row["score_sum"],
            score_squares=row["score_squares"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class _Reviewer:
    """One reviewer's decisions on the window's predictions, counted."""

    reviewer_name: str
    decisions: int
    labelled: int
    right: int
    overrides: int
    labelled_overrides: int
    right_overrides: int
    # The reviewed band's decisions (not the audit sample's), blind or not
    blind_decisions: int
    blind_labelled: int
    blind_right: int
    sighted_decisions: int
    sighted_labelled: int
    sighted_right: int
    median_seconds: float | None


_OUTCOME = "review_item__prediction__outcome_label"
_LABELLED = Q(**{f"{_OUTCOME}__isnull": False})
_RIGHT = Q(final_label=F(_OUTCOME))  # the decision's label is the outcome's
_OVERRIDE = ~Q(final_label=F("review_item__prediction__label"))
_BAND = Q(review_item__prediction__review_reason__in=REVIEW_BAND)
# The item's blindness: Decision.blind, a copy, may not be there for every decision.
_BLIND = Q(review_item__blind=True)


def _counted(prefix: str, condition: Q | None = None) -> dict[str, Count]:
    """decisions, labelled and right, as aggregates over the decisions that meet `condition`."""

    def where(extra: Q | None) -> Q | None:
        if condition is None:
            return extra
        return condition if extra is None else condition & extra

    return {
        f"{prefix}decisions": Count("pk", filter=where(None)),
        f"{prefix}labelled": Count("pk", filter=where(_LABELLED)),
        f"{prefix}right": Count("pk", filter=where(_RIGHT)),
    }


def _reviewers(window: QualityWindow) -> list[_Reviewer]:
    """Per reviewer in one query, with the median handling time on PostgreSQL."""
    rows = (
        window.decisions()
        .values("reviewer_name")
        .annotate(
            **_counted(""),
            overrides=Count("pk", filter=_OVERRIDE),
            labelled_overrides=Count("pk", filter=_OVERRIDE & _LABELLED),
            right_overrides=Count("pk", filter=_OVERRIDE & _RIGHT),
            **_counted("blind_", _BAND & _BLIND),
            **_counted("sighted_", _BAND & ~_BLIND),
        )
        .order_by("reviewer_name")
    )
    if _on_postgresql():
        with_median = rows.annotate(median=Median(_handling(), output_field=DurationField()))
        return [_reviewer(row, _seconds(row["median"])) for row in with_median]
    return [
        _reviewer(row, _medians_in_python(mine, handling=_handling())["handling"])
        for row in rows
        for mine in [window.decisions().filter(reviewer_name=row["reviewer_name"])]
    ]


def _reviewer(row: Mapping[str, Any], median_seconds: float | None) -> _Reviewer:
    counted = {field.name: row[field.name] for field in fields(_Reviewer) if field.name != "median_seconds"}
    return _Reviewer(**counted, median_seconds=median_seconds)


def _band(window: QualityWindow) -> tuple[scorecard.Accuracy, float | None]:
    """The reviewed band's decisions: their accuracy, and their median handling time."""
    band = window.decisions().filter(_BAND)
    if _on_postgresql():
        row = band.aggregate(**_counted(""), median=Median(_handling(), output_field=DurationField()))
        median = _seconds(row.pop("median"))
    else:
        row = band.aggregate(**_counted(""))
        median = _medians_in_python(band, handling=_handling())["handling"]
    return scorecard.accuracy_counts(**row), median


def _audit_rows(window: QualityWindow) -> list[tuple[bool | None, float]]:
    """(model was wrong, or None without an outcome; inclusion probability) per decided audit sample."""
    rows = (
        window.decisions()
        .filter(
            review_item__prediction__review_reason=AUDIT,
            review_item__prediction__inclusion_probability__gt=0,  # always, for a sample
        )
        .values_list(
            "review_item__prediction__label",
            "review_item__prediction__outcome_label",
            "review_item__prediction__inclusion_probability",
        )
    )
    return [
        (None if outcome is None else label != outcome, float(probability or 1.0))
        for label, outcome, probability in rows
    ]


def _label_delay(window: QualityWindow) -> dict[str, float | None]:
    """Median days from a prediction to its effective outcome: to when it happened upstream, and
    to when it reached us. Over the window's labelled predictions only: those still waiting for
    theirs would add longer delays, so both are lower bounds while coverage is low."""
    labelled = window.predictions().filter(outcome_label__isnull=False)
    delays = {
        "occurred": _duration("outcome_occurred_at", "created_at"),
        "received": _duration("outcome_received_at", "created_at"),
    }
    if _on_postgresql():
        row = labelled.aggregate(
            **{name: Median(delay, output_field=DurationField()) for name, delay in delays.items()}
        )
        medians = {name: _seconds(value) for name, value in row.items()}
    else:
        medians = _medians_in_python(labelled, **delays)
    return {
        f"median_days_to_{name}": None if seconds is None else seconds / 86_400
        for name, seconds in medians.items()
    }


# --- the scorecard ----------------------------------------------------------------------


def _confusion(cells: Iterable[_Labelled], *, final: bool) -> scorecard.Confusion:
    counts = {"true_positives": 0, "false_positives": 0, "false_negatives": 0, "true_negatives": 0}
    for cell in cells:
        said = (cell.final if final else cell.label) == FRAUD
        was = cell.outcome_label == FRAUD
        name = ("true_" if said == was else "false_") + ("positives" if said else "negatives")
        counts[name] += cell.count
    return scorecard.Confusion(**counts)


def _comparison(cells: list[_Labelled]) -> scorecard.LabelComparison:
    return scorecard.LabelComparison(
        model=_confusion(cells, final=False), final=_confusion(cells, final=True)
    )


def _false_positive_reduction(cells: list[_Labelled]) -> scorecard.Estimate:
    removed = kept = added = 0
    for cell in cells:
        if cell.outcome_label == FRAUD:
            continue
        model_fp, final_fp = cell.label == FRAUD, cell.final == FRAUD
        removed += cell.count if model_fp and not final_fp else 0
        kept += cell.count if model_fp and final_fp else 0
        added += cell.count if final_fp and not model_fp else 0
    return scorecard.false_positive_reduction_counts(
        removed=removed, kept=kept, added=added, total=sum(cell.count for cell in cells)
    )


def _calibration(cells: list[_Labelled]) -> scorecard.Calibration:
    counts, score_sums, fraud_sums = (
        [0] * CALIBRATION_BINS,
        [0.0] * CALIBRATION_BINS,
        [0.0] * CALIBRATION_BINS,
    )
    squared_errors = 0.0
    for cell in cells:
        fraud = 1.0 if cell.outcome_label == FRAUD else 0.0
        counts[cell.calibration_bin] += cell.count
        score_sums[cell.calibration_bin] += cell.score_sum
        fraud_sums[cell.calibration_bin] += fraud * cell.count
        # Σ(s - y)² = Σs² - 2yΣs + y²n, y the same for the whole cell
        squared_errors += cell.score_squares - 2 * fraud * cell.score_sum + fraud * cell.count
    return scorecard.calibration_sums(
        counts=counts,
        score_sums=score_sums,
        fraud_sums=fraud_sums,
        squared_error_sum=max(squared_errors, 0.0),
    )


def _accuracy(reviewers: list[_Reviewer], *, blind: bool) -> scorecard.Accuracy:
    prefix = "blind_" if blind else "sighted_"
    return scorecard.accuracy_counts(
        **{
            name: sum(getattr(r, prefix + name) for r in reviewers)
            for name in ("decisions", "labelled", "right")
        }
    )


def _analysts(reviewers: list[_Reviewer]) -> tuple[scorecard.AnalystSummary, ...]:
    return tuple(
        scorecard.analyst_summary_counts(
            scorecard.AnalystCounts(
                reviewer=r.reviewer_name,
                decisions=r.decisions,
                labelled=r.labelled,
                right=r.right,
                overrides=r.overrides,
                labelled_overrides=r.labelled_overrides,
                right_overrides=r.right_overrides,
                median_seconds=r.median_seconds,
            )
        )
        for r in reviewers
    )


def _weekly(window: QualityWindow, volume: list[_Volume]) -> list[dict[str, Any]]:
    """Predictions and those labelled per ISO week of the window, empty weeks included. The
    first and last weeks count only the window's days of them."""
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for row in volume:
        counts[row.week.astimezone(UTC).date()][0] += row.predictions
        counts[row.week.astimezone(UTC).date()][1] += row.labelled
    monday = window.since - timedelta(days=window.since.weekday())
    weeks = []
    while monday <= window.until:
        predictions, labelled = counts.get(monday, (0, 0))
        year, week, _ = monday.isocalendar()
        weeks.append(
            {
                "week": f"{year}-W{week:02d}",
                "start": monday.isoformat(),
                "predictions": predictions,
                "labelled": labelled,
                "label_coverage": labelled / predictions if predictions else None,
            }
        )
        monday += timedelta(days=7)
    return weeks


def quality_scorecard(*, window: QualityWindow) -> dict[str, Any]:
    """What human review is worth over the window's predictions that have an outcome (docs/quality.md)."""
    volume = _volume(window)
    cells = _labelled(window)
    reviewers = _reviewers(window)
    audit = _audit_rows(window)
    predictions = sum(row.predictions for row in volume)
    labelled = sum(cell.count for cell in cells)
    card = scorecard.Scorecard(
        overall=_comparison(cells),
        reviewed_band=_comparison([cell for cell in cells if cell.in_review_band]),
        false_positive_reduction=_false_positive_reduction(cells),
        audit_sample=scorecard.audit_sample(
            errors=[error for error, _ in audit], inclusion_probabilities=[p for _, p in audit]
        ),
        blind=_accuracy(reviewers, blind=True),
        sighted=_accuracy(reviewers, blind=False),
        analysts=_analysts(reviewers),
        calibration=_calibration(cells),
    )
    return {
        "window": window.as_dict(),
        "predictions": predictions,
        "labelled": labelled,
        "label_coverage": labelled / predictions if predictions else None,
        "pending_reviews": sum(cell.count for cell in cells if cell.pending),
        "label_delay": _label_delay(window),
        "weekly": _weekly(window, volume),
        **card.as_dict(),
    }


# --- the threshold what-if --------------------------------------------------------------

# The what-if's parameters when a request leaves them out, and their bounds.
DEFAULT_ANALYST_HOURS_PER_DAY = 8.0  # one analyst's working day
DEFAULT_COST_FALSE_POSITIVE = 5.0  # a good customer stopped: a support call, a lost sale
DEFAULT_COST_MISSED_FRAUD = 100.0  # a fraud let through: a typical chargeback
MAX_ANALYST_HOURS_PER_DAY = 24.0 * 1000  # a thousand analysts around the clock
MAX_COST = 1e9
# Stand-ins while the window has no decision to measure them on; the answer says when they are used.
ASSUMED_HUMAN_ACCURACY = 0.9
ASSUMED_MEDIAN_SECONDS = 120.0


def _assumptions(window: QualityWindow) -> dict[str, Any]:
    """Human accuracy and handling time, measured on the reviewed band's decisions in the window."""
    measured, median_seconds = _band(window)
    return {
        "human_accuracy": ASSUMED_HUMAN_ACCURACY if measured.accuracy is None else measured.accuracy,
        "human_accuracy_measured": measured.accuracy is not None,
        "median_seconds": ASSUMED_MEDIAN_SECONDS if median_seconds is None else median_seconds,
        "median_seconds_measured": median_seconds is not None,
        "measured": measured.accuracy is not None and median_seconds is not None,
        "decisions": measured.decisions,
        "labelled_decisions": measured.labelled,
    }


def _strata(volume: list[_Volume], cells: list[_Labelled]) -> list[scorecard.Stratum]:
    predictions: dict[tuple[int, bool], int] = defaultdict(int)
    labelled: dict[tuple[int, bool], int] = defaultdict(int)
    frauds: dict[tuple[int, bool], int] = defaultdict(int)
    for row in volume:
        predictions[row.bucket, row.label == FRAUD] += row.predictions
    for cell in cells:
        labelled[cell.bucket, cell.label == FRAUD] += cell.count
        frauds[cell.bucket, cell.label == FRAUD] += cell.count if cell.outcome_label == FRAUD else 0
    return [
        scorecard.Stratum(
            bucket, model_fraud, count, labelled[bucket, model_fraud], frauds[bucket, model_fraud]
        )
        for (bucket, model_fraud), count in sorted(predictions.items())
    ]


def quality_what_if(
    *,
    window: QualityWindow,
    analyst_hours_per_day: float = DEFAULT_ANALYST_HOURS_PER_DAY,
    cost_false_positive: float = DEFAULT_COST_FALSE_POSITIVE,
    cost_missed_fraud: float = DEFAULT_COST_MISSED_FRAUD,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What each review threshold from 0.50 to 0.99 would have cost over the window (docs/quality.md).

    Volumes count every prediction of the window; false positives, misses and costs are
    estimated from those with an outcome and scaled to every prediction, stratum by stratum
    (scorecard.threshold_what_if_strata). Reviews and hours are per day of the window's
    elapsed part; the other figures are totals over the window.
    """
    now = now or timezone.now()
    assumptions = _assumptions(window)
    what_if = scorecard.threshold_what_if_strata(
        strata=_strata(_volume(window), _labelled(window)),
        days=window.elapsed_days(now),
        median_seconds=assumptions["median_seconds"],
        human_accuracy=assumptions["human_accuracy"],
        cost_false_positive=cost_false_positive,
        cost_missed_fraud=cost_missed_fraud,
        team_hours_per_day=analyst_hours_per_day,
    )
    active = model_version_active()
    return {
        "window": {**window.as_dict(), "elapsed_days": window.elapsed_days(now)},
        "parameters": {
            "analyst_hours_per_day": analyst_hours_per_day,
            "cost_false_positive": cost_false_positive,
            "cost_missed_fraud": cost_missed_fraud,
        },
        "assumptions": assumptions,
        "active_model": None
        if active is None
        else {"version": active.version, "review_threshold": active.review_threshold},
        **what_if.as_dict(),
    }
