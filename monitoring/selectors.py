"""Reads: the latest drift report, the worker heartbeat, the monitoring page's aggregates.

Every figure on the page comes from a handful of aggregate queries whose number does not
grow with the data: one per table, never one per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.conf import settings
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from monitoring.models import DriftReport, WorkerHeartbeat
from predictions.models import ModelVersion, Prediction
from reviews.models import Decision, ReviewItem

# Histogram edges: scores over [0, 1]; confidence, max(p, 1 - p), over [0.5, 1].
SCORE_EDGES = tuple(round(0.1 * i, 2) for i in range(11))
CONFIDENCE_EDGES = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))


def drift_report_latest() -> DriftReport | None:
    """The newest report on the active version, with its feature rows (two queries)."""
    return (
        DriftReport.objects.filter(model_version__status=ModelVersion.Status.ACTIVE)
        .select_related("model_version")
        .prefetch_related("features")
        .order_by("-created_at")
        .first()
    )


def worker_heartbeat() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.filter(pk=1).first()


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


# --- predictions ------------------------------------------------------------------------


@dataclass(frozen=True)
class HourVolume:
    hour: datetime
    total: int
    review: int


def prediction_volume_by_hour(*, now: datetime, hours: int = 24) -> list[HourVolume]:
    """Predictions per hour over the last `hours` hours, oldest first, empty hours included."""
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    rows = (
        Prediction.objects.filter(created_at__gte=first)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(total=Count("pk"), review=Count("pk", filter=Q(routing=Prediction.Routing.REVIEW)))
    )
    by_hour = {row["hour"]: row for row in rows}
    volume = []
    for step in range(hours):
        hour = first + timedelta(hours=step)
        row = by_hour.get(hour, {"total": 0, "review": 0})
        volume.append(HourVolume(hour, row["total"], row["review"]))
    return volume


def _bin_counts(field: str, edges: tuple[float, ...]) -> dict[str, Count]:
    """Filtered counts, one per bin; the last bin includes its upper edge."""
    last = len(edges) - 2
    counts = {}
    for i, (low, high) in enumerate(pairwise(edges)):
        upper = Q(**{f"{field}__lte": high}) if i == last else Q(**{f"{field}__lt": high})
        counts[f"{field}_{i}"] = Count("pk", filter=Q(**{f"{field}__gte": low}) & upper)
    return counts


@dataclass(frozen=True)
class PredictionStats:
    total: int
    review: int
    score_bins: list[int]
    confidence_bins: list[int]

    @property
    def review_share(self) -> float | None:
        return self.review / self.total if self.total else None


def prediction_stats(*, since: datetime) -> PredictionStats:
    """Totals and both histograms in one pass over the window."""
    row = Prediction.objects.filter(created_at__gte=since).aggregate(
        total=Count("pk"),
        review=Count("pk", filter=Q(routing=Prediction.Routing.REVIEW)),
        **_bin_counts("score", SCORE_EDGES),
        **_bin_counts("confidence", CONFIDENCE_EDGES),
    )
    return PredictionStats(
        total=row["total"],
        review=row["review"],
        score_bins=[row[f"score_{i}"] for i in range(len(SCORE_EDGES) - 1)],
        confidence_bins=[row[f"confidence_{i}"] for i in range(len(CONFIDENCE_EDGES) - 1)],
    )


# --- review queue and decisions ---------------------------------------------------------


@dataclass(frozen=True)
class QueueHealth:
    depth: int
    claimed: int
    overdue: int
    oldest: datetime | None
    now: datetime

    @property
    def oldest_age(self) -> timedelta | None:
        return self.now - self.oldest if self.oldest else None

    @property
    def sla(self) -> timedelta:
        return timedelta(minutes=settings.REVIEW_SLA_MINUTES)

    @property
    def past_sla(self) -> bool:
        return self.oldest_age is not None and self.oldest_age > self.sla


def queue_health(*, now: datetime) -> QueueHealth:
    deadline = now - timedelta(minutes=settings.REVIEW_SLA_MINUTES)
    row = ReviewItem.objects.exclude(state=ReviewItem.State.DECIDED).aggregate(
        depth=Count("pk"),
        claimed=Count("pk", filter=Q(state=ReviewItem.State.CLAIMED, lease_expires_at__gte=now)),
        overdue=Count("pk", filter=Q(created_at__lt=deadline)),
        oldest=Min("created_at"),
    )
    return QueueHealth(**row, now=now)


@dataclass(frozen=True)
class DecisionStats:
    total: int
    overridden: int
    recent: int
    recent_overridden: int

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def override_rate(self) -> float | None:
        return self._rate(self.overridden, self.total)

    @property
    def recent_override_rate(self) -> float | None:
        return self._rate(self.recent_overridden, self.recent)


def decision_stats(*, since: datetime) -> DecisionStats:
    overridden = Q(outcome=Decision.Outcome.OVERRIDDEN)
    recent = Q(decided_at__gte=since)
    row = Decision.objects.aggregate(
        total=Count("pk"),
        overridden=Count("pk", filter=overridden),
        recent=Count("pk", filter=recent),
        recent_overridden=Count("pk", filter=recent & overridden),
    )
    return DecisionStats(**row)
