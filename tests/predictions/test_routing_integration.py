"""Routing into the review queue through a real Celery worker, Redis and PostgreSQL.

Each test runs `celery -A reviewapp worker` as a separate process on the test database and
on a queue of this test session's own, and asserts on what the database holds afterwards.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from predictions import registry, services
from predictions.models import Prediction
from reviewapp import celery_app
from reviews.models import ReviewItem
from reviews.services import review_priority
from tests.worker import CeleryWorker, purge_queue, wait_until, worker_environment

pytestmark = pytest.mark.integration

# Generous for a loaded 2-core machine; routing normally takes well under a second.
ROUTING_DEADLINE_SECONDS = 20


@pytest.fixture(scope="session")
def worker_queue() -> Iterator[str]:
    """A queue of this session's own, so messages of other runs never reach its workers."""
    queue = f"reviewapp-integration-{uuid.uuid4().hex[:12]}"
    purge_queue(redis_url=settings.REDIS_URL, queue=queue)
    yield queue
    purge_queue(redis_url=settings.REDIS_URL, queue=queue)


@pytest.fixture
def worker(transactional_db, worker_queue, monkeypatch) -> Iterator[CeleryWorker]:
    """A worker on the test database and the session's queue; the test starts it."""
    # This process publishes where the worker consumes.
    monkeypatch.setitem(celery_app.conf, "task_default_queue", worker_queue)
    env = worker_environment(queue=worker_queue)
    celery_worker = CeleryWorker(env=env, queue=worker_queue, hostname=f"{worker_queue}@%h")
    try:
        yield celery_worker
    finally:
        # No warm shutdown needed: the session's end purges whatever a killed worker left.
        celery_worker.kill()
        # Nor may its database sessions outlive it (a killed one goes once it sees the socket
        # closed): the flush and, at the end, dropping the test database must not wait on them.
        wait_until(
            lambda: worker_database_sessions(worker_queue) == 0,
            timeout=30,
            what="the killed worker's database sessions to end",
        )


@pytest.fixture
def uncertain_transactions(active_model, transactions):
    """Transactions the active model is unsure about, so each one is routed to review."""

    def make(count: int) -> list[dict]:
        scorer = registry.get_active_model().scorer
        found: list[dict] = []
        seed = 100
        while len(found) < count:
            records = transactions(5_000, seed=seed)
            found += [
                record
                for record, scored in zip(records, scorer.score(records), strict=True)
                if scored.confidence < active_model.review_threshold
            ]
            seed += 1
        return found[:count]

    return make


def post_one(api_client, features: dict) -> dict:
    response = api_client.post("/api/v1/predictions/", {"features": features}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["routing"] == "review"
    return body


def post_batches(api_client, items: list[dict], *, batch_size: int) -> list[str]:
    request_ids = []
    for start in range(0, len(items), batch_size):
        batch = [{"features": features} for features in items[start : start + batch_size]]
        response = api_client.post("/api/v1/predictions/batch/", {"items": batch}, format="json")
        assert response.status_code == 201, response.json()
        results = response.json()["results"]
        assert {result["routing"] for result in results} == {"review"}
        request_ids += [result["request_id"] for result in results]
    return request_ids


def routing_states(request_ids: list[str]) -> Counter:
    return Counter(
        Prediction.objects.filter(request_id__in=request_ids).values_list("routing_state", flat=True)
    )


def wait_until_routed(request_ids: list[str], *, count: int | None = None) -> None:
    expected = len(request_ids) if count is None else count
    wait_until(
        lambda: routing_states(request_ids)[Prediction.RoutingState.DONE] >= expected,
        timeout=ROUTING_DEADLINE_SECONDS,
        what=f"{expected} of {len(request_ids)} predictions routed ({routing_states(request_ids)})",
    )


def assert_each_routed_once(request_ids: list[str]) -> None:
    assert routing_states(request_ids) == {Prediction.RoutingState.DONE: len(request_ids)}
    reviewed = Counter(
        ReviewItem.objects.filter(prediction__request_id__in=request_ids).values_list(
            "prediction__request_id", flat=True
        )
    )
    assert reviewed == Counter(request_ids)
    assert ReviewItem.objects.count() == len(request_ids)


@contextmanager
def review_item_inserts_blocked() -> Iterator[None]:
    """Make every insert into the review queue wait, so a routing task is caught mid-way.

    A second connection holds an EXCLUSIVE lock on the table: reads go on, writes queue up.
    """
    blocker = connection.copy()
    try:
        blocker.set_autocommit(False)
        with blocker.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{ReviewItem._meta.db_table}" IN EXCLUSIVE MODE')
        yield
    finally:
        blocker.rollback()
        blocker.close()


def worker_database_sessions(application_name: str, *, extra_condition: str = "", params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM pg_stat_activity WHERE application_name = %s {extra_condition}",
            [application_name, *params],
        )
        return cursor.fetchone()[0]


def routing_tasks_waiting_on_the_lock(worker: CeleryWorker) -> int:
    """The worker's database sessions stuck inserting review items, inside the task's transaction."""
    return worker_database_sessions(
        worker.queue,
        extra_condition="AND wait_event_type = 'Lock' AND query LIKE %s",
        params=[f'INSERT INTO "{ReviewItem._meta.db_table}"%'],
    )


@contextmanager
def broker_unreachable() -> Iterator[None]:
    """Publish to a port where nothing listens, as when Redis is down, and restore after."""
    with socket.socket() as reserved, pytest.MonkeyPatch.context() as patch:
        reserved.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        port = reserved.getsockname()[1]
        patch.setitem(celery_app.conf, "broker_write_url", f"redis://127.0.0.1:{port}/0")
        # Forget the cached pools so the next publish connects anew; the old ones come back on exit.
        patch.setattr(celery_app, "_pool", None)
        patch.setattr(celery_app.amqp, "_producer_pool", None)
        yield


def test_it_routes_a_low_confidence_prediction_through_the_worker(worker, api_client, uncertain_transactions):
    worker.start()
    started = time.monotonic()
    body = post_one(api_client, uncertain_transactions(1)[0])
    assert body["status"] == "pending_review"

    wait_until_routed([body["request_id"]])
    routed_after = time.monotonic() - started

    assert routed_after < 10
    assert_each_routed_once([body["request_id"]])
    prediction = Prediction.objects.get(request_id=body["request_id"])
    assert prediction.routed_at is not None
    assert prediction.review_item.state == ReviewItem.State.PENDING
    assert prediction.review_item.priority == pytest.approx(review_priority(prediction))


def test_the_worker_keeps_its_database_connection_from_task_to_task(
    worker, api_client, uncertain_transactions
):
    worker.start()
    backends = set()
    for features in uncertain_transactions(4):
        wait_until_routed([post_one(api_client, features)["request_id"]])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [worker.queue])
            backends |= {pid for (pid,) in cursor.fetchall()}

    # One pool process, one connection: not a new one (~3 ms of CPU on both sides) per task.
    assert len(backends) == 1


