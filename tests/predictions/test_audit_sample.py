"""Why a person sees a prediction: low confidence, the review-everything switch, or the audit sample.

The audit sample is drawn from the request ID (first 8 hex digits of its sha256 / 2³²), so a
retry is in or out exactly as the first try was, and anyone with the ID can check the draw.
"""

import hashlib

import pytest
from django.core.exceptions import ImproperlyConfigured

from predictions import registry, services, switches
from predictions.models import ModelVersion, Prediction
from predictions.sampling import BLIND_REVIEW_SALT, in_sample, request_draw
from reviewapp.env import env_share
from reviews.models import ReviewItem
from tests.predictions.helpers import BATCH_URL, PREDICT_URL, post_json

RATE = 0.05


def request_ids(*, inside: bool, rate: float = RATE, count: int = 1) -> list[str]:
    """Request IDs that the sample at `rate` takes (inside) or leaves."""
    found = []
    n = 0
    while len(found) < count:
        candidate = f"order-{n}"
        if in_sample(candidate, rate=rate) == inside:
            found.append(candidate)
        n += 1
    return found


@pytest.fixture
def sampled_model(active_model):
    ModelVersion.objects.filter(pk=active_model.pk).update(audit_sample_rate=RATE)
    registry.forget()  # the process's copy of the active version is read again
    return ModelVersion.objects.get(pk=active_model.pk)


# --- the draw ---------------------------------------------------------------------------


def test_the_draw_is_the_first_eight_hex_digits_of_the_sha256_over_two_to_the_32():
    digest = hashlib.sha256(b"order-1").hexdigest()

    assert request_draw("order-1") == int(digest[:8], 16) / 2**32


def test_a_rate_of_zero_takes_nothing_and_a_rate_of_one_takes_everything():
    ids = [f"order-{n}" for n in range(2000)]

    assert not any(in_sample(i, rate=0.0) for i in ids)
    assert all(in_sample(i, rate=1.0) for i in ids)


def test_the_sample_takes_its_rate_of_sequential_ids():
    ids = [f"order-{n}" for n in range(100_000)]

    taken = sum(in_sample(i, rate=RATE) for i in ids)

    # Binomial(100,000, 0.05): sd ≈ 69; four of them is a one-in-15,000 false alarm.
    assert abs(taken - 5000) < 4 * 69


def test_the_blind_draw_is_independent_of_the_audit_draw():
    ids = [f"order-{n}" for n in range(100_000)]

    both = sum(in_sample(i, rate=0.5) and in_sample(i, rate=0.5, salt=BLIND_REVIEW_SALT) for i in ids)

    # Independent halves overlap on a quarter (sd ≈ 137); the same draw would overlap on half.
    assert abs(both - 25_000) < 4 * 137


def test_a_rate_outside_zero_to_one_is_refused_at_start_up(monkeypatch):
    monkeypatch.setenv("AUDIT_SAMPLE_RATE", "1.5")

    with pytest.raises(ImproperlyConfigured, match="AUDIT_SAMPLE_RATE must be between 0 and 1"):
        env_share("AUDIT_SAMPLE_RATE", 0.01)


def test_a_new_version_takes_its_rate_from_the_setting(register_model, settings):
    settings.AUDIT_SAMPLE_RATE = 0.2

    assert register_model(activate=False).audit_sample_rate == 0.2


# --- scoring ----------------------------------------------------------------------------


def test_a_sampled_sure_prediction_is_decided_at_once_and_also_sent_to_blind_review(
    sampled_model, api_client, sure_features, django_capture_on_commit_callbacks
):
    [request_id] = request_ids(inside=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, PREDICT_URL, {"request_id": request_id, "features": sure_features})

    assert response.status_code == 201
    body = response.json()
    assert (body["routing"], body["status"]) == ("auto", "decided")
    assert body["final_label"] == body["label"]
    assert (body["review_reason"], body["inclusion_probability"]) == ("audit_sample", RATE)
    item = ReviewItem.objects.get()
    assert item.prediction.request_id == request_id
    assert item.blind
    assert item.prediction.routing_state == Prediction.RoutingState.DONE


def test_a_sure_prediction_outside_the_sample_goes_to_nobody(
    sampled_model, api_client, sure_features, django_capture_on_commit_callbacks
):
    [request_id] = request_ids(inside=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, PREDICT_URL, {"request_id": request_id, "features": sure_features})

    body = response.json()
    assert (body["review_reason"], body["inclusion_probability"]) == (None, None)
    assert not ReviewItem.objects.exists()
    assert Prediction.objects.get().routing_state == Prediction.RoutingState.NOT_NEEDED


def test_a_retry_of_a_sampled_request_is_the_same_sample_and_the_same_item(
    sampled_model, api_client, sure_features, django_capture_on_commit_callbacks
):
    [request_id] = request_ids(inside=True)
    payload = {"request_id": request_id, "features": sure_features}
    with django_capture_on_commit_callbacks(execute=True):
        first = post_json(api_client, PREDICT_URL, payload)
        again = post_json(api_client, PREDICT_URL, payload)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["review_reason"] == "audit_sample"
    assert ReviewItem.objects.count() == 1


def test_an_unsure_prediction_is_reviewed_for_its_confidence_with_certainty(
    sampled_model, api_client, unsure_features
):
    [request_id] = request_ids(inside=True)  # in the sample too: low confidence comes first
    response = post_json(api_client, PREDICT_URL, {"request_id": request_id, "features": unsure_features})

    body = response.json()
    assert (body["routing"], body["status"], body["final_label"]) == ("review", "pending_review", None)
    assert (body["review_reason"], body["inclusion_probability"]) == ("low_confidence", 1.0)


def test_the_switch_sends_a_sure_prediction_to_review_for_that_reason(
    sampled_model, api_client, sure_features
):
    services.review_all_predictions_set(on=True, actor="test")
    switches.forget()

    response = post_json(api_client, PREDICT_URL, {"features": sure_features})

    body = response.json()
    assert (body["routing"], body["review_reason"], body["inclusion_probability"]) == (
        "review",
        "review_everything",
        1.0,
    )


def test_a_batch_samples_each_item_by_its_own_request_id(
    sampled_model, api_client, features_by_confidence, django_capture_on_commit_callbacks
):
    sure = features_by_confidence["sure"][:6]
    ids = request_ids(inside=True, count=3) + request_ids(inside=False, count=3)
    items = [{"request_id": i, "features": f} for i, f in zip(ids, sure, strict=True)]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, BATCH_URL, {"items": items})

    reasons = {result["request_id"]: result["review_reason"] for result in response.json()["results"]}
    assert reasons == {**dict.fromkeys(ids[:3], "audit_sample"), **dict.fromkeys(ids[3:], None)}
    assert set(ReviewItem.objects.values_list("prediction__request_id", flat=True)) == set(ids[:3])


def test_blind_review_rate_one_makes_low_confidence_items_blind_too(
    active_model, api_client, unsure_features, settings, django_capture_on_commit_callbacks
):
    settings.BLIND_REVIEW_RATE = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api_client, PREDICT_URL, {"features": unsure_features})

    assert ReviewItem.objects.get().blind


def test_without_a_blind_rate_low_confidence_items_are_sighted(
    active_model, api_client, unsure_features, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api_client, PREDICT_URL, {"features": unsure_features})

    assert not ReviewItem.objects.get().blind
