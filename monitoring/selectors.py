"""Reads: the latest drift report, the worker heartbeat, the monitoring page's aggregates and latency.

Every figure on the page comes from a handful of aggregate queries whose number does not
grow with the data: one per table, never one per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from monitoring import latency_history
from monitoring.models import DriftReport, LatencySnapshot, WorkerHeartbeat
from predictions.models import ModelVersion, Prediction
from reviews.models import Decision

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


# --- decisions (the queue's health: reviews.selectors.queue_health) ---------------------


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


# --- request latency over time ----------------------------------------------------------

# The series the ScoringLatencyHigh alert watches: one transaction per request. Batches of
# 1,000 explained rows are slower by design and are shown per route instead.
SCORING = "POST api-prediction-list"
LATENCY_STEP = timedelta(minutes=15)
# Snapshots just before the window are the baselines of its first interval.
LATENCY_BASELINE = timedelta(minutes=10)
# A recorder writes every minute: a server silent for longer has stopped or lost the database.
RECORDER_STALE = timedelta(minutes=3)


@dataclass(frozen=True)
class LatencyInterval:
    start: datetime
    end: datetime
    latency: latency_history.Latency


@dataclass(frozen=True)
class RouteLatency:
    key: str  # "METHOD route"
    latency: latency_history.Latency


@dataclass(frozen=True)
class LatencyOverTime:
    scoring: list[LatencyInterval]  # oldest first, empty intervals included
    routes: list[RouteLatency]  # over the whole window, busiest first
    last_recorded: datetime | None
    servers: int  # web servers that recorded within RECORDER_STALE
    now: datetime

    @property
    def recorder_stale(self) -> bool:
        return self.last_recorded is not None and self.now - self.last_recorded > RECORDER_STALE


def request_latency_over_time(
    *, now: datetime, hours: int = 24, step: timedelta = LATENCY_STEP, routes: int = 8
) -> LatencyOverTime:
    """Scoring latency per `step` over the last `hours`, and each route's over the window.

    Two queries whatever the traffic: every snapshot's cheap columns, then the histograms of
    only those whose differences make up the intervals (about one per interval and server).
    """
    end = _ceil(now, step)
    start = end - timedelta(hours=hours)
    intervals = round(timedelta(hours=hours) / step)
    headers, snapshots = _latency_snapshots(start=start, step=step)
    history = latency_history.history(snapshots, start=start, step=step, intervals=intervals)
    by_route = [RouteLatency(key, history.latency(key)) for key in history.window]
    return LatencyOverTime(
        scoring=[
            LatencyInterval(start + i * step, start + (i + 1) * step, history.latency(SCORING, i))
            for i in range(intervals)
        ],
        routes=sorted(by_route, key=lambda row: -row.latency.count)[:routes],
        last_recorded=max((s.taken_at for s in headers), default=None),
        servers=len({s.source for s in headers if s.taken_at >= now - RECORDER_STALE}),
        now=now,
    )


def _latency_snapshots(
    *, start: datetime, step: timedelta
) -> tuple[list[latency_history.Snapshot], list[latency_history.Snapshot]]:
    """Every snapshot since just before `start` without its histograms, then the needed ones with."""
    headers = [
        latency_history.Snapshot(source=source, taken_at=taken_at, requests=requests, pk=pk)
        for pk, source, taken_at, requests in LatencySnapshot.objects.filter(
            taken_at__gt=start - LATENCY_BASELINE
        ).values_list("pk", "source", "taken_at", "requests")
    ]
    needed = [
        s.pk for s in latency_history.snapshots_needed(headers, start=start, step=step) if s.pk is not None
    ]
    if not needed:
        return headers, []
    full = LatencySnapshot.objects.filter(pk__in=needed).values_list(
        "source", "taken_at", "requests", "bounds", "histograms"
    )
    return headers, [latency_history.Snapshot(*row) for row in full]


def _ceil(moment: datetime, step: timedelta) -> datetime:
    """The first multiple of `step` since the epoch at or after `moment` (UTC-aligned)."""
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    steps = -(-(moment - epoch) // step)
    return epoch + steps * step
