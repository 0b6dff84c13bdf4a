"""Celery adapters for monitoring, named after the services they call."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from monitoring import services
from predictions.registry import NoActiveModel

logger = logging.getLogger(__name__)


@shared_task(time_limit=300, soft_time_limit=240)
def drift_report_create() -> int | None:
    """The scheduled drift report; the id of the report, or None when there was too little traffic."""
    try:
        return services.drift_report_create().pk
    except (services.TooFewSamples, NoActiveModel) as reason:
        logger.info("drift report skipped: %s", reason)
        return None


@shared_task(bind=True, time_limit=30, soft_time_limit=20, expires=50)
def worker_heartbeat_record(self: Task[[], None]) -> None:
    """Every minute from beat; a stale heartbeat means beat, the broker or every worker is down."""
    services.worker_heartbeat_record(hostname=self.request.hostname or "")


@shared_task(time_limit=120, soft_time_limit=100, expires=3000)
def latency_snapshots_prune() -> int:
    """Hourly from beat: the web servers write a snapshot a minute each; keep LATENCY_RETENTION of them."""
    return services.latency_snapshots_prune()
