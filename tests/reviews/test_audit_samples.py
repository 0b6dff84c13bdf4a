"""The audit sample: decided automatically, reviewed blind as well, told upstream by callback."""

import itertools

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from predictions import services as prediction_services
from predictions.models import Prediction
from predictions.sampling import in_sample
from predictions.scoring import label_opposite
from reviews import selectors, services
from reviews.models import CallbackDelivery, Decision, ReviewItem
from tests.predictions.helpers import PREDICT_URL, detail_url, post_json
from tests.reviews.factories import digest_of
from tests.reviews.receivers import Receiver

SECRET = "callback-secret-for-tests"
RATE = 0.5


def _request_ids(*, sampled: bool, count: int) -> list[str]:
    """Request IDs that sha256 puts in (or out of) a sample drawn at RATE."""
    names = (f"order-{n}" for n in itertools.count())
    return list(itertools.islice((n for n in names if in_sample(n, rate=RATE) == sampled), count))


def _with_explanation(item) -> Prediction:
    return Prediction.objects.select_related("model_version", "explanation").get(pk=item.prediction_id)


def _decide(item, user, **verdict) -> Decision:
    return services.decision_record(item_id=item.pk, user=user, seen_digest=digest_of(item), **verdict)


@pytest.fixture
def sample(make_samples, analyst) -> ReviewItem:
    """One audit sample, claimed by the analyst."""
    (item,) = make_samples(1)
    services.review_item_claim(item_id=item.pk, user=analyst)
    return item


def test_a_sample_is_decided_automatically_and_queued_for_blind_review(
    sampling_model, api_client, transactions, django_capture_on_commit_callbacks
):
    sampling_model(RATE)
    (sampled,) = _request_ids(sampled=True, count=1)
    (not_sampled,) = _request_ids(sampled=False, count=1)
    features = transactions(2)

    with django_capture_on_commit_callbacks(execute=True):  # the routing outbox's task runs
        response = post_json(api_client, PREDICT_URL, {"request_id": sampled, "features": features[0]})
        other = post_json(api_client, PREDICT_URL, {"request_id": not_sampled, "features": features[1]})

    assert response.status_code == 201
    body = response.json()
    assert body["routing"] == "auto"
    assert body["status"] == "decided"
    assert body["final_label"] == body["label"]
    assert body["review_reason"] == "audit_sample"
    assert body["inclusion_probability"] == RATE
    assert other.status_code == 201
    assert other.json()["review_reason"] is None
    item = ReviewItem.objects.get()
    assert item.prediction.request_id == sampled
    assert item.blind
    assert item.state == ReviewItem.State.PENDING
    assert item.prediction.routing_state == Prediction.RoutingState.DONE
    detail = api_client.get(detail_url(sampled)).json()
    assert (detail["routing"], detail["status"], detail["final_label"]) == ("auto", "decided", body["label"])
    assert (detail["review_reason"], detail["inclusion_probability"]) == ("audit_sample", RATE)
    assert detail["review"]["state"] == "pending"


def test_deciding_a_sample_keeps_the_automatic_decision_and_stores_the_analysts_label(sample, analyst):
    model_label = sample.prediction.label
    analysts_label = label_opposite(model_label)

    decision = _decide(sample, analyst, label=analysts_label, note="card reported stolen")

    stored = Decision.objects.get(pk=decision.pk)
    assert stored.final_label == analysts_label
    assert stored.outcome == Decision.Outcome.OVERRIDDEN
    assert stored.blind
    assert stored.reason == ""
    assert stored.note == "card reported stolen"
    assert stored.seen_digest == digest_of(sample)
    prediction = Prediction.objects.get(pk=sample.prediction_id)
    assert prediction.routing == Prediction.Routing.AUTO
    assert prediction.status == Prediction.Status.DECIDED
    assert prediction.final_label == model_label
    sample.refresh_from_db()
    assert sample.state == ReviewItem.State.DECIDED


