"""Group commit: single predictions a web process scores at the same time share one statement.

Each request still answers only once its own row is committed, with its own explanation and
audit event; a request_id already stored, or a row the database refuses, fails that request
alone. The tests hold the first request's insert behind a table lock taken by another
connection, so the requests that follow queue behind it, then let it go and read which
transaction wrote each row (PostgreSQL's xmin).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DataError, connection
from prometheus_client import REGISTRY

from audit.selectors import audit_chain_verify
from audit.services import audit_chain_extend
from predictions import persistence, services
from predictions.models import Explanation, Prediction
from reviewapp import metrics
from tests.predictions.helpers import PREDICT_URL, chain_entries, post_json, predictions_table_locked
from tests.worker import wait_until

pytestmark = pytest.mark.postgres

INSERT_STATEMENT = "%WITH incoming AS (%"  # persistence.py's insert


def inserts_waiting_for_the_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            [INSERT_STATEMENT],
        )
        return cursor.fetchone()[0]


def queued_rows() -> int:
    return len(persistence._group_commit._queue)


def in_thread(work: Callable[[], Any], results: dict[int, Any], key: int) -> threading.Thread:
    def run() -> None:
        try:
            results[key] = work()
        except Exception as error:  # the test asserts on it
            results[key] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def behind_a_held_insert(first: Callable[[], Any], rest: list[Callable[[], Any]]) -> list[Any]:
    """Run `first` until its insert waits on the lock, then `rest` until all of them queue
    behind it in the process; release the lock and return every result (or error), in order."""
    results: dict[int, Any] = {}
    with predictions_table_locked():
        threads = [in_thread(first, results, 0)]
        wait_until(lambda: inserts_waiting_for_the_lock() == 1, timeout=30, what="the first insert waits")
        threads += [in_thread(work, results, index) for index, work in enumerate(rest, start=1)]
        wait_until(lambda: queued_rows() == len(rest), timeout=30, what="the others queue behind it")
    for thread in threads:
        thread.join(timeout=60)
    return [results[index] for index in range(len(rest) + 1)]


def predictions_counted(model_version) -> float:
    """Stored predictions the metrics counted for the model version (one confidence each)."""
    labels = {"model_version": str(model_version.version)}
    metrics.gathered.write_out()  # as a scrape does first
    return REGISTRY.get_sample_value("reviewapp_prediction_confidence_count", labels) or 0.0


def writing_transactions(request_ids: list[str]) -> int:
    """How many transactions wrote these predictions."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT xmin::text) FROM predictions_prediction WHERE request_id = ANY(%s)",
            [request_ids],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def post(api_key_and_secret, features):
    from rest_framework.test import APIClient

    def post_for(request_id: str, **changes: Any) -> Callable[[], tuple[int, dict]]:
        def send() -> tuple[int, dict]:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}")
            response = post_json(
                client, PREDICT_URL, {"request_id": request_id, "features": {**features, **changes}}
            )
            return response.status_code, response.json()

        return send

    return post_for


@pytest.fixture
def create(api_key_and_secret, features):
    """A scoring straight through the service, for a thread: the API refuses a request_id over
    64 characters itself. Returns whether the prediction was created."""

    def create_for(request_id: str) -> Callable[[], bool]:
        return lambda: services.prediction_create(
            api_key=api_key_and_secret[0], request_id=request_id, features=features
        )[1]

    return create_for


def test_requests_that_arrive_while_an_insert_is_in_flight_are_committed_together(
    audit_log_flushable, transactional_db, active_model, post
):
    request_ids = [f"group-{n}" for n in range(6)]

    answers = behind_a_held_insert(post(request_ids[0]), [post(request_id) for request_id in request_ids[1:]])

    assert [status for status, _ in answers] == [201] * 6
    assert [body["request_id"] for _, body in answers] == request_ids
    # The first alone, the five that queued behind it in one statement.
    assert writing_transactions(request_ids) == 2
    assert Explanation.objects.filter(prediction__request_id__in=request_ids).count() == 6
    assert chain_entries(request_ids) == 6
    audit_chain_extend()
    assert audit_chain_verify().ok


