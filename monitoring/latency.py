"""Request latency since the web processes started, read from the histograms they keep.

Latency is not stored in the database; over time it lives in Prometheus. This gives the
monitoring page the same figures without it: every gunicorn worker's histogram summed
(multiprocess mode) or this process's alone (runserver), and quantiles estimated within
buckets the way PromQL's histogram_quantile does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from reviewapp import metrics

HISTOGRAM = "reviewapp_http_request_duration_seconds"
# Probes answer every few seconds and fast; they would crowd out the routes people use.
PROBES = frozenset({"healthz", "readyz", "metrics"})


@dataclass(frozen=True)
class RouteLatency:
    route: str
    count: int
    p50: float | None
    p95: float | None
    p99: float | None


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile from cumulative (upper bound, count) buckets, ending with +Inf."""
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower  # beyond the last finite bound: that bound is all we know
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


def _process_histograms():
    if metrics.multiprocess_mode():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry.collect()
    return REGISTRY.collect()


def route_latencies(*, limit: int = 8) -> list[RouteLatency]:
    """The busiest routes' request count and p50/p95/p99 in seconds, busiest first."""
    by_route: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for family in _process_histograms():
        if family.name != HISTOGRAM:
            continue
        for sample in family.samples:
            route = sample.labels.get("route", "")
            if sample.name.endswith("_bucket") and route not in PROBES:
                by_route[route][float(sample.labels["le"])] += sample.value  # summed over methods
    rows = []
    for route, counts in by_route.items():
        buckets = sorted(counts.items())
        rows.append(
            RouteLatency(
                route=route,
                count=int(buckets[-1][1]),
                p50=histogram_quantile(0.5, buckets),
                p95=histogram_quantile(0.95, buckets),
                p99=histogram_quantile(0.99, buckets),
            )
        )
    rows = [row for row in rows if row.count]
    return sorted(rows, key=lambda row: -row.count)[:limit]
