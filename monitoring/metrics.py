"""Gauges read from the monitoring tables at scrape time (registered with reviewapp.metrics).

Read from the database, not kept in a process, so whichever web worker answers the scrape
reports the same values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from audit import selectors as audit_selectors
from monitoring import selectors
from monitoring.models import DriftReport
from predictions import switches

logger = logging.getLogger(__name__)


class MonitoringCollector:
    """Drift of the active version, the worker heartbeat's age, the kill switch, and how far
    behind the audit chain's linker is."""

    def collect(self) -> Iterator[Metric]:
        try:
            report = selectors.drift_report_latest()
            heartbeat = selectors.worker_heartbeat()
            review_all = switches.review_everything()
            backlog = audit_selectors.audit_linker_backlog()
        except DatabaseError:
            logger.warning("monitoring metrics unavailable: database error", exc_info=True)
            return
        now = timezone.now()
        yield from _drift(report, now)
        if heartbeat is not None:
            yield GaugeMetricFamily(
                "reviewapp_worker_heartbeat_age_seconds",
                "Seconds since a Celery worker last ran the heartbeat task that beat sends every minute.",
                value=(now - heartbeat.seen_at).total_seconds(),
            )
        yield GaugeMetricFamily(
            "reviewapp_review_all_predictions",
            "1 while the kill switch sends every prediction to review (automatic decisions paused).",
            value=int(review_all),
        )
        yield GaugeMetricFamily(
            "reviewapp_audit_unlinked_rows",
            "Audit events and predictions written but not yet linked into the hash chain.",
            value=backlog.rows,
        )
        yield GaugeMetricFamily(
            "reviewapp_audit_oldest_unlinked_age_seconds",
            "Seconds the oldest of them has waited for the linker (0 when none waits).",
            value=backlog.oldest_age.total_seconds() if backlog.oldest_age else 0.0,
        )


def _drift(report: DriftReport | None, now: datetime) -> Iterator[Metric]:
    if report is None:
        return
    psi = GaugeMetricFamily(
        "reviewapp_drift_psi",
        "Population stability index of each feature in the latest drift report of the active model.",
        labels=["feature"],
    )
    for row in report.features.all():
        psi.add_metric([row.feature], row.psi)
    yield psi
    if report.score_psi is not None:
        yield GaugeMetricFamily(
            "reviewapp_drift_score_psi",
            "Population stability index of the model's scores in the latest drift report.",
            value=report.score_psi,
        )
    yield GaugeMetricFamily(
        "reviewapp_drift_report_age_seconds",
        "Seconds since the latest drift report of the active model was computed.",
        value=(now - report.created_at).total_seconds(),
    )
