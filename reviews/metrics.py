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

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

from reviews.models import CallbackDelivery, ReviewItem

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
    """Queue depth and the age of its oldest undecided item: one aggregate query per scrape."""

    def collect(self) -> Iterator[Metric]:
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
