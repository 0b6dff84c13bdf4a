"""The same outcome reported many times at once, on PostgreSQL: stored once, never a 500."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditEvent
from outcomes import services
from outcomes.models import Outcome
from tests.outcomes.factories import report

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("audit_log_flushable"),
]

REPORTERS = 8
FIELDS = {"source": "chargeback", "reference": "dispute-1", "occurred_at": "2026-11-26T09:30:00Z"}


def _all_at_once(work, count: int) -> list:
    """Run work(n) in `count` threads released together; each thread has its own connection."""
    start = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(n):
        try:
            start.wait(timeout=30)
            results[n] = work(n)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a reporter hung"
    assert errors == []
    return results


@pytest.fixture
def post_as_key(api_key_and_secret):
    def post(request_id: str, label: str):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}")
        response = report(client, request_id=request_id, label=label, **FIELDS)
        return response.status_code, response.json()

    return post


@pytest.fixture
def everyone_looks_before_anyone_inserts(monkeypatch):
    """Hold each reporter after its first look-up until all have looked: every one of them then
    inserts, so all but one must lose the race at the unique constraint."""
    look_up, looked, seen = services._stored_outcomes, threading.Barrier(REPORTERS), threading.local()

    def held_look_up(candidates):
        stored = look_up(candidates)
        if not getattr(seen, "looked", False):
            seen.looked = True
            looked.wait(timeout=30)
        return stored

    monkeypatch.setattr(services, "_stored_outcomes", held_look_up)


def recorded_events() -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED).count()


@pytest.mark.usefixtures("everyone_looks_before_anyone_inserts")
def test_identical_reports_that_all_race_store_one_outcome_and_answer_it(prediction, post_as_key):
    answers = _all_at_once(lambda n: post_as_key(prediction.request_id, "fraud"), REPORTERS)

    assert sorted(status for status, _ in answers) == [200] * (REPORTERS - 1) + [201]
    assert len({body["id"] for _, body in answers}) == 1
    assert Outcome.objects.count() == 1
    assert recorded_events() == 1


@pytest.mark.usefixtures("everyone_looks_before_anyone_inserts")
def test_contradicting_reports_that_race_store_one_and_refuse_the_others(prediction, post_as_key):
    answers = _all_at_once(lambda n: post_as_key(prediction.request_id, ("fraud", "legit")[n % 2]), REPORTERS)

    stored = Outcome.objects.get()
    winners = [body for status, body in answers if status == 201]
    assert len(winners) == 1
    assert winners[0]["label"] == stored.label
    for status, body in answers:
        if status == 200:
            assert body == winners[0]
        else:
            assert status in (201, 409)
            assert status == 201 or list(body) == ["label"]
    assert sum(status == 409 for status, _ in answers) == REPORTERS // 2
    assert recorded_events() == 1


def test_identical_reports_at_once_store_one_outcome(make_predictions, post_as_key):
    # No hold: the race as it comes, over several predictions.
    predictions = make_predictions(4)
    for prediction in predictions:
        answers = _all_at_once(lambda n, p=prediction: post_as_key(p.request_id, "legit"), REPORTERS)

        assert sorted(status for status, _ in answers) == [200] * (REPORTERS - 1) + [201]
    assert Outcome.objects.count() == len(predictions)
    assert recorded_events() == len(predictions)


def test_outcomes_of_one_prediction_reported_at_once_leave_the_latest_effective(
    prediction, api_key_and_secret
):
    # Eight sources report at once, each with its own time; the row lock makes each writer
    # re-check the stored time, so whatever the commit order the latest stands.
    sources = ["chargeback", "fraud_report", "customer_confirmed", "investigation", "other"]

    def post(n: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}")
        response = report(
            client,
            request_id=prediction.request_id,
            label="fraud" if n % 2 else "legit",
            source=sources[n % len(sources)],
            reference=f"case-{n}",
            occurred_at=f"2026-11-{10 + n:02d}T00:00:00Z",
        )
        return response.status_code

    assert _all_at_once(post, REPORTERS) == [201] * REPORTERS
    prediction.refresh_from_db()
    latest = REPORTERS - 1
    assert prediction.outcome_occurred_at.day == 10 + latest
    assert prediction.outcome_label == ("fraud" if latest % 2 else "legit")
    assert prediction.outcome_source == sources[latest % len(sources)]
