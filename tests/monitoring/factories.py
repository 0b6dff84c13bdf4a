"""Latency histograms and snapshots written from plain lists of request durations."""

from __future__ import annotations

from datetime import datetime

from monitoring.latency_history import Snapshot
from monitoring.models import LatencySnapshot
from reviewapp.metrics import LATENCY_BUCKETS

BOUNDS = list(LATENCY_BUCKETS)
SCORING = "POST api-prediction-list"
BATCH = "POST api-prediction-batch"


def histogram(seconds: list[float], bounds: list[float] = BOUNDS) -> dict:
    """The cumulative histogram of these request durations, as a snapshot stores it."""
    buckets = [sum(1 for s in seconds if s <= bound) for bound in bounds] + [len(seconds)]
    return {"buckets": buckets, "sum": round(sum(seconds), 6)}


def snapshot(
    source: str,
    taken_at: datetime,
    series: dict[str, list[float]] | None = None,
    bounds: list[float] = BOUNDS,
) -> Snapshot:
    """A server's snapshot: every request it answered so far, by "METHOD route"."""
    histograms = {key: histogram(seconds, bounds) for key, seconds in (series or {}).items()}
    requests = sum(h["buckets"][-1] for h in histograms.values())
    return Snapshot(source, taken_at, requests, bounds if histograms else [], histograms)


def snapshot_store(
    source: str, taken_at: datetime, series: dict[str, list[float]] | None = None
) -> LatencySnapshot:
    made = snapshot(source, taken_at, series)
    return LatencySnapshot.objects.create(
        source=source,
        taken_at=taken_at,
        requests=made.requests,
        bounds=made.bounds,
        histograms=made.histograms,
    )
