"""Reads: the latest drift report, the worker heartbeat."""

from __future__ import annotations

from monitoring.models import DriftReport, WorkerHeartbeat
from predictions.models import ModelVersion


def drift_report_latest() -> DriftReport | None:
    """The newest report on the active version, with its feature rows (two queries)."""
    return (
        DriftReport.objects.filter(model_version__status=ModelVersion.Status.ACTIVE)
        .select_related("model_version")
        .prefetch_related("features")
        .order_by("-created_at")
        .first()
    )


def worker_heartbeat() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.filter(pk=1).first()
