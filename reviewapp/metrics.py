"""Prometheus metrics: what processes count as they work, and what the database says at scrape time.

Counters and histograms live in each process. Under gunicorn's several workers they are kept in
files under PROMETHEUS_MULTIPROC_DIR and summed when /metrics is read (prometheus_client's
multiprocess mode; deploy/gunicorn.conf.py prepares the directory). Queue gauges are queried
from the database at scrape time, so whichever worker answers reports the same numbers.

Derived in PromQL rather than stored:
  error rate     sum(rate(reviewapp_http_responses_total{status=~"5.."}[5m]))
                   / sum(rate(reviewapp_http_responses_total[5m]))
  override rate  sum(rate(reviewapp_review_decisions_total{outcome="overridden"}[1h]))
                   / sum(rate(reviewapp_review_decisions_total[1h]))
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable, Iterator
from typing import Protocol

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    values,
)
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

# 0.2 s is the p99 alert line; finer below it, where a scoring request should sit.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
TENTHS = tuple(round(0.1 * step, 1) for step in range(1, 11))
# Confidence is max(p, 1 - p), so it lives in [0.5, 1]; the review threshold is usually 0.8-0.95.
CONFIDENCE_BUCKETS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 1.0)
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
PREDICTIONS = Counter(
    "reviewapp_predictions",
    "Stored predictions by label, routing (auto or review) and model version.",
    ["label", "routing", "model_version"],
)
PREDICTION_CONFIDENCE = Histogram(
    "reviewapp_prediction_confidence",
    "Confidence, max(p, 1 - p), of stored predictions.",
    ["model_version"],
    buckets=CONFIDENCE_BUCKETS,
)
PREDICTION_SCORE = Histogram(
    "reviewapp_prediction_score",
    "Fraud probability of stored predictions.",
    ["model_version"],
    buckets=TENTHS,
)
DECISIONS = Counter(
    "reviewapp_review_decisions",
    "Analyst decisions by outcome (confirmed or overridden).",
    ["outcome"],
)
CALLBACK_FAILURES = Counter(
    "reviewapp_callback_failures",
    "Callback delivery attempts that failed (error or non-2xx answer) in processes sharing these files.",
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


def predictions_observe(*, predictions: Iterable) -> None:
    """Count newly stored predictions; call it once they are committed."""
    predictions = list(predictions)
    # One increment per label set: a batch of 1,000 is mostly one or two of them.
    counts = collections.Counter((p.label, p.routing, str(p.model_version.version)) for p in predictions)
    for labels, count in counts.items():
        PREDICTIONS.labels(*labels).inc(count)
    for prediction in predictions:
        version = str(prediction.model_version.version)
        PREDICTION_CONFIDENCE.labels(version).observe(prediction.confidence)
        PREDICTION_SCORE.labels(version).observe(prediction.score)


def decision_observe(*, outcome: str) -> None:
    DECISIONS.labels(outcome).inc()


def callback_attempt_observe(*, ok: bool) -> None:
    if not ok:
        CALLBACK_FAILURES.inc()


# --- read at scrape time from the database --------------------------------------------------


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


class ReviewQueueCollector:
    """Queue depth and the age of its oldest undecided item: one aggregate query per scrape."""

    def collect(self) -> Iterator[Metric]:
        from reviews.models import ReviewItem

        now = timezone.now()
        held = Q(state=ReviewItem.State.CLAIMED, lease_expires_at__gte=now)
        try:
            row = ReviewItem.objects.exclude(state=ReviewItem.State.DECIDED).aggregate(
                pending=Count("pk", filter=~held), claimed=Count("pk", filter=held), oldest=Min("created_at")
            )
        except DatabaseError:
            # The rest of the scrape is still worth having; /readyz reports the database.
            logger.warning("review queue metrics unavailable: database error", exc_info=True)
            return
        depth = GaugeMetricFamily(
            "reviewapp_review_queue_items",
            "Undecided review items: pending (claimable) or claimed under a live lease.",
            labels=["state"],
        )
        depth.add_metric(["pending"], row["pending"])
        depth.add_metric(["claimed"], row["claimed"])
        yield depth
        oldest = (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0
        yield GaugeMetricFamily(
            "reviewapp_review_queue_oldest_age_seconds",
            "Age of the oldest undecided review item (0 when the queue is empty).",
            value=oldest,
        )
        yield GaugeMetricFamily(
            "reviewapp_review_sla_seconds",
            "The review SLA (REVIEW_SLA_MINUTES), for alerts on the oldest item's age.",
            value=settings.REVIEW_SLA_MINUTES * 60,
        )


class CallbackCollector:
    """Deliveries still being retried after a failure: one query over the pending ones.

    The failures counter above counts in the process that posts, which with a broker is a
    Celery worker, outside gunicorn's metric files; this gauge shows the same trouble from
    the database, whichever process made the attempts.
    """

    def collect(self) -> Iterator[Metric]:
        from reviews.models import CallbackDelivery

        try:
            retrying = CallbackDelivery.objects.filter(
                state=CallbackDelivery.State.PENDING, attempts__gt=0
            ).count()
        except DatabaseError:
            logger.warning("callback metrics unavailable: database error", exc_info=True)
            return
        yield GaugeMetricFamily(
            "reviewapp_callback_deliveries_retrying",
            "Callback deliveries whose last attempt failed and that are waiting for another.",
            value=retrying,
        )


# Collectors asked at every scrape. Another app may add one that reads its own tables at
# scrape time (drift per feature: the monitoring app) with `scrape_collector_add`.
_scrape_collectors: list[Collector] = [ReviewQueueCollector(), CallbackCollector()]


def scrape_collector_add(collector: Collector) -> None:
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


def multiprocess_mode() -> bool:
    """True when values are kept in PROMETHEUS_MULTIPROC_DIR (set before the first import)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


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
    return _generate_latest(_Scrape()), CONTENT_TYPE_PLAIN_0_0_4  # type: ignore[arg-type]
