"""Nothing the scoring endpoint does drops out of its lean route.

The corpus test (test_fast_path.py) proves both routes answer alike; these prove that what an
answer does not show still happens on the lean route: the audit evidence, the metrics, the
access line, the rate limit, routing, idempotency under concurrent duplicates. Each test fails
if the full route (DRF) is taken instead.
"""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient
from rest_framework.views import APIView

from audit.selectors import audit_chain_verify, audit_link_of
from audit.services import audit_chain_extend
from predictions import services
from predictions.models import Prediction
from reviewapp import metrics
from reviews.models import ReviewItem
from tests.predictions.helpers import PREDICT_URL, chain_entries, post_at_once


@pytest.fixture(autouse=True)
def lean_route_only(monkeypatch, settings):
    settings.SCORING_FAST_PATH = True

    def drf_never(*args, **kwargs):
        raise AssertionError("the full route was taken")

    monkeypatch.setattr(APIView, "dispatch", drf_never)


def score(client: APIClient, features: dict, **body) -> dict:
    response = client.post(
        PREDICT_URL, json.dumps({"features": features, **body}), content_type="application/json"
    )
    assert response.status_code in (200, 201), response.content
    return response.json()


def sample(name: str, **labels: str) -> float:
    metrics.gathered.write_out()  # as a scrape does first
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_it_records_the_prediction_as_audit_evidence_the_chain_proves(active_model, api_client, features):
    answer = score(api_client, features, request_id="order-1")

    prediction = Prediction.objects.get(request_id="order-1")
    assert prediction.score == answer["score"]
    assert prediction.api_key.name == "checkout"
    assert chain_entries(["order-1"]) == 1
    audit_chain_extend()
    link = audit_link_of(source="prediction", object_id=prediction.pk)
    assert link is not None
    assert audit_chain_verify().ok


def test_it_counts_the_response_and_the_prediction_in_the_metrics(active_model, api_client, features):
    version = str(active_model.version)
    responses_before = sample(
        "reviewapp_http_responses_total", route="api-prediction-list", method="POST", status="201"
    )
    confidence_before = sample("reviewapp_prediction_confidence_count", model_version=version)

    score(api_client, features)

    assert (
        sample("reviewapp_http_responses_total", route="api-prediction-list", method="POST", status="201")
        == responses_before + 1
    )
    assert sample("reviewapp_prediction_confidence_count", model_version=version) == confidence_before + 1


def test_it_writes_the_access_line_naming_the_key(active_model, api_client, features, caplog):
    with caplog.at_level(logging.INFO, logger="reviewapp.access"):
        score(api_client, features)

    (line,) = [record for record in caplog.records if record.name == "reviewapp.access"]
    assert (line.method, line.route, line.status, line.api_key) == (
        "POST",
        "api-prediction-list",
        201,
        "checkout",
    )


def test_it_enforces_the_keys_rate_limit(active_model, features, db):
    _, secret = services.api_key_create(name="limited", rate_limit="2/min")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    score(client, features)
    score(client, features)

    response = client.post(PREDICT_URL, json.dumps({"features": features}), content_type="application/json")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert Prediction.objects.count() == 2


def test_it_routes_a_low_confidence_prediction_to_review(
    api_client, unsure_features, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = score(api_client, unsure_features)

    assert answer["routing"] == "review"
    item = ReviewItem.objects.get()
    assert item.prediction.request_id == answer["request_id"]
    assert item.prediction.routing_state == Prediction.RoutingState.DONE


@pytest.mark.postgres
def test_concurrent_duplicates_store_one_prediction_and_one_chain_entry(
    audit_log_flushable, transactional_db, active_model, api_key_and_secret, features
):
    threads_count = 8
    answers = post_at_once(
        api_key_and_secret[1], {"request_id": "race-1", "features": features}, threads=threads_count
    )
    statuses = [status for status, _ in answers]

    assert sorted(statuses) == [200] * (threads_count - 1) + [201]
    assert Prediction.objects.filter(request_id="race-1").count() == 1
    assert chain_entries(["race-1"]) == 1
