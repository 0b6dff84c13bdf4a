"""A request_id stands for one prediction: repeats get the original answer, never a second row."""

import threading

import pytest
from django.db import connection
from django.db.models import QuerySet

from predictions import services
from predictions.models import Explanation, Prediction
from tests.predictions.helpers import PREDICT_URL, post_at_once, post_json

pytestmark = pytest.mark.usefixtures("active_model")


def predict(client, features: dict, request_id: str = "order-1"):
    return post_json(client, PREDICT_URL, {"request_id": request_id, "features": features})


def test_a_repeat_returns_the_original_answer(api_client, features):
    first = predict(api_client, features)
    again = predict(api_client, features)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Prediction.objects.count() == 1
    assert Explanation.objects.count() == 1


def test_a_repeat_with_other_features_is_a_conflict_naming_the_request_id(api_client, features):
    predict(api_client, features)
    response = predict(api_client, {**features, "amount": features["amount"] + 1})

    assert response.status_code == 409
    assert response.json() == {
        "request_id": ["A prediction with request_id 'order-1' already exists with different features."]
    }
    assert Prediction.objects.get().features == features


def test_another_key_cannot_reuse_a_request_id(api_client, other_api_client, features):
    predict(api_client, features)
    response = predict(other_api_client, features)

    assert response.status_code == 409
    assert response.json() == {"request_id": ["This request_id is already in use."]}
    assert Prediction.objects.count() == 1


def test_an_integer_and_the_same_float_are_the_same_features(api_client, features):
    first = predict(api_client, {**features, "amount": 10})
    again = predict(api_client, {**features, "amount": 10.0})

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Prediction.objects.count() == 1


def test_the_order_of_the_features_does_not_matter(api_client, features):
    predict(api_client, features)
    response = predict(api_client, dict(reversed(list(features.items()))))

    assert response.status_code == 200
    assert Prediction.objects.count() == 1


def test_a_repeat_after_a_model_switch_returns_the_original_answer(
    active_model, api_client, register_model, features
):
    first = predict(api_client, features)
    register_model()
    again = predict(api_client, features)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["model_version"] == active_model.version


def test_a_request_that_lost_the_insert_race_gets_the_winners_answer(api_client, features, monkeypatch):
    winner = predict(api_client, features)
    lookups = []
    real_in_bulk = QuerySet.in_bulk

    def lookup_before_the_winner_committed(self, *args, **kwargs):
        lookups.append(args)
        return {} if len(lookups) == 1 else real_in_bulk(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "in_bulk", lookup_before_the_winner_committed)
    loser = predict(api_client, features)

    assert loser.status_code == 200
    assert loser.json() == winner.json()
    assert len(lookups) == 2
    assert Prediction.objects.count() == 1


@pytest.mark.postgres
def test_concurrent_duplicates_store_one_prediction(
    audit_log_flushable, transactional_db, api_key_and_secret, features
):
    threads_count = 8
    answers = post_at_once(
        api_key_and_secret[1], {"request_id": "race-1", "features": features}, threads=threads_count
    )

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (threads_count - 1) + [201]
    assert all(body == answers[0][1] for _, body in answers)
    assert Prediction.objects.filter(request_id="race-1").count() == 1
    assert Explanation.objects.count() == 1


@pytest.mark.postgres
def test_concurrent_duplicates_through_the_service_store_one_prediction(
    audit_log_flushable, transactional_db, api_key_and_secret, features
):
    threads_count = 8
    start = threading.Barrier(threads_count)
    outcomes: list[tuple[int, bool]] = []

    def create_at_once() -> None:
        try:
            start.wait(timeout=30)
            prediction, created = services.prediction_create(
                api_key=api_key_and_secret[0], request_id="race-2", features=features
            )
            outcomes.append((prediction.pk, created))
        finally:
            connection.close()

    threads = [threading.Thread(target=create_at_once) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == threads_count
    assert sorted(created for _, created in outcomes) == [False] * (threads_count - 1) + [True]
    assert len({pk for pk, _ in outcomes}) == 1
    assert Prediction.objects.count() == 1
