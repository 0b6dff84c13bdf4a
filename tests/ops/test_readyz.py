"""/readyz: the database, the broker and the active model, each checked and reported."""

import os

import pytest

from predictions import registry
from tests.predictions.helpers import artifact_remove, artifact_tamper


@pytest.fixture(autouse=True)
def no_broker(settings):
    # Without REDIS_URL tasks run in-process and there is no broker to check.
    settings.REDIS_URL = ""


def test_it_is_ready_with_a_verified_active_model(active_model, client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "skipped"
    assert body["checks"]["broker"]["detail"] == "in-process tasks"
    assert body["checks"]["model"]["status"] == "ok"
    assert body["checks"]["model"]["version"] == active_model.version
    assert body["checks"]["model"]["sha256"] == active_model.sha256


def test_it_needs_no_login_and_is_never_cached(active_model, client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_it_is_not_ready_without_an_active_model(db, client):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["model"]
    assert body["checks"]["model"]["error"] == "NoActiveModel"
    assert body["checks"]["database"]["status"] == "ok"


def test_it_is_not_ready_when_the_artifact_was_tampered_with(active_model, client):
    artifact_tamper(active_model)
    registry.forget()  # as in a process that has not loaded the model yet

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["model"]
    assert response.json()["checks"]["model"]["error"] == "ArtifactError"


def test_it_is_not_ready_when_the_artifact_is_missing(active_model, client):
    artifact_remove(active_model)
    registry.forget()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["model"]
    assert response.json()["checks"]["model"]["error"] == "ArtifactError"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_it_pings_the_broker_when_there_is_one(active_model, client, settings):
    settings.REDIS_URL = os.environ["REDIS_URL"]

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["status"] == "ok"
