"""Scoring many transactions in one request: all or nothing, answered in input order."""

import gc
import weakref

import pytest
from django.conf import settings

from predictions.api import views
from predictions.models import Explanation, Prediction
from tests.predictions.helpers import BATCH_URL, PREDICT_URL, post_json

pytestmark = pytest.mark.usefixtures("active_model")


def batch(client, items: list[dict]):
    return post_json(client, BATCH_URL, {"items": items})


def test_it_answers_in_input_order(api_client, transactions):
    items = [{"request_id": f"order-{n}", "features": row} for n, row in enumerate(transactions(25))]
    response = batch(api_client, items)

    assert response.status_code == 201
    results = response.json()["results"]
    assert [result["request_id"] for result in results] == [item["request_id"] for item in items]
    assert Prediction.objects.count() == 25
    assert Explanation.objects.count() == 25


def test_a_batchs_predictions_are_freed_with_its_answer_not_left_to_the_collector(
    api_client, transactions, monkeypatch
):
    # A request's objects end in reference cycles (Django's and DRF's); what they hold waits
    # for the garbage collector's full passes, which walk it again at every pass until then.
    answered = []

    def recorded(**kwargs):
        results, created = create_batch(**kwargs)
        answered.extend(weakref.ref(prediction) for prediction in results)
        return results, created

    create_batch = views.services.predictions_create_batch
    monkeypatch.setattr(views.services, "predictions_create_batch", recorded)
    gc.collect()
    gc.disable()
    try:
        response = batch(api_client, [{"features": row} for row in transactions(3)])
        assert response.status_code == 201
        del response
        alive = sum(ref() is not None for ref in answered)
    finally:
        gc.enable()

    assert (len(answered), alive) == (3, 0)


def test_it_scores_each_item_as_a_single_request_would(api_client, transactions):
    rows = transactions(5)
    batched = batch(api_client, [{"request_id": f"b-{n}", "features": row} for n, row in enumerate(rows)])
    single = [
        post_json(api_client, PREDICT_URL, {"request_id": f"s-{n}", "features": row})
        for n, row in enumerate(rows)
    ]

    assert batched.status_code == 201
    for from_batch, alone in zip(batched.json()["results"], single):
        assert from_batch["score"] == pytest.approx(alone.json()["score"], abs=1e-12)
        assert from_batch["reason_codes"] == alone.json()["reason_codes"]


def test_it_assigns_request_ids_to_items_without_one(api_client, transactions):
    response = batch(api_client, [{"features": row} for row in transactions(3)])

    assert response.status_code == 201
    request_ids = [result["request_id"] for result in response.json()["results"]]
    assert len(set(request_ids)) == 3
    assert set(Prediction.objects.values_list("request_id", flat=True)) == set(request_ids)


def test_it_accepts_exactly_the_maximum_number_of_items(api_client, features):
    items = [{"features": features}] * settings.BATCH_MAX_ITEMS
    response = batch(api_client, items)

    assert response.status_code == 201
    assert len(response.json()["results"]) == settings.BATCH_MAX_ITEMS
    assert Prediction.objects.count() == settings.BATCH_MAX_ITEMS


def test_it_rejects_one_item_more_than_the_maximum(api_client, features):
    items = [{"features": features}] * (settings.BATCH_MAX_ITEMS + 1)
    response = batch(api_client, items)

    assert response.status_code == 400
    assert response.json()["items"] == [
        f"Ensure this field has no more than {settings.BATCH_MAX_ITEMS} elements."
    ]
    assert Prediction.objects.count() == 0


def test_it_rejects_an_empty_batch(api_client):
    response = batch(api_client, [])

    assert response.status_code == 400
    assert response.json() == {"items": ["Ensure this field has at least 1 elements."]}


@pytest.mark.parametrize("body", [{}, {"items": {"0": {}}}, {"items": "all"}, []])
def test_it_rejects_a_body_without_a_list_of_items(api_client, body):
    response = post_json(api_client, BATCH_URL, body)

    assert response.status_code == 400
    assert set(response.json()) <= {"items", "non_field_errors"}
    assert Prediction.objects.count() == 0


