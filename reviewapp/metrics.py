"""Prometheus metrics: what processes count as they work, and what the database says at scrape time.

Counters and histograms live in each process. Under the web server's several workers they are
kept in files under PROMETHEUS_MULTIPROC_DIR and summed when /metrics is read (prometheus_client's
multiprocess mode; serve.py prepares the directory, reviewapp/wsgi.py one of its own when granian
was started without it). Queue gauges are queried from the database at scrape
time, so whichever worker answers reports the same numbers.

This module has the project's plumbing and the HTTP metrics; each app keeps its own counters
and scrape-time collectors in its `metrics.py` (predictions, reviews, monitoring), created
and registered when the app is ready.

Derived in PromQL rather than stored:
  error rate     sum(rate(reviewapp_http_responses_total{status=~"5.."}[5m]))
                   / sum(rate(reviewapp_http_responses_total[5m]))
"""

from __future__ import annotations

import bisect
import math
import multiprocessing
from collections.abc import Iterable, Iterator
from typing import Protocol

from django.http import HttpRequest
from django.urls import Resolver404, resolve
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    values,
)
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

# 0.2 s is the p99 alert line; finer below it, where a scoring request should sit.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUEST_DURATION = Histogram(
    "reviewapp_http_request_duration_seconds",
    "Time to answer a request, by route (URL pattern name) and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_RESPONSES = Counter(
    "reviewapp_http_responses",
    "Responses by route, method and status code; errors are the 5xx ones.",
    ["route", "method", "status"],
)


# --- what the code calls --------------------------------------------------------------------


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name (or its route), never the raw path, so labels stay few."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        # Answered before URL resolution (e.g. 413 from a middleware): resolve it now.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "<unmatched>"
    return match.view_name or match.route or "<unnamed>"


def request_observe(*, route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "OTHER"
    HTTP_REQUEST_DURATION.labels(route, method).observe(seconds)
    HTTP_RESPONSES.labels(route, method, str(status)).inc()


def histogram_observe_all(histogram: Histogram, amounts: Iterable[float]) -> None:
    """`histogram.observe(amount)` for each amount, with one write per bucket, not per amount.

    Each observation is two writes to the multiprocess files, each checking the process ID
    first: two histograms a row were 6 % of a 1,000-row batch's web time (bench/README.md).
    This reads the histogram's bucket bounds and values, which prometheus_client keeps private;
    tests/ops/test_metrics_bulk.py fails if they stop giving what `observe` gives.
    """
    bounds = histogram._upper_bounds  # ends with +Inf
    counts = [0] * len(bounds)
    total = 0.0
    for amount in amounts:
        total += amount
        if not math.isnan(amount):  # observe() counts a NaN in its sum and in no bucket
            counts[bisect.bisect_left(bounds, amount)] += 1
    histogram._sum.inc(total)
    for value, count in zip(histogram._buckets, counts, strict=True):
        if count:
            value.inc(count)


# --- read at scrape time from the database --------------------------------------------------


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


# Collectors asked at every scrape. Each app adds those that read its own tables at scrape
# time (the review queue, drift per feature) from its AppConfig.ready.
_scrape_collectors: list[Collector] = []


def scrape_collector_add(collector: Collector) -> None:
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


def multiprocess_mode() -> bool:
    """True when values are kept in PROMETHEUS_MULTIPROC_DIR (set before the first import)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def exposition_problem() -> str | None:
    """Why this process's /metrics would be wrong, or None.

    A web server worker that counts in its own memory reports its own share of the requests
    only, as if the others had never been served. serve.py, or reviewapp/wsgi.py, sets a shared
    directory up before prometheus_client is imported, so this means something imported it
    earlier.
    """
    if multiprocess_mode() or not in_server_worker():
        return None
    return (
        "Metrics not served: this web server worker counts in its own memory, so it would report "
        "its own requests only. Set PROMETHEUS_MULTIPROC_DIR before the server starts (start it "
        "with python serve.py), or make sure nothing imports prometheus_client before "
        "reviewapp.wsgi does.\n"
    )


def in_server_worker() -> bool:
    """True in a worker process of a granian web server (one of several serving the same port)."""
    return multiprocessing.current_process().name == "granian-worker"  # as reviewapp/wsgi.py


class _Scrape:
    """Everything one scrape reports: every process's counters, then the database's gauges."""

    def collect(self) -> Iterator[Metric]:
        if multiprocess_mode():
            process_metrics = CollectorRegistry()
            MultiProcessCollector(process_metrics)
        else:
            process_metrics = REGISTRY
        yield from process_metrics.collect()
        for collector in _scrape_collectors:
            yield from collector.collect()


def exposition() -> tuple[bytes, str]:
    """The /metrics body in Prometheus text format 0.0.4 (every name here is a classic one)."""
    return _generate_latest(_Scrape()), CONTENT_TYPE_PLAIN_0_0_4
