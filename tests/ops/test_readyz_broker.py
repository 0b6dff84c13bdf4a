"""/readyz and the broker: reported, never failing the probe unless asked (`?broker=1`).

Scoring works without Redis (the routing outbox and its sweeper catch up, rate limits fail
open), so a Redis blip must not take every web process out of the load balancer.
"""

import os
import time

import pytest


@pytest.fixture
def broker_down(settings, closed_port):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port}/0"


def test_it_stays_ready_when_the_broker_does_not_answer(active_model, client, broker_down):
    started = time.monotonic()
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["failed"] == []
    assert body["degraded"] == ["broker"]
    assert body["checks"]["broker"]["status"] == "fail"
    assert body["checks"]["broker"]["error"] == "ConnectionError"
    assert body["checks"]["broker"]["required"] is False
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["required"] is True
    assert body["checks"]["model"]["required"] is True
    assert time.monotonic() - started < 1


def test_asked_for_the_broker_it_is_not_ready_without_it(active_model, client, broker_down):
    response = client.get("/readyz?broker=1")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"]["required"] is True
    assert body["checks"]["model"]["status"] == "ok"


def test_a_missing_model_fails_it_whatever_the_broker(db, client, broker_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["model"]
    assert body["degraded"] == ["broker"]


def test_without_a_broker_there_is_nothing_to_report(active_model, client, settings):
    settings.REDIS_URL = ""

    body = client.get("/readyz?broker=1").json()

    assert body["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "skipped"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_it_pings_the_broker_when_there_is_one(active_model, client, settings):
    settings.REDIS_URL = os.environ["REDIS_URL"]

    for path in ("/readyz", "/readyz?broker=1"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.json()["checks"]["broker"]["status"] == "ok"
