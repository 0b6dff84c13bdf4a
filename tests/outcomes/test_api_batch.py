"""Reporting many outcomes in one request: all or nothing, answered in input order."""

import pytest
from django.conf import settings

from audit.models import AuditEvent
from outcomes.models import Outcome
from tests.outcomes.factories import BATCH_URL, report, report_batch
from tests.predictions.helpers import post_json


def recorded_events() -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED).count()


def test_it_records_every_item_and_answers_in_input_order(api_client, make_predictions):
    predictions = make_predictions(5)
    items = [
        {"request_id": p.request_id, "label": label, "source": "chargeback", "reference": f"d-{n}"}
        for n, (p, label) in enumerate(zip(predictions, ["fraud", "legit"] * 3))
    ]
    response = report_batch(api_client, items)

    assert response.status_code == 201, response.content
    results = response.json()["results"]
    assert [(r["request_id"], r["label"], r["reference"]) for r in results] == [
        (i["request_id"], i["label"], i["reference"]) for i in items
    ]
    assert Outcome.objects.count() == 5
    assert set(Outcome.objects.values_list("id", flat=True)) == {r["id"] for r in results}
    assert recorded_events() == 5


def test_a_batch_of_repeats_is_answered_200_with_the_stored_outcomes(api_client, make_predictions):
    items = [{"request_id": p.request_id, "label": "fraud"} for p in make_predictions(3)]
    first = report_batch(api_client, items)
    again = report_batch(api_client, items)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Outcome.objects.count() == 3
    assert recorded_events() == 3


def test_a_batch_with_some_repeats_stores_only_the_new_ones(api_client, make_predictions):
    old, new = make_predictions(2)
    stored = report(api_client, request_id=old.request_id, label="legit").json()
    response = report_batch(
        api_client,
        [{"request_id": old.request_id, "label": "legit"}, {"request_id": new.request_id, "label": "fraud"}],
    )

    assert response.status_code == 201
    assert response.json()["results"][0] == stored
    assert Outcome.objects.count() == 2
    assert recorded_events() == 2


def test_one_bad_item_stores_nothing_and_is_named_by_its_index(api_client, make_predictions):
    predictions = make_predictions(4)
    items = [{"request_id": p.request_id, "label": "fraud"} for p in predictions]
    items[3]["label"] = "maybe"
    response = report_batch(api_client, items)

    assert response.status_code == 400
    assert response.json() == {"items": {"3": {"label": ['"maybe" is not a valid choice.']}}}
    assert Outcome.objects.count() == 0
    assert recorded_events() == 0


def test_an_unknown_request_id_is_named_by_its_index(api_client, make_predictions):
    items = [{"request_id": p.request_id, "label": "fraud"} for p in make_predictions(2)]
    items.insert(1, {"request_id": "never-scored", "label": "fraud"})
    response = report_batch(api_client, items)

    assert response.status_code == 400
    assert response.json() == {
        "items": {"1": {"request_id": ["There is no prediction with this request_id."]}}
    }
    assert Outcome.objects.count() == 0


def test_a_future_time_is_named_by_its_index(api_client, prediction):
    items = [
        {"request_id": prediction.request_id, "label": "fraud", "reference": "a"},
        {
            "request_id": prediction.request_id,
            "label": "fraud",
            "reference": "b",
            "occurred_at": "2999-01-01T00:00Z",
        },
    ]
    response = report_batch(api_client, items)

    assert response.status_code == 400
    assert response.json() == {"items": {"1": {"occurred_at": ["Must not be in the future."]}}}
    assert Outcome.objects.count() == 0


def test_a_conflicting_item_stores_nothing(api_client, make_predictions):
    first, second = make_predictions(2)
    report(api_client, request_id=first.request_id, label="fraud")
    response = report_batch(
        api_client,
        [
            {"request_id": second.request_id, "label": "fraud"},
            {"request_id": first.request_id, "label": "legit"},
        ],
    )

    assert response.status_code == 409
    assert response.json() == {
        "items": {"1": {"label": ["This outcome is already recorded with the label 'fraud'."]}}
    }
    assert list(Outcome.objects.values_list("prediction_id", flat=True)) == [first.pk]
    assert recorded_events() == 1


def test_it_refuses_the_same_outcome_twice_in_one_batch(api_client, prediction):
    item = {"request_id": prediction.request_id, "label": "fraud", "source": "chargeback", "reference": "d-1"}
    response = report_batch(api_client, [item, {**item, "label": "legit"}])

    assert response.status_code == 400
    assert list(response.json()["items"]) == ["1"]
    assert "Repeats the outcome of item 0" in response.json()["items"]["1"]["reference"][0]
    assert Outcome.objects.count() == 0


def test_it_accepts_exactly_the_maximum_number_of_items(api_client, prediction):
    items = [
        {"request_id": prediction.request_id, "label": "fraud", "reference": f"r-{n}"}
        for n in range(settings.BATCH_MAX_ITEMS)
    ]
    response = report_batch(api_client, items)

    assert response.status_code == 201
    assert len(response.json()["results"]) == settings.BATCH_MAX_ITEMS
    assert Outcome.objects.count() == settings.BATCH_MAX_ITEMS
    assert recorded_events() == settings.BATCH_MAX_ITEMS


def test_it_refuses_one_item_more_than_the_maximum(api_client, prediction):
    items = [
        {"request_id": prediction.request_id, "label": "fraud", "reference": f"r-{n}"}
        for n in range(settings.BATCH_MAX_ITEMS + 1)
    ]
    response = report_batch(api_client, items)

    assert response.status_code == 400
    assert response.json() == {
        "items": [f"Ensure this field has no more than {settings.BATCH_MAX_ITEMS} elements."]
    }
    assert Outcome.objects.count() == 0


def test_it_refuses_an_empty_batch(api_client, db):
    response = report_batch(api_client, [])

    assert response.status_code == 400
    assert response.json() == {"items": ["Ensure this field has at least 1 elements."]}


@pytest.mark.parametrize("body", [{}, {"items": {"0": {}}}, {"items": "all"}, [], {"items": [17]}])
def test_it_refuses_a_body_without_a_list_of_items(api_client, db, body):
    response = post_json(api_client, BATCH_URL, body)

    assert response.status_code == 400
    assert Outcome.objects.count() == 0
