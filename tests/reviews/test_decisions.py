"""Deciding a review item: confirm or override, bound to what the analyst saw."""

from datetime import timedelta

import pytest
from django.utils import timezone

from predictions.models import Explanation, Prediction
from reviews import selectors, services
from reviews.models import CallbackDelivery, Decision, ReviewItem
from tests.reviews.factories import digest_of


@pytest.fixture
def held_item(make_items, analyst) -> ReviewItem:
    """The analyst's claimed item, with one more item waiting behind it."""
    make_items(2)
    return services.review_item_claim_next(user=analyst)


def _decide(item, user, outcome="confirmed", **kwargs) -> Decision:
    kwargs.setdefault("seen_digest", digest_of(item))
    return services.decision_record(item_id=item.pk, user=user, outcome=outcome, **kwargs)


def test_confirming_keeps_the_model_label(held_item, analyst):
    before = timezone.now()

    decision = _decide(held_item, analyst, note="looks fine")

    prediction = Prediction.objects.get(pk=held_item.prediction_id)
    assert decision.outcome == Decision.Outcome.CONFIRMED
    assert decision.final_label == prediction.label
    assert decision.reviewer == analyst
    assert decision.reviewer_name == "alice"
    assert decision.reason == ""
    assert decision.note == "looks fine"
    assert before <= decision.decided_at <= timezone.now()
    assert decision.seen_digest == digest_of(held_item)
    stored = Decision.objects.get(review_item=held_item)
    assert stored.pk == decision.pk
    assert prediction.status == Prediction.Status.REVIEWED
    assert prediction.final_label == prediction.label


def test_overriding_flips_the_label_and_keeps_the_reason(held_item, analyst):
    model_label = held_item.prediction.label
    flipped = "legit" if model_label == "fraud" else "fraud"

    decision = _decide(
        held_item, analyst, outcome="overridden", reason="confirmed_with_cardholder", note="called them"
    )

    stored = Decision.objects.get(pk=decision.pk)
    assert stored.outcome == Decision.Outcome.OVERRIDDEN
    assert stored.final_label == flipped
    assert stored.reason == Decision.Reason.CONFIRMED_WITH_CARDHOLDER
    assert stored.note == "called them"
    prediction = Prediction.objects.get(pk=held_item.prediction_id)
    assert prediction.label == model_label
    assert prediction.final_label == flipped
    assert prediction.status == Prediction.Status.REVIEWED


def test_an_override_needs_a_reason(held_item, analyst):
    with pytest.raises(services.ReviewError, match="needs a reason"):
        _decide(held_item, analyst, outcome="overridden")

    assert not Decision.objects.exists()
    held_item.refresh_from_db()
    assert held_item.state == ReviewItem.State.CLAIMED


def test_a_decided_item_leaves_the_queue(held_item, analyst):
    decision = _decide(held_item, analyst)

    held_item.refresh_from_db()
    assert held_item.state == ReviewItem.State.DECIDED
    assert held_item.decided_at == decision.decided_at
    assert held_item not in selectors.open_items()
    assert held_item not in selectors.items_held_by(user=analyst)
    counts = selectors.queue_health()
    assert (counts.pending, counts.claimed) == (1, 0)


def test_a_second_decision_is_refused(held_item, analyst):
    _decide(held_item, analyst)

    with pytest.raises(services.AlreadyDecided):
        _decide(held_item, analyst, outcome="overridden", reason="other")

    decision = Decision.objects.get()
    assert decision.outcome == Decision.Outcome.CONFIRMED
    assert Prediction.objects.get(pk=held_item.prediction_id).final_label == held_item.prediction.label


def test_only_the_holder_can_decide(held_item, other_analyst):
    with pytest.raises(services.NotHolder):
        _decide(held_item, other_analyst)

    assert not Decision.objects.exists()
    held_item.refresh_from_db()
    assert held_item.claimed_by.username == "alice"


