"""A batch's items are read without the serializer when they are well-formed, with the same result."""

import pytest
from rest_framework.exceptions import ValidationError

from predictions.api import serializers

FEATURES = {"amount": 12.5, "channel": "web"}

BODIES = {
    "items with and without request IDs": {
        "items": [{"request_id": "a-1", "features": FEATURES}, {"features": FEATURES}]
    },
    "an item with a field the API does not know": {"items": [{"features": FEATURES, "priority": "high"}]},
    "no items": {"items": []},
    "items not a list": {"items": {"features": FEATURES}},
    "no items key": {"features": FEATURES},
    "a list body": [{"features": FEATURES}],
    "an item not an object": {"items": [FEATURES, 3]},
    "features not an object": {"items": [{"features": [1, 2]}]},
    "a null request ID": {"items": [{"request_id": None, "features": FEATURES}]},
    "a numeric request ID": {"items": [{"request_id": 7, "features": FEATURES}]},
    "a request ID with spaces": {"items": [{"request_id": "a 1", "features": FEATURES}]},
    "a request ID of 65 characters": {"items": [{"request_id": "x" * 65, "features": FEATURES}]},
}


def through_the_serializer(body: object) -> list[dict] | dict:
    payload = serializers.PredictionBatchInputSerializer(data=body)
    if not payload.is_valid():
        return payload.errors
    return [dict(item) for item in payload.validated_data["items"]]


def read(body: object) -> list[dict] | dict:
    try:
        return [
            {key: item[key] for key in ("request_id", "features") if key in item}
            for item in serializers.prediction_batch_input(body)
        ]
    except ValidationError as error:
        return error.detail


@pytest.mark.parametrize("case", BODIES)
def test_it_reads_each_body_as_the_serializer_does(case):
    assert read(BODIES[case]) == through_the_serializer(BODIES[case])


def test_it_accepts_the_maximum_and_refuses_one_more_as_the_serializer_does(settings):
    at_most = {"items": [{"features": FEATURES}] * settings.BATCH_MAX_ITEMS}
    too_many = {"items": [{"features": FEATURES}] * (settings.BATCH_MAX_ITEMS + 1)}

    assert read(at_most) == through_the_serializer(at_most)
    assert read(too_many) == through_the_serializer(too_many)


def test_well_formed_items_skip_the_serializer(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the serializer was built")

    monkeypatch.setattr(serializers.PredictionBatchInputSerializer, "__init__", never)

    assert len(serializers.prediction_batch_input(BODIES["items with and without request IDs"])) == 2
