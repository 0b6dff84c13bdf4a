"""A request's ID reaches the task it enqueues in a real Celery worker (Redis, PostgreSQL)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from reviewapp import celery_app
from tests.worker import CeleryWorker, purge_queue, wait_until, worker_environment

pytestmark = pytest.mark.integration


def database_sessions(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def worker(transactional_db, monkeypatch) -> Iterator[CeleryWorker]:
    queue = f"reviewapp-ops-{uuid.uuid4().hex[:12]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    env = worker_environment(queue=queue, LOG_FORMAT="json")
    celery_worker = CeleryWorker(env=env, queue=queue, hostname=f"{queue}@%h")
    try:
        yield celery_worker
    finally:
        celery_worker.kill()
        purge_queue(redis_url=settings.REDIS_URL, queue=queue)
        wait_until(lambda: database_sessions(queue) == 0, timeout=30, what="the worker's sessions to end")


def test_the_routing_task_in_the_worker_logs_the_api_requests_id(
    worker, review_model, api_client, transactions
):
    worker.start()

    response = api_client.post(
        "/api/v1/predictions/",
        {"features": transactions(1)[0]},
        format="json",
        HTTP_X_REQUEST_ID="req-to-worker",
    )

    assert response.status_code == 201
    assert response.json()["routing"] == "review"
    line = json.loads(worker.wait_for_output('"message":"task started"', timeout=30))
    assert line["task"] == "reviews.tasks.review_items_route"
    assert line["request_id"] == "req-to-worker"
    assert line["pid"] != os.getpid()
