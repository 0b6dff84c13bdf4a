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

import atexit
import bisect
import logging
import math
import multiprocessing
import multiprocessing.util
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

from django.conf import settings
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
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)
MetricT = TypeVar("MetricT", bound=MetricWrapperBase)

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
    gathered.observe_all(HTTP_REQUEST_DURATION, (route, method), (seconds,))
    gathered.inc(HTTP_RESPONSES, (route, method, str(status)))


def _observations(bounds: Sequence[float], amounts: Iterable[float]) -> list[float]:
    """The amounts' sum, then how many fall in each bucket (not cumulative), as `observe` counts them.

    Added to a histogram by `_histogram_add`, one write per bucket rather than two per amount:
    two histograms a row were 6 % of a 1,000-row batch's web time (bench/README.md). The two
    read the histogram's bucket bounds and values, which prometheus_client keeps private;
    tests/ops/test_metrics_bulk.py fails if they stop giving what `observe` gives.
    """
    tally = [0.0] * (len(bounds) + 1)
    for amount in amounts:
        tally[0] += amount
        if not math.isnan(amount):  # observe() counts a NaN in its sum and in no bucket
            tally[bisect.bisect_left(bounds, amount) + 1] += 1
    return tally


def _histogram_add(histogram: Histogram, tally: list[float]) -> None:
    histogram._sum.inc(tally[0])
    for value, count in zip(histogram._buckets, tally[1:], strict=True):
        if count:
            value.inc(count)


class GatheredCounts:
    """Counts of the scoring path, gathered in this process's memory and written out together.

    Under the web server every counter increment and histogram observation is a locked write to
    a memory-mapped file after a getpid (prometheus_client's multiprocess mode): the counts of
    one scoring request and its commit group cost ~60 µs in place, more than its rate limit
    (bench/README.md, twelfth pass). Gathered here, a count is a dictionary update. A thread of
    the process writes them out every METRICS_GATHER_SECONDS; a scrape that this process
    answers writes its own out first, and so does the process as it exits. So a scrape may miss
    the last second of another process's counts, as if it had come a second earlier: nothing
    is lost, and Prometheus reads every 15 s or more. METRICS_GATHER_SECONDS=0 writes every
    count at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # By metric and label values: a counter's amount, or a histogram's sum and bucket counts.
        self._counts: dict[tuple[Counter, tuple[str, ...]], float] = {}
        self._observed: dict[tuple[Histogram, tuple[str, ...]], list[float]] = {}
        self._interval: float | None = None  # read from the settings once the writer starts
        self.written = threading.Event()  # set each time the writer has written out (tests)
        # A child process forked with gathered counts would write its parent's counts again.
        os.register_at_fork(after_in_child=self._forget)

    def inc(self, counter: Counter, labels: tuple[str, ...] = (), amount: float = 1.0) -> None:
        """`counter.labels(*labels).inc(amount)`, gathered."""
        if (self._interval if self._interval is not None else self._start()) <= 0:
            _labelled(counter, labels).inc(amount)
            return
        key = (counter, labels)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0.0) + amount

    def observe_all(self, histogram: Histogram, labels: tuple[str, ...], amounts: Iterable[float]) -> None:
        """`histogram.labels(*labels).observe(amount)` for each amount, gathered."""
        tally = _observations(histogram._upper_bounds, amounts)
        if (self._interval if self._interval is not None else self._start()) <= 0:
            _histogram_add(_labelled(histogram, labels), tally)
            return
        key = (histogram, labels)
        with self._lock:
            gathered = self._observed.get(key)
            if gathered is None:
                self._observed[key] = tally
            else:
                for index, amount in enumerate(tally):
                    gathered[index] += amount

    def write_out(self) -> None:
        """Write what this process has gathered to the metrics (before a scrape reads them)."""
        with self._lock:
            counts, self._counts = self._counts, {}
            observed, self._observed = self._observed, {}
        for (counter, labels), amount in counts.items():
            _labelled(counter, labels).inc(amount)
        for (histogram, labels), tally in observed.items():
            _histogram_add(_labelled(histogram, labels), tally)

    def _start(self) -> float:
        """Read the interval and, if counts are to be gathered, start writing them out; returns it."""
        with self._lock:
            if self._interval is not None:  # another thread was first
                return self._interval
            interval = self._interval = settings.METRICS_GATHER_SECONDS
        if interval > 0:
            threading.Thread(
                target=self._write_regularly, args=(interval,), name="metrics-writer", daemon=True
            ).start()
            atexit.register(self.write_out)
            # A web server's worker is a multiprocessing child, which exits without atexit.
            multiprocessing.util.Finalize(None, self.write_out, exitpriority=10)
        return interval

    def _write_regularly(self, interval: float) -> None:
        while True:
            time.sleep(interval)
            try:
                self.write_out()
            except Exception:  # one failed write-out must not end the writing of later counts
                logger.exception("metrics not written out")
            self.written.set()

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._counts, self._observed, self._interval = {}, {}, None
        self.written = threading.Event()


def _labelled(metric: MetricT, labels: tuple[str, ...]) -> MetricT:
    return metric.labels(*labels) if labels else metric


gathered = GatheredCounts()


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


def process_metrics() -> Iterable[Metric]:
    """Every process's counters and histograms as they stand, this process's gathered counts
    written out first (a scrape, the latency snapshots)."""
    gathered.write_out()
    if multiprocess_mode():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry.collect()
    return REGISTRY.collect()


class _Scrape:
    """Everything one scrape reports: every process's counters, then the database's gauges."""

    def collect(self) -> Iterator[Metric]:
        yield from process_metrics()
        for collector in _scrape_collectors:
            yield from collector.collect()


def exposition() -> tuple[bytes, str]:
    """The /metrics body in Prometheus text format 0.0.4 (every name here is a classic one)."""
    return _generate_latest(_Scrape()), CONTENT_TYPE_PLAIN_0_0_4
