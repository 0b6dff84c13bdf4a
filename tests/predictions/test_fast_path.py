"""The scoring endpoint's lean route answers exactly what the full route answers, only sooner.

Each request of the corpus is sent twice from the same database state, the same clock and the
same rate-limit counters: once the full way (SCORING_FAST_PATH off: Django's handler, every
middleware, DRF) and once the lean way (the scoring front before Django's handler, as the web
server runs it: tests/scoring_front.py). Status, headers and body must be identical, byte for byte.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import transaction
from rest_framework.test import APIClient
from rest_framework.views import APIView

from predictions import registry, services
from predictions.models import ModelVersion, Prediction
from reviewapp.api import throttling
from tests.predictions.helpers import PREDICT_URL

NOW = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
REQUEST_ID_HEADER = {"HTTP_X_REQUEST_ID": "corpus-request-1"}


@pytest.fixture
def frozen(monkeypatch):
    """The same clock and the same generated request ID for both ways."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    monkeypatch.setattr("reviewapp.api.throttling.time.time", lambda: 1_800_000_030.0)
    monkeypatch.setattr("predictions.services.uuid.uuid4", lambda: uuid.UUID(int=7))


@pytest.fixture
def send_both_ways(settings, frozen):
    """send(client, body, before=0, **extra) -> (full answer, lean answer), each from the same
    state; `before` requests are sent first the same way, and their answers dropped."""

    def once(client: APIClient, body: str | bytes, fast: bool, before: int, extra: dict):
        settings.SCORING_FAST_PATH = fast
        throttling.local_counts_clear()
        cache.clear()
        with transaction.atomic():
            for _ in range(before + 1):
                response = client.post(
                    PREDICT_URL, body, **{"content_type": "application/json", **REQUEST_ID_HEADER, **extra}
                )
            transaction.set_rollback(True)  # the other way starts from the same database
        return response

    def send(client: APIClient, body, *, before: int = 0, **extra):
        text = body if isinstance(body, str | bytes) else json.dumps(body)
        return once(client, text, False, before, extra), once(client, text, True, before, extra)

    return send


def assert_same(full, lean):
    assert (lean.status_code, dict(lean.headers), lean.content) == (
        full.status_code,
        dict(full.headers),
        full.content,
    )


def features_with(features: dict, **changes) -> dict:
    return {**features, **changes}


CORPUS = {
    "a new prediction": lambda f: {"request_id": "order-1", "features": f},
    "a new prediction without a request ID": lambda f: {"features": f},
    "a feature out of range": lambda f: {"features": features_with(f, amount=-5)},
    "a feature of the wrong type": lambda f: {"features": features_with(f, amount="lots")},
    "a category not in the schema": lambda f: {"features": features_with(f, channel="fax")},
    "an unknown feature": lambda f: {"features": features_with(f, shoe_size=44)},
    "a missing feature": lambda f: {"features": {k: v for k, v in f.items() if k != "amount"}},
    "no features": lambda f: {"request_id": "order-1"},
    "features not an object": lambda f: {"features": [1, 2]},
    "a request ID with spaces": lambda f: {"request_id": "order 1", "features": f},
    "a request ID of 65 characters": lambda f: {"request_id": "x" * 65, "features": f},
    "a numeric request ID": lambda f: {"request_id": 17, "features": f},
    "an extra field": lambda f: {"features": f, "priority": "high"},
    "NaN": lambda f: '{"features": ' + json.dumps(features_with(f, amount=0)).replace("0", "NaN", 1) + "}",
    "1e999": lambda f: json.dumps({"features": f}).replace('"amount": ', '"amount": 1e999, "x": ', 1),
    "not JSON": lambda f: "{features: nope",
    "a JSON list": lambda f: "[]",
    "a JSON string": lambda f: '"hello"',
    "null": lambda f: "null",
    "nested too deeply": lambda f: "[" * 100_000 + "]" * 100_000,
    "invalid UTF-8": lambda f: b'{"features": "\xff"}',
    "an empty body": lambda f: "",
}


