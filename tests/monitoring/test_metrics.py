"""Monitoring gauges on /metrics: drift, the worker heartbeat, the kill switch."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitoring import tasks
from monitoring.metrics import MonitoringCollector
from monitoring.models import DriftReport, FeatureDrift, WorkerHeartbeat
from predictions import services
from reviewapp import celery_app, metrics


def scraped() -> dict[str, list]:
    registry = CollectorRegistry()
    registry.register(MonitoringCollector())
    text = generate_latest(registry).decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def report_on(version, *, psi: dict[str, float], score_psi: float = 0.01, minutes_ago: int = 0):
    report = DriftReport.objects.create(
        model_version=version,
        window_start=timezone.now() - timedelta(hours=24),
        window_end=timezone.now(),
        sample_size=500,
        score_psi=score_psi,
        score_state="ok",
    )
    DriftReport.objects.filter(pk=report.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    FeatureDrift.objects.bulk_create(
        FeatureDrift(report=report, feature=name, psi=value, state="ok") for name, value in psi.items()
    )
    return report


def test_the_latest_report_of_the_active_version_is_exported_per_feature(active_model):
    report_on(active_model, psi={"amount": 0.9, "channel": 0.5}, minutes_ago=30)
    report_on(active_model, psi={"amount": 0.31, "channel": 0.02}, score_psi=0.04, minutes_ago=5)

    families = scraped()

    psi = {s.labels["feature"]: s.value for s in families["reviewapp_drift_psi"]}
    assert psi == {"amount": 0.31, "channel": 0.02}
    assert families["reviewapp_drift_score_psi"][0].value == 0.04
    assert 290 <= families["reviewapp_drift_report_age_seconds"][0].value <= 320


def test_reports_on_a_retired_version_are_not_exported(register_model):
    old = register_model()
    report_on(old, psi={"amount": 0.9})
    register_model()

    assert "reviewapp_drift_psi" not in scraped()


def test_the_heartbeat_task_records_when_a_worker_last_ran_it(db):
    assert "reviewapp_worker_heartbeat_age_seconds" not in scraped()

    tasks.worker_heartbeat_record.delay()

    assert WorkerHeartbeat.objects.get().seen_at > timezone.now() - timedelta(seconds=5)
    assert scraped()["reviewapp_worker_heartbeat_age_seconds"][0].value < 5


def test_a_stale_heartbeat_shows_its_age(db):
    WorkerHeartbeat.objects.create(pk=1, seen_at=timezone.now() - timedelta(minutes=10))

    assert scraped()["reviewapp_worker_heartbeat_age_seconds"][0].value == pytest.approx(600, abs=5)


def test_beat_sends_the_heartbeat_every_minute():
    entry = celery_app.conf.beat_schedule["worker-heartbeat"]

    assert entry["task"] == "monitoring.tasks.worker_heartbeat_record"
    assert entry["task"] in celery_app.tasks


def test_the_kill_switch_is_exported(db):
    assert scraped()["reviewapp_review_all_predictions"][0].value == 0

    services.review_all_predictions_set(on=True, actor="test")

    assert scraped()["reviewapp_review_all_predictions"][0].value == 1


def test_the_gauges_are_part_of_the_apps_metrics(active_model):
    report_on(active_model, psi={"amount": 0.4})

    body, _ = metrics.exposition()

    assert b'reviewapp_drift_psi{feature="amount"} 0.4' in body
    assert b"reviewapp_review_all_predictions 0.0" in body


def test_how_far_behind_the_audit_linker_is_is_exported(db):
    from audit.models import AuditPending

    assert scraped()["reviewapp_audit_unlinked_rows"][0].value == 0
    assert scraped()["reviewapp_audit_oldest_unlinked_age_seconds"][0].value == 0
    AuditPending.objects.bulk_create(AuditPending(source="event", object_id=n) for n in (1, 2, 3))
    oldest = AuditPending.objects.order_by("id").first()
    AuditPending.objects.filter(pk=oldest.pk).update(queued_at=timezone.now() - timedelta(minutes=20))

    families = scraped()

    assert families["reviewapp_audit_unlinked_rows"][0].value == 3
    assert 1195 <= families["reviewapp_audit_oldest_unlinked_age_seconds"][0].value <= 1230