def test_it_routes_predictions_accepted_while_the_worker_was_down(worker, api_client, uncertain_transactions):
    worker.start()
    worker.stop()

    request_ids = [post_one(api_client, features)["request_id"] for features in uncertain_transactions(20)]
    assert routing_states(request_ids) == {Prediction.RoutingState.PENDING: 20}
    # The sweeper (beat, or cron with the command) runs while the worker is still down, so
    # every prediction now has two routing messages waiting: routing must stay idempotent.
    out = StringIO()
    call_command("sweep_routing", "--older-than=0", stdout=out)
    assert out.getvalue().strip() == "re-enqueued 20 predictions"
    assert routing_states(request_ids) == {Prediction.RoutingState.PENDING: 20}

    worker.start()
    wait_until_routed(request_ids)

    assert_each_routed_once(request_ids)


def test_it_loses_nothing_when_the_worker_is_killed_mid_task(
    worker, api_client, uncertain_transactions, settings
):
    settings.TASK_COALESCE_SECONDS = 0  # a task per batch, so one is caught and the rest queued
    worker.start()
    with review_item_inserts_blocked():
        # Four batches, four routing tasks: the worker takes the first and waits on the lock.
        request_ids = post_batches(api_client, uncertain_transactions(300), batch_size=75)
        wait_until(
            lambda: routing_tasks_waiting_on_the_lock(worker),
            timeout=30,
            what="a routing task waiting on the lock",
        )
        worker.kill()

    assert routing_states(request_ids) == {Prediction.RoutingState.PENDING: 300}
    assert ReviewItem.objects.count() == 0

    worker.start()
    # A new worker routes the three batches still queued. The killed task's message stays
    # unacknowledged in Redis until the visibility timeout: only the sweeper brings it back.
    wait_until_routed(request_ids, count=225)
    assert routing_states(request_ids) == {
        Prediction.RoutingState.DONE: 225,
        Prediction.RoutingState.PENDING: 75,
    }
    assert services.routing_sweep(older_than_seconds=0) == 75
    wait_until_routed(request_ids)

    assert_each_routed_once(request_ids)


def test_it_redelivers_the_task_of_a_killed_pool_process(worker, api_client, uncertain_transactions):
    worker.start()
    with review_item_inserts_blocked():
        request_ids = post_batches(api_client, uncertain_transactions(100), batch_size=100)
        wait_until(
            lambda: routing_tasks_waiting_on_the_lock(worker),
            timeout=30,
            what="a routing task waiting on the lock",
        )
        assert worker.kill_pool_processes()
        worker.wait_for_output("WorkerLostError")

    # No sweep: the main process hands the lost task back to the queue (reject_on_worker_lost)
    # and the replacement pool process runs it.
    wait_until_routed(request_ids)

    assert_each_routed_once(request_ids)


def test_requests_within_a_window_are_routed_by_one_task(
    worker, api_client, uncertain_transactions, settings
):
    settings.TASK_COALESCE_SECONDS = 1.0
    worker.start()
    request_ids = [post_one(api_client, features)["request_id"] for features in uncertain_transactions(5)]

    wait_until_routed(request_ids)

    assert_each_routed_once(request_ids)
    # One routing task marks its predictions routed at one time: five requests, at most two
    # windows (the first may close while the later requests are still being answered).
    routed_at = set(Prediction.objects.filter(request_id__in=request_ids).values_list("routed_at", flat=True))
    assert 1 <= len(routed_at) <= 2


def test_it_accepts_predictions_while_the_broker_is_down(
    worker, api_client, uncertain_transactions, caplog, settings
):
    settings.TASK_COALESCE_SECONDS = 0  # each request publishes at once, while the broker is down
    first, second = uncertain_transactions(2)
    with broker_unreachable():
        started = time.monotonic()
        single = post_one(api_client, first)
        answered_after = time.monotonic() - started
        batch = post_batches(api_client, [second], batch_size=1)
    request_ids = [single["request_id"], *batch]

    assert answered_after < 1  # no retrying a refused connection while the client waits
    assert caplog.text.count("routing enqueue failed") == 2
    worker.start()
    assert routing_states(request_ids) == {Prediction.RoutingState.PENDING: 2}

    assert services.routing_sweep(older_than_seconds=0) == 2
    wait_until_routed(request_ids)

    assert_each_routed_once(request_ids)
