"""Each web server stores its latency histograms once a minute; beat keeps the table to its retention."""

import importlib
import sys
import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from monitoring import recorder, services, tasks
from monitoring.models import LatencySnapshot
from reviewapp import celery_app, metrics
from tests.monitoring.factories import snapshot_store

ROUTE = "test-latency-route"  # the histograms are the process's own: a route no other test uses


def test_a_snapshot_holds_the_cumulative_histograms_of_the_process(db):
    for seconds in (0.003, 0.04, 0.04, 0.6):
        metrics.request_observe(route=ROUTE, method="POST", status=200, seconds=seconds)
    metrics.request_observe(route="healthz", method="GET", status=200, seconds=0.001)

    now = timezone.now()

    recorded = services.latency_snapshot_record(source="web-1", now=now)

    assert recorded is not None
    stored = LatencySnapshot.objects.get()
    assert (stored.source, stored.taken_at) == ("web-1", now.replace(second=0, microsecond=0))
    assert stored.bounds == list(metrics.LATENCY_BUCKETS)
    mine = stored.histograms[f"POST {ROUTE}"]
    # Cumulative per bound: 5 ms, 10, 25, 50, ... 500 ms, 1 s, ... then +Inf.
    assert mine["buckets"][:4] == [1, 1, 1, 3]
    assert mine["buckets"][-1] == 4
    assert mine["sum"] == pytest.approx(0.683)
    assert not any(key.endswith(" healthz") for key in stored.histograms)  # probes left out
    assert stored.requests == sum(h["buckets"][-1] for h in stored.histograms.values())


def test_a_server_writes_one_snapshot_a_minute_whichever_process_comes_first(db):
    # The start of a minute, so one second later is still the same minute (at :59 it was not).
    now = timezone.now().replace(second=0, microsecond=0)

    first = services.latency_snapshot_record(source="web-1", now=now)
    second = services.latency_snapshot_record(source="web-1", now=now + timedelta(seconds=1))
    other = services.latency_snapshot_record(source="web-2", now=now)

    assert first is not None and second is None and other is not None
    assert sorted(LatencySnapshot.objects.values_list("source", flat=True)) == ["web-1", "web-2"]


def test_pruning_deletes_snapshots_past_the_retention_only(db):
    now = timezone.now()
    snapshot_store("web-1", now - services.LATENCY_RETENTION - timedelta(minutes=1))
    kept = snapshot_store("web-1", now - services.LATENCY_RETENTION + timedelta(minutes=1))

    deleted = tasks.latency_snapshots_prune.delay().get()

    assert deleted == 1
    assert list(LatencySnapshot.objects.values_list("pk", flat=True)) == [kept.pk]


def test_beat_prunes_the_snapshots_every_hour():
    entry = celery_app.conf.beat_schedule["prune-latency-snapshots"]

    assert entry["task"] == "monitoring.tasks.latency_snapshots_prune"
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"].minute == {7}


# --- the recorder thread ----------------------------------------------------------------


def test_the_recorder_wakes_just_after_each_minute():
    assert recorder.seconds_to_next_minute(120.0) == pytest.approx(60.5)
    assert recorder.seconds_to_next_minute(179.9) == pytest.approx(0.6)


def test_each_process_is_its_own_source_outside_multiprocess_mode(monkeypatch):
    monkeypatch.setattr(metrics, "multiprocess_mode", lambda: False)
    monkeypatch.setattr(recorder.os, "getpid", lambda: 4242)

    assert recorder.source_name().endswith(":pid 4242")


def test_a_servers_worker_processes_share_their_metrics_directory_as_source(monkeypatch):
    monkeypatch.setattr(metrics, "multiprocess_mode", lambda: True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/reviewapp-metrics-x1")

    assert recorder.source_name().endswith(":/tmp/reviewapp-metrics-x1")


def test_a_database_error_is_logged_and_the_recorder_carries_on(db, monkeypatch, caplog):
    def fail(**kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(services, "latency_snapshot_record", fail)
    thread = recorder.LatencyRecorder(source="web-1")

    # In a thread of its own, as in a web process: it closes that thread's connections.
    attempt = threading.Thread(target=thread.record)
    attempt.start()
    attempt.join(timeout=10)

    assert thread.recorded.is_set()
    assert "latency snapshot of web-1 not recorded" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_recorder_thread_records_a_baseline_at_start_and_stops_when_asked():
    thread = recorder.LatencyRecorder(source="web-thread")
    thread.start()
    try:
        assert thread.recorded.wait(timeout=10)
    finally:
        thread.stop()
        thread.join(timeout=10)

    assert not thread.is_alive()
    # At least the baseline; a second only if the minute turned while it was being stopped.
    assert LatencySnapshot.objects.filter(source="web-thread").count() >= 1


def test_each_web_process_starts_its_recorder_when_it_loads_the_wsgi_application(monkeypatch):
    # granian's workers and runserver load reviewapp.wsgi; Celery workers and commands never do.
    started = []
    monkeypatch.setattr(recorder, "start", lambda: started.append(True))
    monkeypatch.delitem(sys.modules, "reviewapp.wsgi", raising=False)

    importlib.import_module("reviewapp.wsgi")

    assert started == [True]