def test_a_sample_labelled_as_the_model_did_is_a_confirmation(sample, analyst):
    decision = _decide(sample, analyst, label=sample.prediction.label)

    assert decision.outcome == Decision.Outcome.CONFIRMED
    assert decision.final_label == sample.prediction.label
    assert Prediction.objects.get(pk=sample.prediction_id).status == Prediction.Status.DECIDED


def test_the_api_shows_the_automatic_decision_beside_the_review(
    make_samples, analyst, api_client, api_key_and_secret
):
    (item,) = make_samples(1, api_key=api_key_and_secret[0])
    services.review_item_claim(item_id=item.pk, user=analyst)
    analysts_label = label_opposite(item.prediction.label)
    _decide(item, analyst, label=analysts_label)

    response = api_client.get(detail_url(item.prediction.request_id))

    assert response.status_code == 200
    body = response.json()
    assert (body["routing"], body["status"]) == ("auto", "decided")
    assert body["final_label"] == item.prediction.label
    assert body["review_reason"] == "audit_sample"
    assert body["review"]["state"] == "decided"
    assert body["review"]["final_label"] == analysts_label
    assert body["review"]["decision"] == "overridden"
    assert body["review"]["reason"] == ""


def test_the_decided_event_says_the_review_was_blind_and_of_a_sample(sample, analyst):
    decision = _decide(sample, analyst, label="fraud")

    event = AuditEvent.objects.get(action=AuditEvent.Action.REVIEW_DECIDED)
    assert event.before == {"status": "decided", "label": sample.prediction.label}
    assert event.after == {
        "outcome": decision.outcome,
        "final_label": "fraud",
        "reason": "",
        "note": "",
        "seen_digest": digest_of(sample),
        "blind": True,
        "audit_sample": True,
    }


def test_the_callback_carries_the_analysts_label_and_says_audit_sample(
    make_samples, analyst, django_capture_on_commit_callbacks
):
    receiver = Receiver(SECRET).start()
    try:
        api_key, _ = prediction_services.api_key_create(
            name="shop", callback_url=receiver.url, callback_secret=SECRET
        )
        (item,) = make_samples(1, api_key=api_key)
        services.review_item_claim(item_id=item.pk, user=analyst)
        analysts_label = label_opposite(item.prediction.label)
        with django_capture_on_commit_callbacks(execute=True):
            decision = _decide(item, analyst, label=analysts_label)

        (received,) = receiver.wait_for(1)
    finally:
        receiver.stop()
    assert received.signature_ok
    assert received.json == {
        "request_id": item.prediction.request_id,
        "final_label": analysts_label,
        "decision": "overridden",
        "reason": "",
        "decided_at": decision.decided_at.isoformat(),
        "model_version": item.prediction.model_version.version,
        "audit_sample": True,
        "blind": True,
    }
    assert CallbackDelivery.objects.get().state == CallbackDelivery.State.DELIVERED


def test_a_blind_item_is_decided_by_a_label_not_by_confirming(sample, analyst):
    with pytest.raises(services.InvalidDecision, match="label it fraud or legit"):
        _decide(sample, analyst, outcome="confirmed")
    with pytest.raises(services.InvalidDecision, match="label it fraud or legit"):
        _decide(sample, analyst)
    with pytest.raises(services.InvalidDecision, match="not both"):
        _decide(sample, analyst, outcome="confirmed", label="fraud")
    with pytest.raises(services.InvalidDecision, match="Unknown label"):
        _decide(sample, analyst, label="maybe")

    assert not Decision.objects.exists()
    sample.refresh_from_db()
    assert sample.state == ReviewItem.State.CLAIMED


def test_a_sighted_item_is_not_decided_by_a_label(make_items, analyst):
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)

    with pytest.raises(services.InvalidDecision, match="Confirm or override"):
        _decide(item, analyst, label="fraud")

    assert not Decision.objects.exists()


