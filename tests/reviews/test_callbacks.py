"""Telling upstream about decisions: signed POSTs to a real local receiver, retries, dead letters."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from predictions import services as prediction_services
from reviews import services, tasks, webhooks
from reviews.models import CallbackAttempt, CallbackDelivery, Decision
from tests.reviews.factories import digest_of
from tests.reviews.receivers import Receiver, closed_port_url

SECRET = "callback-secret-for-tests"


@pytest.fixture
def receiver():
    receiver = Receiver(SECRET).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def backoff(settings):
    settings.CALLBACK_BACKOFF_SECONDS = 5
    settings.CALLBACK_BACKOFF_MAX_SECONDS = 300
    settings.CALLBACK_MAX_ATTEMPTS = 8
    settings.CALLBACK_TIMEOUT_SECONDS = 5.0
    return settings


@pytest.fixture
def decide(make_items, analyst, django_capture_on_commit_callbacks, backoff):
    """decide(url): an analyst overrides a prediction of a key whose callbacks go to url."""

    def run(url: str) -> Decision:
        api_key, _ = prediction_services.api_key_create(
            name=f"shop-{CallbackDelivery.objects.count()}", callback_url=url, callback_secret=SECRET
        )
        (item,) = make_items(1, api_key=api_key)
        services.review_item_claim(item_id=item.pk, user=analyst)
        with django_capture_on_commit_callbacks(execute=True):
            return services.decision_record(
                item_id=item.pk,
                user=analyst,
                outcome="overridden",
                reason="known_customer_behaviour",
                seen_digest=digest_of(item),
            )

    return run


def _deliver(delivery: CallbackDelivery) -> CallbackDelivery:
    return services.callback_deliver(delivery_id=delivery.pk)


def test_a_decision_is_posted_signed_to_the_callback_url(receiver, decide):
    decision = decide(receiver.url)

    (received,) = receiver.wait_for(1)
    prediction = decision.review_item.prediction
    assert received.path == "/hooks/decisions"
    assert received.signature_ok
    assert received.headers["Content-Type"] == "application/json"
    assert received.json == {
        "request_id": prediction.request_id,
        "final_label": decision.final_label,
        "decision": "overridden",
        "reason": "known_customer_behaviour",
        "decided_at": decision.decided_at.isoformat(),
        "model_version": prediction.model_version.version,
        "audit_sample": False,
        "blind": False,
    }
    delivery = CallbackDelivery.objects.get(decision=decision)
    assert delivery.state == CallbackDelivery.State.DELIVERED
    assert delivery.attempts == 1
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None
    (attempt,) = delivery.attempt_log.all()
    assert (attempt.status_code, attempt.error) == (200, "")
    assert attempt.duration_ms >= 0


def test_nothing_is_sent_before_the_decision_commits(receiver, make_items, analyst, backoff):
    api_key, _ = prediction_services.api_key_create(
        name="shop", callback_url=receiver.url, callback_secret=SECRET
    )
    (item,) = make_items(1, api_key=api_key)
    services.review_item_claim(item_id=item.pk, user=analyst)

    services.decision_record(item_id=item.pk, user=analyst, outcome="confirmed", seen_digest=digest_of(item))

    delivery = CallbackDelivery.objects.get()
    assert delivery.state == CallbackDelivery.State.PENDING
    assert delivery.attempts == 0
    assert receiver.requests == []


def test_a_key_without_a_callback_url_gets_no_delivery(
    make_items, analyst, api_key_and_secret, django_capture_on_commit_callbacks
):
    (item,) = make_items(1, api_key=api_key_and_secret[0])
    services.review_item_claim(item_id=item.pk, user=analyst)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.decision_record(
            item_id=item.pk, user=analyst, outcome="confirmed", seen_digest=digest_of(item)
        )

    assert callbacks == []
    assert not CallbackDelivery.objects.exists()


def test_a_failing_receiver_is_retried_with_backoff_until_it_recovers(receiver, decide):
    receiver.planned = [500, 503]

    decision = decide(receiver.url)

    delivery = CallbackDelivery.objects.get(decision=decision)
    first = delivery.attempt_log.get()
    assert (first.status_code, first.error) == (500, "HTTP 500")
    assert delivery.state == CallbackDelivery.State.PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == first.attempted_at + timedelta(seconds=5)

    delivery = _deliver(delivery)

    second = delivery.attempt_log.last()
    assert (second.status_code, second.error) == (503, "HTTP 503")
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == second.attempted_at + timedelta(seconds=10)

    delivery = _deliver(delivery)

    assert delivery.state == CallbackDelivery.State.DELIVERED
    assert delivery.attempts == 3
    assert delivery.next_attempt_at is None
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 503, 200]
    requests = receiver.wait_for(3)
    assert all(r.signature_ok for r in requests)
    assert len({r.body for r in requests}) == 1


def test_backoff_doubles_up_to_its_cap(backoff):
    assert [services.backoff_seconds(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]


def test_a_failed_delivery_schedules_its_retry_in_the_worker(receiver, decide, monkeypatch):
    from reviewapp import celery_app

    receiver.planned = [500, 500]
    decision = decide(receiver.url)
    scheduled = []
    monkeypatch.setattr(services, "callback_enqueue", lambda **kwargs: scheduled.append(kwargs))
    delivery = CallbackDelivery.objects.get(decision=decision)

    celery_app.conf.task_always_eager = False  # as in a worker; the autouse fixture restores it
    state = tasks.callback_deliver(delivery.pk)

    assert state == "pending"
    assert scheduled == [{"delivery_id": delivery.pk, "countdown": 10}]


def test_an_unreachable_receiver_is_logged_and_retried(decide):
    decision = decide(closed_port_url())

    delivery = CallbackDelivery.objects.get(decision=decision)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert "refused" in attempt.error.lower()
    assert delivery.state == CallbackDelivery.State.PENDING
    assert delivery.next_attempt_at == attempt.attempted_at + timedelta(seconds=5)


def test_a_receiver_that_does_not_answer_times_out(receiver, decide, settings):
    settings.CALLBACK_TIMEOUT_SECONDS = 0.2
    receiver.mode = "hang"

    decision = decide(receiver.url)

    receiver.wait_for(1)
    attempt = CallbackAttempt.objects.get(delivery__decision=decision)
    assert attempt.status_code is None
    assert "timed out" in attempt.error
    assert attempt.duration_ms >= 200
    assert CallbackDelivery.objects.get(decision=decision).state == CallbackDelivery.State.PENDING


def test_a_receiver_that_answers_nonsense_is_logged_and_retried(receiver, decide):
    receiver.mode = "garbage"

    decision = decide(receiver.url)

    receiver.wait_for(1)
    delivery = CallbackDelivery.objects.get(decision=decision)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("BadStatusLine")
    assert delivery.attempts == 1
    assert delivery.state == CallbackDelivery.State.PENDING


@pytest.mark.parametrize("url", ["http://127.0.0.1:port/hooks", "http://[::1/hooks"])
def test_a_url_that_cannot_be_requested_is_logged_and_ends_dead(decide, settings, url):
    settings.CALLBACK_MAX_ATTEMPTS = 2
    decision = decide(url)
    delivery = CallbackDelivery.objects.get(decision=decision)

    delivery = _deliver(delivery)

    assert delivery.state == CallbackDelivery.State.DEAD
    errors = [a.error for a in delivery.attempt_log.all()]
    assert len(errors) == 2
    assert all(errors)


def test_after_the_last_attempt_the_delivery_is_dead(receiver, decide, settings):
    settings.CALLBACK_MAX_ATTEMPTS = 3
    receiver.planned = [500, 500, 500]
    decision = decide(receiver.url)
    delivery = CallbackDelivery.objects.get(decision=decision)

    _deliver(delivery)
    delivery = _deliver(delivery)

    assert delivery.state == CallbackDelivery.State.DEAD
    assert delivery.attempts == 3
    assert delivery.next_attempt_at is None
    assert _deliver(delivery).attempts == 3
    assert len(receiver.requests) == 3
    assert delivery.attempt_log.count() == 3


def test_replaying_a_dead_delivery_sends_it_again(
    receiver, decide, settings, django_capture_on_commit_callbacks
):
    settings.CALLBACK_MAX_ATTEMPTS = 1
    receiver.planned = [500]
    decision = decide(receiver.url)
    delivery = CallbackDelivery.objects.get(decision=decision)
    assert delivery.state == CallbackDelivery.State.DEAD

    with django_capture_on_commit_callbacks(execute=True):
        services.callback_replay(delivery_id=delivery.pk)

    requests = receiver.wait_for(2)
    assert requests[0].body == requests[1].body
    delivery.refresh_from_db()
    assert delivery.state == CallbackDelivery.State.DELIVERED
    assert delivery.attempts == 1
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 200]


def test_overdue_deliveries_are_enqueued_again(receiver, decide):
    receiver.planned = [500]
    overdue = CallbackDelivery.objects.get(decision=decide(receiver.url))
    not_yet = CallbackDelivery.objects.get(decision=decide(closed_port_url()))
    CallbackDelivery.objects.filter(pk=overdue.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )

    assert services.callbacks_enqueue_due() == 1

    overdue.refresh_from_db()
    not_yet.refresh_from_db()
    assert overdue.state == CallbackDelivery.State.DELIVERED
    assert not_yet.attempts == 1


def test_an_attempt_that_ends_after_another_worker_delivered_leaves_it_delivered(
    receiver, decide, settings, monkeypatch
):
    # Two workers can hold the same delivery (a sweep and a retry); the slower one must not undo.
    settings.CALLBACK_MAX_ATTEMPTS = 2
    receiver.planned = [500]
    delivery = CallbackDelivery.objects.get(decision=decide(receiver.url))
    real_post = webhooks.post

    def post_while_another_worker_delivers(**kwargs):
        outcome = real_post(**kwargs)
        CallbackDelivery.objects.filter(pk=delivery.pk).update(
            state=CallbackDelivery.State.DELIVERED, delivered_at=timezone.now(), next_attempt_at=None
        )
        return webhooks.Outcome(status_code=502, error="HTTP 502", duration_ms=outcome.duration_ms)

    monkeypatch.setattr(webhooks, "post", post_while_another_worker_delivers)

    _deliver(delivery)

    delivery.refresh_from_db()
    assert delivery.state == CallbackDelivery.State.DELIVERED
    assert delivery.next_attempt_at is None
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 502]


# --- signatures ---------------------------------------------------------------------------


def _signed(body: bytes, timestamp: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    return {
        "secret": SECRET,
        "timestamp": timestamp,
        "body": body,
        "presented": webhooks.signature(secret=SECRET, timestamp=timestamp, body=body),
    }


def test_a_genuine_signature_verifies():
    assert webhooks.verify(**_signed(b'{"final_label":"fraud"}'))


@pytest.mark.parametrize(
    "tamper",
    [
        {"body": b'{"final_label":"legit"}'},
        {"secret": "someone-elses-secret"},
        {"presented": "sha256=" + "0" * 64},
        {"timestamp": "1"},
        {"presented": None},
        {"timestamp": None},
        {"presented": "sha256=\u00e9"},
    ],
    ids=["body", "secret", "signature", "timestamp", "no-signature", "no-timestamp", "non-ascii"],
)
def test_a_tampered_or_missing_signature_fails(tamper):
    assert not webhooks.verify(**{**_signed(b'{"final_label":"fraud"}'), **tamper})


def test_an_old_request_replayed_later_fails():
    stale = str(int(time.time()) - 301)

    assert not webhooks.verify(**_signed(b"{}", timestamp=stale))


def test_the_receiver_refuses_a_request_signed_with_another_secret(receiver):
    outcome = webhooks.post(url=receiver.url, payload={"request_id": "x"}, secret="wrong", timeout=5)

    (received,) = receiver.wait_for(1)
    assert outcome.status_code == 401
    assert not outcome.ok
    assert not received.signature_ok
    assert json.loads(received.body) == {"request_id": "x"}


def test_only_http_urls_are_called():
    outcome = webhooks.post(url="file:///etc/passwd", payload={}, secret=SECRET, timeout=1)

    assert outcome.status_code is None
    assert "only http and https" in outcome.error


# --- admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("admin", "root"))
    return client


def test_the_admin_shows_every_attempt(admin_client, receiver, decide):
    receiver.planned = [500]
    delivery = CallbackDelivery.objects.get(decision=decide(receiver.url))
    _deliver(delivery)

    listing = admin_client.get("/admin/reviews/callbackdelivery/")
    response = admin_client.get(f"/admin/reviews/callbackdelivery/{delivery.pk}/change/")

    assert listing.status_code == 200
    assert receiver.url in listing.content.decode()
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0]
    shown = [form.original for form in formset]
    assert [(a.status_code, a.error) for a in shown] == [(500, "HTTP 500"), (200, "")]
    page = response.content.decode()
    assert "HTTP 500" in page
    assert "Delivered" in page or "delivered" in page


def test_the_admin_replays_a_dead_delivery(
    admin_client, receiver, decide, settings, django_capture_on_commit_callbacks
):
    settings.CALLBACK_MAX_ATTEMPTS = 1
    receiver.planned = [500]
    delivery = CallbackDelivery.objects.get(decision=decide(receiver.url))
    assert delivery.state == CallbackDelivery.State.DEAD

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/reviews/callbackdelivery/",
            {"action": "replay", "_selected_action": [delivery.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert "Replaying 1 callbacks." in response.content.decode()
    receiver.wait_for(2)
    delivery.refresh_from_db()
    assert delivery.state == CallbackDelivery.State.DELIVERED
    assert delivery.attempt_log.count() == 2