def test_an_unclaimed_item_cannot_be_decided(make_items, analyst):
    (item,) = make_items(1)

    with pytest.raises(services.NotHolder):
        _decide(item, analyst)

    assert not Decision.objects.exists()


def test_a_lease_that_ran_out_must_be_claimed_again_before_deciding(held_item, analyst):
    # Whether or not the expiry sweep has run yet, the item is back in the queue.
    ReviewItem.objects.filter(pk=held_item.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(services.NotHolder, match="lease ran out"):
        _decide(held_item, analyst)

    assert not Decision.objects.exists()
    services.review_item_claim(item_id=held_item.pk, user=analyst)
    assert _decide(held_item, analyst).final_label == held_item.prediction.label


def test_a_changed_explanation_makes_the_view_stale(held_item, analyst):
    seen = digest_of(held_item)
    explanation = Explanation.objects.get(pk=held_item.prediction_id)
    explanation.values = {name: value * 2 for name, value in explanation.values.items()}
    explanation.save()

    with pytest.raises(services.StaleView, match="reload the item"):
        _decide(held_item, analyst, seen_digest=seen)

    assert not Decision.objects.exists()
    held_item.refresh_from_db()
    assert held_item.state == ReviewItem.State.CLAIMED
    assert Prediction.objects.get(pk=held_item.prediction_id).status == Prediction.Status.PENDING_REVIEW


def test_a_tampered_digest_is_refused(held_item, analyst):
    with pytest.raises(services.StaleView):
        _decide(held_item, analyst, seen_digest="0" * 64)

    assert not Decision.objects.exists()


def test_the_digest_covers_features_score_and_model_version(held_item):
    prediction = Prediction.objects.select_related("model_version", "explanation").get(
        pk=held_item.prediction_id
    )
    original = selectors.review_digest(prediction)

    prediction.features = {**prediction.features, "amount": prediction.features["amount"] + 1}
    assert selectors.review_digest(prediction) != original
    prediction.refresh_from_db()
    prediction.score = prediction.score / 2
    assert selectors.review_digest(prediction) != original
    prediction.refresh_from_db()
    prediction.model_version.version += 1
    assert selectors.review_digest(prediction) != original


def test_a_failure_part_way_stores_nothing(held_item, analyst, monkeypatch):
    def broken(decision, prediction):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(services, "_callback_create", broken)

    with pytest.raises(RuntimeError):
        _decide(held_item, analyst)

    assert not Decision.objects.exists()
    assert not CallbackDelivery.objects.exists()
    held_item.refresh_from_db()
    assert held_item.state == ReviewItem.State.CLAIMED
    assert held_item.decided_at is None
    prediction = Prediction.objects.get(pk=held_item.prediction_id)
    assert prediction.status == Prediction.Status.PENDING_REVIEW
    assert prediction.final_label == ""


def test_the_api_shows_the_decision(make_items, analyst, api_client, api_key_and_secret):
    api_key, _ = api_key_and_secret
    (item,) = make_items(1, api_key=api_key)
    response = api_client.get(f"/api/v1/predictions/{item.prediction.request_id}/")
    assert response.status_code == 200
    assert response.json()["status"] == "pending_review"
    assert response.json()["review"]["state"] == "pending"
    assert response.json()["review"]["decision"] is None
    services.review_item_claim_next(user=analyst)
    decision = _decide(item, analyst, outcome="overridden", reason="data_error")

    response = api_client.get(f"/api/v1/predictions/{item.prediction.request_id}/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reviewed"
    assert body["label"] == item.prediction.label
    assert body["final_label"] == decision.final_label != item.prediction.label
    review = body["review"]
    assert review["state"] == "decided"
    assert review["decision"] == "overridden"
    assert review["final_label"] == decision.final_label
    assert review["reviewer"] == "alice"
    assert review["reason"] == "data_error"
    assert review["decided_at"].replace("Z", "+00:00") == decision.decided_at.isoformat()
