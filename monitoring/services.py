"""Writes: drift reports, liveness and latency snapshots (the kill switch is predictions')."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring import drift, latency
from monitoring.models import (
    DriftReport,
    FeatureDrift,
    LatencySnapshot,
    WorkerHeartbeat,
)
from predictions.models import ModelVersion, Prediction
from predictions.registry import NoActiveModel
from predictions.selectors import model_version_active

logger = logging.getLogger(__name__)

# The newest this many predictions of a window are compared: the index settles long before,
# and a busy day must not load millions of rows into one worker.
DRIFT_MAX_SAMPLES = 50_000
# A week of history to compare today with; the page shows 24 hours, Prometheus keeps longer.
LATENCY_RETENTION = timedelta(days=7)


class TooFewSamples(Exception):
    """Not enough recent predictions for a meaningful comparison; no report is written."""


# --- drift ------------------------------------------------------------------------------


def drift_report_create(
    *, window_hours: float | None = None, last_n: int | None = None, now: datetime | None = None
) -> DriftReport:
    """Compare the active version's recent predictions with its training reference and store it.

    The sample is the last `window_hours` (default DRIFT_WINDOW_HOURS) or the last `last_n`
    predictions of the active version. Raises TooFewSamples below DRIFT_MIN_SAMPLES.
    Calendar features whose cycle is longer than the window (day of week in a 24 h window)
    are listed as not compared rather than raising a false alarm.
    """
    if window_hours is not None and last_n is not None:
        raise ValueError("give window_hours or last_n, not both")
    version = model_version_active()
    if version is None:
        raise NoActiveModel("no model version is active, so there is nothing to compare")
    now = now or timezone.now()
    recent = Prediction.objects.filter(model_version=version, created_at__lte=now).order_by("-created_at")
    if last_n is None:
        hours = window_hours if window_hours is not None else settings.DRIFT_WINDOW_HOURS
        recent = recent.filter(created_at__gt=now - timedelta(hours=hours))
        described = f"in the last {hours:g} h"
    else:
        described = f"among the last {last_n}"
    limit = min(last_n or DRIFT_MAX_SAMPLES, DRIFT_MAX_SAMPLES)
    sample = list(recent.values_list("features", "score", "created_at")[:limit])
    if len(sample) < max(settings.DRIFT_MIN_SAMPLES, 1):
        raise TooFewSamples(
            f"{len(sample)} predictions of v{version.version} {described}; drift needs at least "
            f"DRIFT_MIN_SAMPLES={settings.DRIFT_MIN_SAMPLES}, so no report was written"
        )
    rows, scores, times = zip(*sample, strict=True)
    if last_n is not None:
        hours = (max(times) - min(times)).total_seconds() / 3600
    return _report_store(version, rows=list(rows), scores=list(scores), times=list(times), hours=hours)


def _state(value: float) -> str:
    return drift.drift_state(value, warning=settings.PSI_WARNING, alert=settings.PSI_ALERT)


def _report_store(
    version: ModelVersion,
    *,
    rows: list[dict[str, Any]],
    scores: list[float],
    times: list[datetime],
    hours: float,
) -> DriftReport:
    by_feature = drift.drift_by_feature(
        schema=version.feature_schema, reference=version.reference, rows=rows, window_hours=hours
    )
    score_psi = drift.score_drift(reference=version.reference, scores=scores)
    with transaction.atomic():
        report = DriftReport.objects.create(
            model_version=version,
            window_start=min(times),
            window_end=max(times),
            sample_size=len(rows),
            score_psi=score_psi,
            score_state=_state(score_psi) if score_psi is not None else "",
            not_compared=_not_compared(version, by_feature),
        )
        FeatureDrift.objects.bulk_create(
            FeatureDrift(report=report, feature=name, psi=value, state=_state(value))
            for name, value in by_feature.items()
        )
    drifting = {name: round(value, 3) for name, value in by_feature.items() if value >= settings.PSI_WARNING}
    logger.info(
        "drift of v%s over %d predictions: score PSI %s, drifting features %s",
        version.version,
        len(rows),
        f"{score_psi:.3f}" if score_psi is not None else "n/a",
        drifting or "none",
    )
    return report


def _not_compared(version: ModelVersion, by_feature: dict[str, float]) -> list[str]:
    # Schema order: PostgreSQL's jsonb keeps the reference's keys in an order of its own.
    known = version.reference.get("features", {})
    return [
        spec["name"]
        for spec in version.feature_schema
        if spec["name"] in known and spec["name"] not in by_feature
    ]


# --- liveness ---------------------------------------------------------------------------


def worker_heartbeat_record(*, hostname: str) -> None:
    WorkerHeartbeat.objects.update_or_create(pk=1, defaults={"seen_at": timezone.now(), "hostname": hostname})


# --- request latency --------------------------------------------------------------------


def latency_snapshot_record(*, source: str, now: datetime | None = None) -> LatencySnapshot | None:
    """Store this web server's cumulative latency histograms for the current minute, once.

    Every process of the server calls it each minute: the first one writes (the row is unique
    per server and minute), the others stop at one indexed lookup. None when it was written
    already.
    """
    taken_at = (now or timezone.now()).replace(second=0, microsecond=0)
    if LatencySnapshot.objects.filter(source=source, taken_at=taken_at).exists():
        return None
    bounds, histograms = latency.current_histograms()
    snapshot = LatencySnapshot(
        source=source,
        taken_at=taken_at,
        requests=sum(histogram["buckets"][-1] for histogram in histograms.values()),
        bounds=bounds,
        histograms=histograms,
    )
    # A process of the same server may have written the minute since the lookup: its row stands.
    LatencySnapshot.objects.bulk_create([snapshot], ignore_conflicts=True)
    return snapshot


def latency_snapshots_prune(*, now: datetime | None = None) -> int:
    """Delete snapshots older than LATENCY_RETENTION; how many went."""
    cutoff = (now or timezone.now()) - LATENCY_RETENTION
    deleted, _ = LatencySnapshot.objects.filter(taken_at__lt=cutoff).delete()
    return deleted
