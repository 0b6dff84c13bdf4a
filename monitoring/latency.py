"""Request-latency histograms as the web processes keep them, and quantiles estimated from them.

Every web worker's histogram is summed (multiprocess mode), or under runserver this
process's alone. The recorder (monitoring/recorder.py) stores them once a minute; the page
reads the stored ones (monitoring/latency_history.py), so it needs neither Prometheus nor
the process that counted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from reviewapp import metrics

HISTOGRAM = "reviewapp_http_request_duration_seconds"
# Probes answer every few seconds and fast; they would crowd out the routes people use.
PROBES = frozenset({"healthz", "readyz", "metrics"})

# "METHOD route" -> {"buckets": cumulative counts at each bound then +Inf, "sum": seconds}
Histograms = dict[str, dict[str, Any]]


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The q-quantile from cumulative (upper bound, count) buckets, ending with +Inf.

    Interpolated within the bucket that holds it, the way PromQL's histogram_quantile does.
    """
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


def current_histograms() -> tuple[list[float], Histograms]:
    """The finite bucket bounds and every route's cumulative histogram, probes left out.

    Counted since the web processes started. Only series with requests are listed.
    """
    counts: dict[str, dict[float, float]] = defaultdict(dict)
    sums: dict[str, float] = {}
    for family in metrics.process_metrics():
        if family.name != HISTOGRAM:
            continue
        for sample in family.samples:
            route = sample.labels.get("route", "")
            if route in PROBES:
                continue
            key = f"{sample.labels.get('method', '')} {route}"
            if sample.name.endswith("_bucket"):
                counts[key][float(sample.labels["le"])] = sample.value
            elif sample.name.endswith("_sum"):
                sums[key] = sample.value
    bounds: list[float] = []
    histograms: Histograms = {}
    for key, by_bound in counts.items():
        ordered = sorted(by_bound.items())
        if not ordered or ordered[-1][1] <= 0:
            continue
        bounds = [upper for upper, _ in ordered if not math.isinf(upper)]
        histograms[key] = {
            "buckets": [int(count) for _, count in ordered],
            "sum": round(sums.get(key, 0.0), 6),
        }
    return bounds, histograms