def test_without_group_commit_each_prediction_is_its_own_statement(
    audit_log_flushable, transactional_db, active_model, post, settings
):
    settings.SCORING_GROUP_COMMIT = False
    request_ids = [f"alone-{n}" for n in range(4)]
    results: dict[int, Any] = {}

    with predictions_table_locked():
        threads = [in_thread(post(request_id), results, n) for n, request_id in enumerate(request_ids)]
        wait_until(lambda: inserts_waiting_for_the_lock() == 4, timeout=30, what="four inserts wait")
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(status for status, _ in results.values()) == [201] * 4
    assert writing_transactions(request_ids) == 4


def test_a_repeat_in_a_group_gets_the_stored_answer_and_the_others_are_stored(
    audit_log_flushable, transactional_db, active_model, post
):
    original = post("stored-before")()
    new_ids = ["beside-1", "beside-2", "beside-3"]

    answers = behind_a_held_insert(post("first"), [post("stored-before"), *(post(n) for n in new_ids)])

    assert [status for status, _ in answers] == [201, 200, 201, 201, 201]
    assert answers[1][1] == original[1]
    assert writing_transactions(new_ids) == 1
    assert Prediction.objects.filter(request_id="stored-before").count() == 1
    assert Explanation.objects.filter(prediction__request_id="stored-before").count() == 1
    assert chain_entries(["stored-before"]) == 1
    assert chain_entries(new_ids) == 3


def test_a_repeat_with_other_features_in_a_group_is_a_conflict(
    audit_log_flushable, transactional_db, active_model, post
):
    post("taken")()

    answers = behind_a_held_insert(post("first"), [post("taken", amount=1.0), post("free")])

    assert [status for status, _ in answers] == [201, 409, 201]
    assert "different features" in answers[1][1]["request_id"][0]


def test_a_row_the_database_refuses_fails_alone(audit_log_flushable, transactional_db, active_model, create):
    too_long = "x" * 65
    results = behind_a_held_insert(create("first"), [create("fine-1"), create(too_long), create("fine-2")])

    assert results[0] is True and results[1] is True and results[3] is True
    assert isinstance(results[2], DataError)
    assert writing_transactions(["fine-1", "fine-2"]) == 2  # retried one by one after the refusal
    assert not Prediction.objects.filter(request_id=too_long).exists()
    assert chain_entries(["first", "fine-1", "fine-2"]) == 3


def test_a_groups_stored_rows_are_counted_once_each_and_the_others_not(
    audit_log_flushable, transactional_db, active_model, create
):
    create("stored-before")()
    counted_before = predictions_counted(active_model)

    results = behind_a_held_insert(
        create("first"), [create("fine-1"), create("x" * 65), create("stored-before"), create("fine-2")]
    )

    assert [r if isinstance(r, bool) else type(r) for r in results] == [True, True, DataError, False, True]
    assert predictions_counted(active_model) == counted_before + 3


def test_requests_with_one_request_id_go_in_different_groups(
    audit_log_flushable, transactional_db, active_model, post
):
    answers = behind_a_held_insert(post("first"), [post("twice"), post("twice"), post("other")])

    assert sorted(status for status, _ in answers[1:3]) == [200, 201]
    assert answers[1][1] == answers[2][1]
    assert Prediction.objects.filter(request_id="twice").count() == 1
    assert Explanation.objects.filter(prediction__request_id="twice").count() == 1
    assert chain_entries(["twice"]) == 1


def test_a_fault_while_writing_a_group_reaches_every_request_of_it(
    audit_log_flushable, transactional_db, active_model, create, monkeypatch
):
    real_params = persistence._document

    def broken_for_groups(rows, *args):
        if len(rows) > 1:
            raise RuntimeError("a bug in building a group's statement")
        return real_params(rows, *args)

    monkeypatch.setattr(persistence, "_document", broken_for_groups)
    results = behind_a_held_insert(create("first"), [create(f"grouped-{n}") for n in range(3)])

    assert results[0] is True
    assert [type(result) for result in results[1:]] == [RuntimeError] * 3
    assert not Prediction.objects.filter(request_id__startswith="grouped-").exists()


