"""Reporting one outcome: stored once, answered again as stored, refused when it contradicts itself."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent
from outcomes import services
from outcomes.models import Outcome
from tests.outcomes.factories import report

YESTERDAY = "2026-11-26T09:30:00Z"


def test_it_records_an_outcome_of_the_keys_prediction(api_client, prediction, api_key_and_secret):
    response = report(
        api_client,
        request_id=prediction.request_id,
        label="fraud",
        source="chargeback",
        occurred_at=YESTERDAY,
        reference="dispute-17",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "request_id", "label", "source", "occurred_at", "received_at", "reference"}
    assert body["request_id"] == prediction.request_id
    assert (body["label"], body["source"], body["reference"]) == ("fraud", "chargeback", "dispute-17")
    assert parse_datetime(body["occurred_at"]) == datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    outcome = Outcome.objects.get()
    assert outcome.pk == body["id"]
    assert outcome.prediction_id == prediction.pk
    assert (outcome.label, outcome.source, outcome.reference) == ("fraud", "chargeback", "dispute-17")
    assert outcome.api_key_id == api_key_and_secret[0].pk
    assert outcome.reported_by == "api_key:checkout"
    assert parse_datetime(body["received_at"]) == outcome.received_at


def test_it_takes_the_source_as_other_and_the_time_as_now_when_they_are_left_out(api_client, prediction):
    before = timezone.now()
    response = report(api_client, request_id=prediction.request_id, label="legit")

    assert response.status_code == 201
    body = response.json()
    assert (body["source"], body["reference"]) == ("other", "")
    outcome = Outcome.objects.get()
    assert outcome.source == Outcome.Source.OTHER
    assert before <= outcome.occurred_at <= timezone.now()


def test_it_answers_a_repeat_with_the_stored_outcome(api_client, prediction):
    fields = {
        "request_id": prediction.request_id,
        "label": "fraud",
        "source": "chargeback",
        "reference": "d-1",
    }
    first = report(api_client, **fields, occurred_at=YESTERDAY)
    again = report(api_client, **fields, occurred_at=YESTERDAY)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Outcome.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED).count() == 1


def test_a_repeat_without_a_time_is_a_repeat_of_the_stored_time(api_client, prediction):
    first = report(api_client, request_id=prediction.request_id, label="fraud")
    again = report(api_client, request_id=prediction.request_id, label="fraud")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["occurred_at"] == first.json()["occurred_at"]
    assert Outcome.objects.count() == 1


def test_the_same_time_in_another_zone_is_a_repeat(api_client, prediction):
    first = report(api_client, request_id=prediction.request_id, label="fraud", occurred_at=YESTERDAY)
    again = report(
        api_client, request_id=prediction.request_id, label="fraud", occurred_at="2026-11-26T10:30:00+01:00"
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert Outcome.objects.count() == 1


def test_it_refuses_the_same_outcome_with_another_label(api_client, prediction):
    report(api_client, request_id=prediction.request_id, label="fraud", source="chargeback", reference="d-1")
    response = report(
        api_client, request_id=prediction.request_id, label="legit", source="chargeback", reference="d-1"
    )

    assert response.status_code == 409
    assert response.json() == {"label": ["This outcome is already recorded with the label 'fraud'."]}
    assert list(Outcome.objects.values_list("label", flat=True)) == ["fraud"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED).count() == 1


def test_it_refuses_the_same_outcome_at_another_time(api_client, prediction):
    report(api_client, request_id=prediction.request_id, label="fraud", occurred_at=YESTERDAY)
    response = report(
        api_client, request_id=prediction.request_id, label="fraud", occurred_at="2026-11-26T09:31:00Z"
    )

    assert response.status_code == 409
    assert list(response.json()) == ["occurred_at"]
    assert "2026-11-26T09:30:00+00:00" in response.json()["occurred_at"][0]
    assert Outcome.objects.get().occurred_at == datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "other", [{"source": "fraud_report"}, {"reference": "dispute-2"}], ids=["source", "reference"]
)
def test_another_source_or_reference_is_another_outcome(api_client, prediction, other):
    fields = {"request_id": prediction.request_id, "source": "chargeback", "reference": "dispute-1"}
    first = report(api_client, **fields, label="legit")
    second = report(api_client, **{**fields, **other}, label="fraud")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert Outcome.objects.filter(prediction=prediction).count() == 2


def test_each_stored_outcome_is_an_audit_event(api_client, prediction):
    response = report(
        api_client,
        request_id=prediction.request_id,
        label="fraud",
        source="chargeback",
        occurred_at=YESTERDAY,
        reference="dispute-17",
    )

    outcome = Outcome.objects.get()
    event = AuditEvent.objects.get(action=AuditEvent.Action.OUTCOME_RECORDED)
    assert response.status_code == 201
    assert event.actor == "api_key:checkout"
    assert event.request_id == prediction.request_id
    assert (event.object_type, event.object_id) == ("outcome", str(outcome.pk))
    assert event.before is None
    assert event.after == {
        "prediction": prediction.pk,
        "request_id": prediction.request_id,
        "label": "fraud",
        "source": "chargeback",
        "reference": "dispute-17",
        "occurred_at": "2026-11-26T09:30:00+00:00",
        "received_at": outcome.received_at.isoformat(),
        "api_key": outcome.api_key_id,
        "reported_by": "api_key:checkout",
    }


def test_an_outcome_whose_audit_event_fails_is_not_stored(prediction, api_key_and_secret, monkeypatch):
    def audit_down(**kwargs):
        raise RuntimeError("the audit log refused the write")

    monkeypatch.setattr(services, "audit_events_record", audit_down)

    with pytest.raises(RuntimeError):
        services.outcome_record(
            api_key=api_key_and_secret[0], actor="test", request_id=prediction.request_id, label="fraud"
        )

    assert Outcome.objects.count() == 0


def test_a_report_that_loses_a_race_is_answered_as_the_winners_outcome(api_client, prediction, monkeypatch):
    # The winner's row is stored between our look-up and our insert: the unique constraint
    # refuses the insert, and the second look-up finds the row.
    first = report(api_client, request_id=prediction.request_id, label="fraud", occurred_at=YESTERDAY)
    look_up = services._stored_outcomes
    calls = []

    def blind_first_look_up(candidates):
        calls.append(len(candidates))
        return {} if len(calls) == 1 else look_up(candidates)

    monkeypatch.setattr(services, "_stored_outcomes", blind_first_look_up)
    again = report(api_client, request_id=prediction.request_id, label="fraud", occurred_at=YESTERDAY)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert calls == [1, 1]
    assert Outcome.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED).count() == 1


def test_a_race_lost_with_another_label_is_a_conflict(api_client, prediction, monkeypatch):
    report(api_client, request_id=prediction.request_id, label="fraud")
    look_up = services._stored_outcomes
    calls = []

    def blind_first_look_up(candidates):
        calls.append(1)
        return {} if len(calls) == 1 else look_up(candidates)

    monkeypatch.setattr(services, "_stored_outcomes", blind_first_look_up)
    response = report(api_client, request_id=prediction.request_id, label="legit")

    assert response.status_code == 409
    assert list(response.json()) == ["label"]


def test_the_unique_constraint_is_the_guard(prediction):
    fields = {"prediction": prediction, "label": "fraud", "occurred_at": timezone.now(), "reported_by": "t"}
    Outcome.objects.create(**fields)

    with pytest.raises(IntegrityError):
        Outcome.objects.create(**fields)


def test_the_reference_limit_is_the_models():
    assert Outcome._meta.get_field("reference").max_length == services.REFERENCE_MAX_LENGTH


def test_a_clock_a_little_ahead_is_not_the_future(api_client, prediction):
    ahead = (timezone.now() + timedelta(seconds=20)).isoformat()
    response = report(api_client, request_id=prediction.request_id, label="fraud", occurred_at=ahead)

    assert response.status_code == 201
