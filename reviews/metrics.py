"""Prometheus metrics of the review queue: counters kept as decisions and callbacks happen, and
gauges read from the database at scrape time (registered with reviewapp.metrics by
ReviewsConfig.ready, which also creates the counters in every process).

Derived in PromQL rather than stored:
  override rate  sum(rate(reviewapp_review_decisions_total{outcome="overridden"}[1h]))
                   / sum(rate(reviewapp_review_decisions_total[1h]))
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

from reviews import selectors
from reviews.models import CallbackDelivery

logger = logging.getLogger(__name__)

DECISIONS = Counter(
    "reviewapp_review_decisions",
    "Analyst decisions by outcome (confirmed or overridden).",
    ["outcome"],
)
CALLBACK_FAILURES = Counter(
    "reviewapp_callback_failures",
    "Callback delivery attempts that failed (error or non-2xx answer) in processes sharing these files.",
)


def decision_observe(*, outcome: str) -> None:
    DECISIONS.labels(outcome).inc()


def callback_attempt_observe(*, ok: bool) -> None:
    if not ok:
        CALLBACK_FAILURES.inc()


# --- read at scrape time from the database --------------------------------------------------


class ReviewQueueCollector:
    """Queue depth and the age of its oldest undecided item (selectors.queue_health), once per scrape."""

    def collect(self) -> Iterator[Metric]:
        try:
            health = selectors.queue_health()
        except DatabaseError:
            # The rest of the scrape is still worth having; /readyz reports the database.
            logger.warning("review queue metrics unavailable: database error", exc_info=True)
            return
        depth = GaugeMetricFamily(
            "reviewapp_review_queue_items",
            "Undecided review items: pending (claimable) or claimed under a live lease.",
            labels=["state"],
        )
        depth.add_metric(["pending"], health.pending)
        depth.add_metric(["claimed"], health.claimed)
        yield depth
        yield GaugeMetricFamily(
            "reviewapp_review_queue_oldest_age_seconds",
            "Age of the oldest undecided review item (0 when the queue is empty).",
            value=health.oldest_age.total_seconds() if health.oldest_age else 0.0,
        )
        yield GaugeMetricFamily(
            "reviewapp_review_sla_seconds",
            "The review SLA (REVIEW_SLA_MINUTES), for alerts on the oldest item's age.",
            value=health.sla.total_seconds(),
        )


class CallbackCollector:
    """Deliveries still being retried after a failure: one query over the pending ones.

    The failures counter above counts in the process that posts, which with a broker is a
    Celery worker, outside the web server's metric files; this gauge shows the same trouble from
    the database, whichever process made the attempts.
    """

    def collect(self) -> Iterator[Metric]:
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
