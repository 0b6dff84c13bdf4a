"""Request IDs: from the client (or made up), in every log line, back in the response, into tasks."""

import contextvars
import json

import pytest
from celery.worker.request import Request

from reviewapp import celery_app, logs
from tests.predictions.helpers import PREDICT_URL


@celery_app.task(name="tests.ops.request_id_seen")
def request_id_seen() -> str:
    logs.logger.info("inside the task")
    return logs.request_id_var.get()


def test_the_clients_request_id_comes_back(db, client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="checkout-42:a.b_c")

    assert response["X-Request-ID"] == "checkout-42:a.b_c"


@pytest.mark.parametrize("sent", [None, "", "has spaces", "x" * 65, "semi;colon", "naïve"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(db, client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    first = client.get("/healthz", **headers)["X-Request-ID"]
    second = client.get("/healthz", **headers)["X-Request-ID"]

    assert first != sent
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_each_api_request_logs_one_json_access_line(api_client, api_key_and_secret, log_lines):
    response = api_client.get("/api/v1/predictions/missing-one/", HTTP_X_REQUEST_ID="req-access-1")

    assert response.status_code == 404
    (line,) = [line for line in log_lines() if line["logger"] == "reviewapp.access"]
    assert line["request_id"] == "req-access-1"
    assert line["method"] == "GET"
    assert line["route"] == "api-prediction-detail"
    assert line["status"] == 404
    assert line["duration_ms"] >= 0
    assert line["api_key"] == api_key_and_secret[0].name
    assert line["level"] == "INFO"
    assert isinstance(line["pid"], int) and line["time"]


def test_every_line_of_a_request_carries_its_id_even_djangos_own(db, client, log_lines):
    client.get("/no/such/page", HTTP_X_REQUEST_ID="req-404")

    lines = log_lines()
    assert {line["logger"] for line in lines} >= {"reviewapp.access", "django.request"}
    assert all(line["request_id"] == "req-404" for line in lines)


def test_probes_are_not_logged(db, client, log_lines):
    client.get("/healthz")
    client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert [line for line in log_lines() if line["logger"] == "reviewapp.access"] == []


def test_no_request_id_is_left_behind_after_a_request(db, client):
    client.get("/healthz", HTTP_X_REQUEST_ID="req-done")

    assert logs.request_id_var.get() == ""


@pytest.mark.django_db(transaction=True)
def test_the_routing_task_logs_with_the_request_id_of_the_api_call(
    review_model, api_client, transactions, log_lines
):
    # Committed for real, so the routing task runs (eagerly) from inside the request.
    response = api_client.post(
        PREDICT_URL,
        json.dumps({"features": transactions(1)[0]}),
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-routed",
    )

    assert response.status_code == 201
    assert response.json()["routing"] == "review"
    (started,) = [line for line in log_lines() if line["message"] == "task started"]
    assert started["task"] == "reviews.tasks.review_items_route"
    assert started["request_id"] == "req-routed"


def test_a_published_task_carries_the_request_id_to_the_worker(monkeypatch):
    """Publish through the broker, then run the message as a worker would, in a fresh context."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    queue = "tests-ops-request-ids"
    token = logs.request_id_var.set("req-published")
    try:
        request_id_seen.apply_async(queue=queue)
    finally:
        logs.request_id_var.reset(token)

    with celery_app.connection_for_read() as connection:
        simple = connection.SimpleQueue(queue)
        try:
            message = simple.get(timeout=5)
            message.ack()
        finally:
            simple.queue.delete()
            simple.close()

    assert message.headers[logs.TASK_HEADER] == "req-published"
    worker_request = Request(message, app=celery_app, task=request_id_seen)
    assert contextvars.Context().run(worker_request.execute) == "req-published"


def test_without_a_request_a_task_has_no_request_id(monkeypatch):
    assert request_id_seen.delay().get() == ""
