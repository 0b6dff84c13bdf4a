"""The monitoring page: health of the model and of the review process, readable without Prometheus."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import selectors as audit_selectors
from monitoring import charts, selectors, services
from monitoring.models import DriftReport
from monitoring.templatetags.monitoring import milliseconds
from predictions import switches
from predictions.models import ModelVersion
from predictions.selectors import model_version_active
from reviewapp.roles import ADMIN, ANALYST, AUDITOR, role_required
from reviews.selectors import queue_health

WINDOW = timedelta(hours=24)
# A heartbeat is sent every minute; three missed ones mean beat, the broker or the workers are down.
HEARTBEAT_STALE = timedelta(minutes=3)
# The ScoringLatencyHigh alert's line (deploy/alerts.yml).
LATENCY_ALERT_SECONDS = 0.2
# The AuditChainBehind alert's line: beat links every 5 s.
AUDIT_BEHIND = timedelta(minutes=15)
METRIC_LABELS = {
    "roc_auc": ("ROC AUC", "{:.3f}"),
    "pr_auc": ("PR AUC", "{:.3f}"),
    "brier": ("Brier score", "{:.4f}"),
    "precision_at_0.5": ("Precision at 0.5", "{:.3f}"),
    "recall_at_0.5": ("Recall at 0.5", "{:.3f}"),
    "review_share": ("Share to review", "{:.1%}"),
    "holdout_fraud_rate": ("Fraud rate", "{:.2%}"),
    "holdout_rows": ("Holdout rows", "{:,}"),
}

# Everyone with a staff role: the page shows aggregates only, no transaction or person.
monitor_required = role_required(ADMIN, ANALYST, AUDITOR)


@require_GET
@monitor_required
def overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    version = model_version_active()
    stats = selectors.prediction_stats(since=now - WINDOW)
    report = selectors.drift_report_latest()
    heartbeat = selectors.worker_heartbeat()
    latency = selectors.request_latency_over_time(now=now)
    audit_backlog = audit_selectors.audit_linker_backlog()
    context = {
        "title": "Monitoring",
        "now": now,
        "version": version,
        "holdout": _holdout_metrics(version),
        "holdout_review_share": version.metrics.get("review_share") if version else None,
        "psi_lines": {"warning": settings.PSI_WARNING, "alert": settings.PSI_ALERT},
        "stats": stats,
        "volume_chart": _volume_chart(selectors.prediction_volume_by_hour(now=now)),
        "score_chart": charts.histogram(counts=stats.score_bins, edges=selectors.SCORE_EDGES, css="score"),
        "confidence_chart": _confidence_chart(stats, version),
        "queue": queue_health(now=now),
        "decisions": selectors.decision_stats(since=now - WINDOW),
        "report": report,
        "drift": _drift(report),
        "latency": latency,
        "latency_chart": _latency_chart(latency.scoring),
        "latency_alert": LATENCY_ALERT_SECONDS,
        "latency_retention_days": services.LATENCY_RETENTION.days,
        "scoring_key": selectors.SCORING,
        "review_all": switches.review_everything(),
        "review_all_forced": settings.REVIEW_ALL_PREDICTIONS,
        "heartbeat": heartbeat,
        # Without a broker (the demo) tasks run inside the web process: no workers to miss.
        "tasks_in_process": settings.CELERY_TASK_ALWAYS_EAGER,
        "heartbeat_stale": not settings.CELERY_TASK_ALWAYS_EAGER
        and (heartbeat is None or now - heartbeat.seen_at > HEARTBEAT_STALE),
        "audit_backlog": audit_backlog,
        "audit_behind": audit_backlog.oldest_age is not None and audit_backlog.oldest_age > AUDIT_BEHIND,
    }
    return render(request, "monitoring/overview.html", context)


def _volume_chart(volume: list[selectors.HourVolume]) -> dict[str, Any]:
    hours = len(volume)
    return charts.bar_chart(
        columns=[[("auto", v.total - v.review), ("review", v.review)] for v in volume],
        titles=[
            f"{timezone.localtime(v.hour):%H:00}: {v.total:,} predictions, {v.review:,} to review"
            for v in volume
        ],
        x_ticks=[
            ((index + 0.5) / hours, f"{timezone.localtime(v.hour):%H:00}")
            for index, v in enumerate(volume)
            if index % 3 == 0
        ],
    )


def _latency_chart(intervals: list[selectors.LatencyInterval]) -> dict[str, Any] | None:
    if not any(interval.latency.count for interval in intervals):
        return None
    count = len(intervals)

    def ms(seconds: float | None) -> float | None:
        return None if seconds is None else seconds * 1000

    return charts.log_line_chart(
        series=[
            (q, [ms(getattr(interval.latency, q)) for interval in intervals]) for q in ("p50", "p95", "p99")
        ],
        titles=[_interval_title(interval) for interval in intervals],
        x_ticks=[
            (index / count, f"{timezone.localtime(interval.start):%H:%M}")
            for index, interval in enumerate(intervals)
            if index % 12 == 0
        ],
        y_label=lambda value: f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms",
        limits=[(LATENCY_ALERT_SECONDS * 1000, f"alert: p99 above {LATENCY_ALERT_SECONDS * 1000:g} ms")],
    )


def _interval_title(interval: selectors.LatencyInterval) -> str:
    span = f"{timezone.localtime(interval.start):%H:%M}\u2013{timezone.localtime(interval.end):%H:%M}"
    latency = interval.latency
    if not latency.count:
        return f"{span}: no scoring requests"
    return (
        f"{span}: {latency.count:,} scoring requests, p50 {milliseconds(latency.p50)}, "
        f"p95 {milliseconds(latency.p95)}, p99 {milliseconds(latency.p99)}"
    )


def _confidence_chart(stats: selectors.PredictionStats, version: ModelVersion | None) -> dict[str, Any]:
    markers: list[tuple[float, str]] = []
    threshold = version.review_threshold if version else None
    if threshold is not None and 0.5 <= threshold <= 1:
        markers.append((threshold, f"review below {threshold:g}"))
    return charts.histogram(
        counts=stats.confidence_bins, edges=selectors.CONFIDENCE_EDGES, css="confidence", markers=markers
    )


def _drift(report: DriftReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    rows = [(row.feature, row.psi, row.state) for row in report.features.all()]
    return charts.drift_bars(rows, warning=settings.PSI_WARNING, alert=settings.PSI_ALERT)


def _holdout_metrics(version: ModelVersion | None) -> list[tuple[str, str]]:
    if version is None:
        return []
    shown: list[tuple[str, str]] = []
    for key, (label, spec) in METRIC_LABELS.items():
        value = version.metrics.get(key)
        if value is not None:
            shown.append((label, spec.format(value)))
    return shown