# --- a leader waits for the rows of requests already under way in its process -------------


@pytest.fixture
def held_before_scoring(monkeypatch):
    """Scorings of request IDs that begin "held-" stop, under way, until `go` is set: through
    the API, past the front (which counts them as expected) but before their rows reach the
    group commit."""
    go = threading.Event()
    real = services.prediction_create

    def held(**kwargs):
        if kwargs["request_id"].startswith("held-"):
            go.wait(timeout=60)
        return real(**kwargs)

    monkeypatch.setattr(services, "prediction_create", held)
    yield go
    go.set()  # a failed test's held requests end with it


def leader_waits() -> bool:
    return persistence._group_commit._gathered is not None


def test_a_leader_waits_for_a_request_under_way_and_writes_both_rows_in_one_statement(
    audit_log_flushable, transactional_db, active_model, post, create, held_before_scoring, settings
):
    settings.SCORING_GROUP_WAIT_MS = 60_000  # the test, not the clock, ends the wait
    results: dict[int, Any] = {}
    under_way = in_thread(post("held-under-way"), results, 0)
    wait_until(lambda: persistence._group_commit._expected == 1, timeout=30, what="the request is expected")
    leader = in_thread(create("leader"), results, 1)
    wait_until(leader_waits, timeout=30, what="the leader waits for it")
    assert not Prediction.objects.filter(request_id="leader").exists()

    held_before_scoring.set()
    for thread in (under_way, leader):
        thread.join(timeout=60)

    assert results[0][0] == 201 and results[0][1]["request_id"] == "held-under-way"
    assert results[1] is True
    assert writing_transactions(["held-under-way", "leader"]) == 1
    assert chain_entries(["held-under-way", "leader"]) == 2


def test_a_request_that_ends_without_a_row_ends_the_wait(
    audit_log_flushable, transactional_db, active_model, post, create, held_before_scoring, settings
):
    settings.SCORING_GROUP_WAIT_MS = 60_000
    results: dict[int, Any] = {}
    invalid = in_thread(post("held-invalid", amount="lots"), results, 0)
    wait_until(lambda: persistence._group_commit._expected == 1, timeout=30, what="the request is expected")
    leader = in_thread(create("leader"), results, 1)
    wait_until(leader_waits, timeout=30, what="the leader waits for it")

    held_before_scoring.set()
    leader.join(timeout=30)  # well before the 60 s the leader would wait otherwise
    invalid.join(timeout=30)

    assert results[1] is True
    assert results[0][0] == 400
    assert persistence._group_commit._expected == 0


def test_the_wait_for_requests_under_way_is_bounded(
    audit_log_flushable, transactional_db, active_model, post, create, held_before_scoring, settings
):
    settings.SCORING_GROUP_WAIT_MS = 50
    results: dict[int, Any] = {}
    stuck = in_thread(post("held-stuck"), results, 0)
    wait_until(lambda: persistence._group_commit._expected == 1, timeout=30, what="the request is expected")

    leader = in_thread(create("leader"), results, 1)
    leader.join(timeout=30)

    assert results[1] is True  # stored while the other is still under way
    assert Prediction.objects.filter(request_id="leader").exists()
    assert not leader_waits()
    held_before_scoring.set()
    stuck.join(timeout=30)
    assert results[0][0] == 201
    assert writing_transactions(["leader", "held-stuck"]) == 2


def test_a_request_alone_waits_for_nobody(
    audit_log_flushable, transactional_db, active_model, post, settings
):
    settings.SCORING_GROUP_WAIT_MS = 60_000  # the request itself was expected: it must not wait for itself
    results: dict[int, Any] = {}

    alone = in_thread(post("alone"), results, 0)
    alone.join(timeout=30)

    assert results[0][0] == 201
    assert persistence._group_commit._expected == 0