def test_one_bad_item_rejects_the_whole_batch_naming_it(api_client, transactions):
    rows = transactions(4)
    rows[2] = {**rows[2], "hour_of_day": 31}
    response = batch(api_client, [{"features": row} for row in rows])

    assert response.status_code == 400
    assert response.json() == {"items": {"2": {"features": {"hour_of_day": ["Must be at most 23."]}}}}
    assert Prediction.objects.count() == 0
    assert Explanation.objects.count() == 0


def test_it_names_every_bad_item(api_client, transactions):
    rows = transactions(4)
    rows[0] = {**rows[0], "channel": "fax"}
    del rows[3]["amount"]
    response = batch(api_client, [{"features": row} for row in rows])

    assert response.status_code == 400
    errors = response.json()["items"]
    assert set(errors) == {"0", "3"}
    assert list(errors["0"]["features"]) == ["channel"]
    assert errors["3"]["features"] == {"amount": ["This feature is required."]}
    assert Prediction.objects.count() == 0


def test_an_item_whose_features_are_not_an_object_rejects_the_batch(api_client, features):
    response = batch(api_client, [{"features": features}, {"features": ["amount", 12]}])

    assert response.status_code == 400
    assert list(response.json()["items"]) == ["1"]
    assert list(response.json()["items"]["1"]) == ["features"]
    assert Prediction.objects.count() == 0


def test_an_item_with_a_bad_request_id_rejects_the_batch(api_client, features):
    response = batch(api_client, [{"features": features}, {"request_id": "no spaces", "features": features}])

    assert response.status_code == 400
    assert list(response.json()["items"]["1"]) == ["request_id"]
    assert Prediction.objects.count() == 0


def test_it_rejects_a_request_id_repeated_within_the_batch(api_client, transactions):
    rows = transactions(3)
    items = [{"request_id": "a", "features": rows[0]}, {"request_id": "b", "features": rows[1]}]
    response = batch(api_client, [*items, {"request_id": "a", "features": rows[2]}])

    assert response.status_code == 400
    assert response.json() == {"items": {"2": {"request_id": ["Repeats the request_id of item 0."]}}}
    assert Prediction.objects.count() == 0


def test_a_batch_of_stored_request_ids_returns_the_stored_answers(api_client, transactions):
    items = [{"request_id": f"order-{n}", "features": row} for n, row in enumerate(transactions(3))]
    first = batch(api_client, items)
    again = batch(api_client, items)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Prediction.objects.count() == 3


def test_a_batch_mixing_stored_and_new_request_ids_stores_only_the_new(api_client, transactions):
    rows = transactions(4)
    stored = post_json(api_client, PREDICT_URL, {"request_id": "order-1", "features": rows[1]}).json()
    items = [{"request_id": f"order-{n}", "features": row} for n, row in enumerate(rows)]
    response = batch(api_client, items)

    assert response.status_code == 201
    results = response.json()["results"]
    assert [result["request_id"] for result in results] == ["order-0", "order-1", "order-2", "order-3"]
    assert results[1] == stored
    assert Prediction.objects.count() == 4


def test_a_stored_request_id_with_other_features_rejects_the_batch(api_client, transactions):
    rows = transactions(3)
    post_json(api_client, PREDICT_URL, {"request_id": "order-1", "features": rows[0]})
    items = [{"request_id": "order-0", "features": rows[0]}, {"request_id": "order-1", "features": rows[1]}]
    response = batch(api_client, items)

    assert response.status_code == 409
    assert list(response.json()["items"]) == ["1"]
    assert "order-1" in response.json()["items"]["1"]["request_id"][0]
    assert list(Prediction.objects.values_list("request_id", flat=True)) == ["order-1"]


def test_a_batch_waits_for_a_slot_and_is_answered_503_when_none_comes_free(api_client, features, settings):
    settings.BATCH_CONCURRENCY, settings.BATCH_WAIT_SECONDS = 1, 0.05
    with views._batch_slots(1, 0.05).slot():  # the process's one batch slot, taken
        response = batch(api_client, [{"request_id": "waited", "features": features}])

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "detail": "Too many batch requests in progress on this server; retry after 1 second."
    }
    assert not Prediction.objects.exists()


def test_a_refused_batch_leaves_its_slot_to_the_next(api_client, features, settings):
    settings.BATCH_CONCURRENCY, settings.BATCH_WAIT_SECONDS = 1, 0.05
    assert batch(api_client, [{"request_id": "bad", "features": {}}]).status_code == 400

    response = batch(api_client, [{"request_id": "next", "features": features}])

    assert response.status_code == 201