def test_the_database_refuses_a_sighted_override_without_a_reason_but_not_a_blind_one(make_items, analyst):
    first, second = make_items(2)
    fields = {
        "outcome": Decision.Outcome.OVERRIDDEN,
        "final_label": "fraud",
        "reason": "",
        "reviewer": analyst,
        "reviewer_name": "alice",
        "seen_digest": "s" * 64,
        "decided_at": first.created_at,
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(review_item=first, blind=False, **fields)

    assert Decision.objects.create(review_item=second, blind=True, **fields).pk


def test_a_changed_transaction_makes_a_blind_view_stale(sample, analyst):
    seen = digest_of(sample)
    Prediction.objects.filter(pk=sample.prediction_id).update(
        features={**sample.prediction.features, "amount": sample.prediction.features["amount"] + 1}
    )

    with pytest.raises(services.StaleView, match="reload the item"):
        services.decision_record(item_id=sample.pk, user=analyst, label="fraud", seen_digest=seen)

    assert not Decision.objects.exists()


def test_a_blind_digest_is_of_the_transaction_not_of_the_verdict(sample):
    prediction = _with_explanation(sample)
    blind = selectors.review_digest(prediction, blind=True)

    # What the blind reviewer was not shown does not enter it...
    prediction.score, prediction.label = 1 - prediction.score, label_opposite(prediction.label)
    prediction.explanation.values = {name: -value for name, value in prediction.explanation.values.items()}
    assert selectors.review_digest(prediction, blind=True) == blind
    # ...what they were shown does, and a sighted reviewer's digest is another.
    assert selectors.review_digest(prediction, blind=False) != blind
    prediction.features = {**prediction.features, "amount": prediction.features["amount"] + 1}
    assert selectors.review_digest(prediction, blind=True) != blind


def test_the_sighted_digest_of_a_blind_item_is_refused(sample, analyst):
    prediction = _with_explanation(sample)

    with pytest.raises(services.StaleView):
        services.decision_record(
            item_id=sample.pk,
            user=analyst,
            label="fraud",
            seen_digest=selectors.review_digest(prediction, blind=False),
        )

    assert not Decision.objects.exists()


# --- blind review of low-confidence items (BLIND_REVIEW_RATE) ----------------------------------


def test_blind_review_rate_one_makes_every_unsure_item_blind(settings, make_items):
    settings.BLIND_REVIEW_RATE = 1.0

    items = make_items(3)

    assert all(item.blind for item in items)
    for item in items:
        assert item.prediction.review_reason == Prediction.ReviewReason.LOW_CONFIDENCE
        # No score in a blind item's place in the queue: its amount alone.
        assert item.priority == pytest.approx(0.5 * item.prediction.features["amount"])


def test_blind_review_rate_zero_leaves_unsure_items_sighted(settings, make_items):
    settings.BLIND_REVIEW_RATE = 0.0

    assert not any(item.blind for item in make_items(3))


def test_a_blind_unsure_item_is_reviewed_as_usual_once_labelled(settings, make_items, analyst):
    settings.BLIND_REVIEW_RATE = 1.0
    (item,) = make_items(1)
    services.review_item_claim(item_id=item.pk, user=analyst)
    analysts_label = label_opposite(item.prediction.label)

    decision = _decide(item, analyst, label=analysts_label)

    assert (decision.outcome, decision.reason, decision.blind) == ("overridden", "", True)
    prediction = Prediction.objects.get(pk=item.prediction_id)
    assert prediction.status == Prediction.Status.REVIEWED
    assert prediction.final_label == analysts_label
    event = AuditEvent.objects.get(action=AuditEvent.Action.REVIEW_DECIDED)
    assert event.before == {"status": "pending_review", "label": item.prediction.label}
    assert (event.after["blind"], event.after["audit_sample"]) == (True, False)
