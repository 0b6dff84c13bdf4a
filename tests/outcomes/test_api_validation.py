"""Everything a client can get wrong is a 4xx naming what was wrong, and stores nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from outcomes.models import Outcome
from tests.outcomes.factories import OUTCOMES_URL, report
from tests.predictions.helpers import post_json


def assert_nothing_stored() -> None:
    assert Outcome.objects.count() == 0
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED).exists()


def assert_field_error(response, name: str, message: str) -> None:
    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) == [name]
    assert any(message in text for text in errors[name]), errors
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"label": "maybe"}, "label", '"maybe" is not a valid choice.'),
        ({"label": 1}, "label", '"1" is not a valid choice.'),
        ({"label": None}, "label", "This field may not be null."),
        ({"source": "gossip"}, "source", '"gossip" is not a valid choice.'),
        ({"source": ["chargeback"]}, "source", "is not a valid choice."),
        ({"occurred_at": "yesterday"}, "occurred_at", "Datetime has wrong format."),
        ({"occurred_at": 1764241200}, "occurred_at", "Datetime has wrong format."),
        ({"occurred_at": "2026-11-\x0026T09:30:00Z"}, "occurred_at", "Datetime has wrong format."),
        ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "occurred_at", "Datetime value out of range."),
        ({"reference": "r" * 129}, "reference", "no more than 128 characters."),
        ({"reference": "x" * 200_000}, "reference", "no more than 128 characters."),
        ({"reference": "dispute\x00-1"}, "reference", "Null characters are not allowed."),
        ({"reference": 17}, "reference", "Not a valid string."),
        ({"request_id": 17}, "request_id", "Not a valid string."),
        ({"request_id": "txn\x00-1"}, "request_id", "Null characters are not allowed."),
        ({"request_id": "no spaces allowed"}, "request_id", "Use 1-64 characters"),
        ({"request_id": "r" * 65}, "request_id", "no more than 64 characters."),
    ],
    ids=lambda value: repr(value)[:40] if not isinstance(value, dict) else None,
)
def test_it_names_the_field_that_is_wrong(api_client, prediction, changes, field, message):
    fields = {"request_id": prediction.request_id, "label": "fraud", **changes}
    response = report(api_client, **fields)

    assert_field_error(response, field, message)


@pytest.mark.parametrize("missing", ["request_id", "label"])
def test_it_requires_the_request_id_and_the_label(api_client, prediction, missing):
    fields = {"request_id": prediction.request_id, "label": "fraud"}
    del fields[missing]
    response = report(api_client, **fields)

    assert_field_error(response, missing, "This field is required.")


def test_it_refuses_a_time_in_the_future(api_client, prediction):
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    response = report(api_client, request_id=prediction.request_id, label="fraud", occurred_at=tomorrow)

    assert_field_error(response, "occurred_at", "Must not be in the future.")


def test_it_refuses_an_unknown_request_id(api_client, prediction):
    response = report(api_client, request_id="never-scored", label="fraud")

    assert_field_error(response, "request_id", "There is no prediction with this request_id.")


@pytest.mark.parametrize("body", ['{"label": ', "{label: fraud}", "\x00", '{"label": "fraud"} trailing'])
def test_it_refuses_a_body_that_is_not_json(api_client, prediction, body):
    response = post_json(api_client, OUTCOMES_URL, body)

    assert response.status_code == 400
    assert "detail" in response.json()
    assert_nothing_stored()


@pytest.mark.parametrize("body", ["[]", '"fraud"', "17", "null", '["fraud"]'])
def test_it_refuses_a_body_that_is_not_an_object(api_client, prediction, body):
    response = post_json(api_client, OUTCOMES_URL, body)

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert_nothing_stored()


def test_an_empty_body_lacks_every_required_field(api_client, prediction):
    response = post_json(api_client, OUTCOMES_URL, "")

    assert response.status_code == 400
    assert response.json() == {
        "request_id": ["This field is required."],
        "label": ["This field is required."],
    }
    assert_nothing_stored()


def test_it_refuses_a_body_that_is_not_json_by_its_type(api_client, prediction):
    response = api_client.post(
        OUTCOMES_URL, f"request_id={prediction.request_id}&label=fraud", content_type="text/plain"
    )

    assert response.status_code == 415
    assert_nothing_stored()


def test_it_names_every_wrong_field_at_once(api_client, prediction):
    response = report(api_client, request_id=prediction.request_id, label="maybe", source="gossip")

    assert response.status_code == 400
    assert set(response.json()) == {"label", "source"}
    assert_nothing_stored()