@pytest.mark.parametrize("case", CORPUS)
def test_each_request_of_the_corpus_is_answered_the_same_both_ways(
    case, active_model, api_client, features, send_both_ways
):
    full, lean = send_both_ways(api_client, CORPUS[case](features))

    assert_same(full, lean)


@pytest.mark.parametrize(
    "extra",
    [
        {"content_type": "application/json; charset=utf-8"},
        {"content_type": "text/plain"},
        {"content_type": "application/json; charset=latin-1"},
        {"HTTP_ACCEPT": "text/html"},
        {"HTTP_ACCEPT": "application/json"},
        {"HTTP_HOST": "evil.example"},
        {"HTTP_AUTHORIZATION": "Api-Key ra_nope.nope"},
        {"HTTP_AUTHORIZATION": "Api-Key"},
        {"HTTP_AUTHORIZATION": "Bearer something"},
        {"HTTP_AUTHORIZATION": ""},
    ],
    ids=lambda extra: next(f"{k}={v}" for k, v in extra.items()),
)
def test_headers_it_does_not_take_itself_get_the_full_routes_answer(
    extra, active_model, api_client, features, send_both_ways
):
    full, lean = send_both_ways(api_client, {"features": features}, **extra)

    assert_same(full, lean)


def test_a_refused_request_is_logged_as_djangos_handler_logs_it(
    active_model, api_client, features, send_both_ways, caplog
):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        full, lean = send_both_ways(api_client, {"features": features_with(features, amount="lots")})

    assert_same(full, lean)
    logged = [
        (r.levelname, r.getMessage(), r.status_code) for r in caplog.records if r.name == "django.request"
    ]
    assert logged == [("WARNING", "Bad Request: /api/v1/predictions/", 400)] * 2


def test_a_repeat_and_a_conflict_are_answered_the_same(active_model, api_client, api_key_and_secret, features,
                                                        transactions, send_both_ways):  # fmt: skip
    services.prediction_create(api_key=api_key_and_secret[0], request_id="order-1", features=features)
    other = transactions(2, seed=9)[1]

    assert_same(*send_both_ways(api_client, {"request_id": "order-1", "features": features}))
    assert_same(*send_both_ways(api_client, {"request_id": "order-1", "features": other}))


def test_a_request_id_of_another_key_is_answered_the_same(active_model, api_client, features, send_both_ways):
    other_key, _ = services.api_key_create(name="other")
    services.prediction_create(api_key=other_key, request_id="theirs", features=features)

    assert_same(*send_both_ways(api_client, {"request_id": "theirs", "features": features}))


def test_a_throttled_key_is_answered_the_same(
    active_model, api_client, api_key_and_secret, features, send_both_ways
):
    api_key = api_key_and_secret[0]
    api_key.rate_limit = "1/min"
    api_key.save()

    full, lean = send_both_ways(api_client, {"features": features}, before=1)

    assert full.status_code == 429
    assert full["Retry-After"] == "30"
    assert_same(full, lean)


def test_no_active_model_is_answered_the_same(register_model, api_client, features, send_both_ways):
    register_model(activate=False)
    registry.forget()

    full, lean = send_both_ways(api_client, {"features": features})

    assert full.status_code == 503
    assert_same(full, lean)


def test_the_lean_route_really_answers_without_drf(active_model, api_client, features, monkeypatch, settings):
    def drf_never(*args, **kwargs):
        raise AssertionError("the full route was taken")

    monkeypatch.setattr(APIView, "dispatch", drf_never)

    response = api_client.post(
        PREDICT_URL, json.dumps({"features": features}), content_type="application/json"
    )

    assert response.status_code == 201
    assert Prediction.objects.filter(request_id=response.json()["request_id"]).exists()
    settings.SCORING_FAST_PATH = False
    with pytest.raises(AssertionError, match="the full route was taken"):
        api_client.post(PREDICT_URL, json.dumps({"features": features}), content_type="application/json")


def test_the_admin_scoring_from_the_docs_page_takes_the_full_route(active_model, admin_client, features):
    response = admin_client.post(
        PREDICT_URL, json.dumps({"features": features}), content_type="application/json"
    )

    assert response.status_code == 201
    assert ModelVersion.objects.get().pk == active_model.pk
