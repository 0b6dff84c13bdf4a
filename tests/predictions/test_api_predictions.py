"""Scoring one transaction, and reading it back with its explanation."""

import math
import uuid
from datetime import datetime

import pytest
from rest_framework.test import APIClient

from predictions.models import Explanation, Prediction
from tests.predictions.helpers import PREDICT_URL, detail_url, post_json

RESPONSE_FIELDS = {
    "request_id",
    "model_version",
    "score",
    "label",
    "confidence",
    "routing",
    "review_reason",
    "inclusion_probability",
    "status",
    "final_label",
    "reason_codes",
    "created_at",
}


def predict(client, features: dict, request_id: str | None = None):
    payload = {"features": features}
    if request_id is not None:
        payload["request_id"] = request_id
    return post_json(client, PREDICT_URL, payload)


def test_it_answers_with_every_field_of_a_prediction(active_model, api_client, features):
    response = predict(api_client, features, request_id="order-1")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == RESPONSE_FIELDS
    assert body["request_id"] == "order-1"
    assert body["model_version"] == active_model.version
    assert isinstance(body["score"], float) and 0.0 <= body["score"] <= 1.0
    assert body["confidence"] == pytest.approx(max(body["score"], 1 - body["score"]), abs=1e-12)
    assert body["label"] == ("fraud" if body["score"] >= 0.5 else "legit")
    assert len(body["reason_codes"]) == 3
    assert datetime.fromisoformat(body["created_at"])
    stored = Prediction.objects.get()
    assert stored.request_id == "order-1"
    assert stored.features == features
    assert stored.score == body["score"]


def test_it_decides_a_sure_prediction_itself(active_model, api_client, sure_features):
    response = predict(api_client, sure_features)

    assert response.status_code == 201
    body = response.json()
    assert body["confidence"] >= active_model.review_threshold
    assert (body["routing"], body["status"]) == ("auto", "decided")
    assert body["final_label"] == body["label"]
    assert Prediction.objects.get().routing_state == Prediction.RoutingState.NOT_NEEDED


def test_it_sends_an_unsure_prediction_to_review(active_model, api_client, unsure_features):
    response = predict(api_client, unsure_features)

    assert response.status_code == 201
    body = response.json()
    assert body["confidence"] < active_model.review_threshold
    assert (body["routing"], body["status"]) == ("review", "pending_review")
    assert body["final_label"] is None
    assert Prediction.objects.get().routing_state == Prediction.RoutingState.PENDING


def test_it_assigns_a_request_id_when_none_is_given(active_model, api_client, features):
    response = predict(api_client, features)

    assert response.status_code == 201
    request_id = response.json()["request_id"]
    assert str(uuid.UUID(request_id)) == request_id
    assert Prediction.objects.get().request_id == request_id


def test_it_accepts_a_request_id_of_64_allowed_characters(active_model, api_client, features):
    request_id = ("Az09._:-" * 8)[:64]
    response = predict(api_client, features, request_id=request_id)

    assert response.status_code == 201
    assert response.json()["request_id"] == request_id
    assert Prediction.objects.filter(request_id=request_id).exists()


def test_its_reason_codes_are_the_three_largest_contributions(active_model, api_client, features):
    response = predict(api_client, features, request_id="order-1")

    assert response.status_code == 201
    contributions = Explanation.objects.get().values
    largest = sorted(contributions, key=lambda name: -abs(contributions[name]))[:3]
    assert response.json()["reason_codes"] == [
        {"feature": name, "value": features[name], "contribution": round(contributions[name], 6)}
        for name in largest
    ]


def test_it_stores_floats_given_as_integers_as_floats(active_model, api_client, features):
    response = predict(api_client, {**features, "amount": 120, "hour_of_day": 7.0})

    assert response.status_code == 201
    stored = Prediction.objects.get().features
    assert stored["amount"] == 120.0 and isinstance(stored["amount"], float)
    assert stored["hour_of_day"] == 7 and isinstance(stored["hour_of_day"], int)


# --- reading a prediction back --------------------------------------------------------


def test_its_detail_holds_the_features_and_an_explanation_that_adds_up(active_model, api_client, features):
    created = predict(api_client, features, request_id="order-1").json()
    response = api_client.get(detail_url("order-1"))

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in created} == created
    assert body["features"] == features
    explanation = body["explanation"]
    assert explanation["output"] == "log-odds"
    assert explanation["explainer"] == "TreeExplainer"
    assert explanation["shap_version"]
    assert set(explanation["values"]) == set(features)
    log_odds = math.log(body["score"] / (1 - body["score"]))
    explained = explanation["base_value"] + sum(explanation["values"].values())
    assert explained == pytest.approx(log_odds, abs=1e-6)


def test_its_detail_has_no_review_when_decided_automatically(active_model, api_client, sure_features):
    predict(api_client, sure_features, request_id="order-1")
    response = api_client.get(detail_url("order-1"))

    assert response.status_code == 200
    assert response.json()["review"] is None


def test_its_detail_shows_the_review_of_a_routed_prediction(
    active_model, api_client, unsure_features, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        predict(api_client, unsure_features, request_id="order-1")
    response = api_client.get(detail_url("order-1"))

    assert response.status_code == 200
    review = response.json()["review"]
    assert review["state"] == "pending"
    assert review["priority"] > 0
    assert review["decided_at"] is None


def test_a_key_cannot_read_another_keys_prediction(active_model, api_client, other_api_client, features):
    predict(api_client, features, request_id="order-1")
    response = other_api_client.get(detail_url("order-1"))

    assert response.status_code == 404
    assert api_client.get(detail_url("order-1")).status_code == 200


def test_staff_can_read_any_prediction(active_model, api_client, client, make_user, features):
    predict(api_client, features, request_id="order-1")
    client.force_login(make_user("auditor"))
    response = client.get(detail_url("order-1"))

    assert response.status_code == 200
    assert response.json()["request_id"] == "order-1"


def test_it_answers_404_for_an_unknown_request_id(active_model, api_client):
    response = api_client.get(detail_url("never-sent"))

    assert response.status_code == 404
    assert response.json()["detail"] == "No Prediction matches the given query."


def test_it_answers_404_for_a_request_id_no_prediction_can_have(active_model, api_client):
    response = api_client.get(detail_url("bad%00id"))

    assert response.status_code == 404
    assert response.json()["detail"] == "No Prediction matches the given query."


def test_it_needs_a_key_to_read_a_prediction(active_model, api_client, features):
    predict(api_client, features, request_id="order-1")
    response = APIClient().get(detail_url("order-1"))

    assert response.status_code == 401


# --- the active model -----------------------------------------------------------------


def test_it_describes_the_active_model(active_model, api_client):
    response = api_client.get("/api/v1/models/active/")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["version"]) == ("card-fraud", active_model.version)
    assert body["threshold"] == active_model.review_threshold
    assert body["metrics"] == active_model.metrics
    amount = next(spec for spec in body["features"] if spec["name"] == "amount")
    assert amount == {
        "name": "amount",
        "type": "float",
        "min": 0.01,
        "max": 50000.0,
        "choices": None,
        "description": "Transaction amount",
        "unit": "USD",
    }
    category = next(spec for spec in body["features"] if spec["name"] == "merchant_category")
    assert "grocery" in category["choices"]
