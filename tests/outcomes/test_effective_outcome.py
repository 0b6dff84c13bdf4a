"""A prediction's effective outcome: the latest reported by occurred_at, whatever the arrival order."""

import json
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from outcomes import services
from outcomes.imports import ImportRow
from predictions.models import Prediction
from tests.outcomes.factories import report, report_batch

DETAIL_URL = "/api/v1/predictions/{}/"
SEARCH_URL = "/api/v1/predictions/"


def effective(prediction: Prediction) -> tuple[str | None, str | None, datetime | None]:
    prediction.refresh_from_db()
    return prediction.outcome_label, prediction.outcome_source, prediction.outcome_occurred_at


def test_a_prediction_without_outcomes_has_none(api_client, prediction):
    response = api_client.get(DETAIL_URL.format(prediction.request_id))

    assert response.status_code == 200
    assert response.json()["outcome"] is None
    assert effective(prediction) == (None, None, None)


def test_the_first_outcome_becomes_the_effective_one_and_the_detail_shows_it(api_client, prediction):
    report(
        api_client,
        request_id=prediction.request_id,
        label="fraud",
        source="chargeback",
        occurred_at="2026-11-20T10:00:00Z",
    )

    body = api_client.get(DETAIL_URL.format(prediction.request_id)).json()
    assert set(body["outcome"]) == {"label", "source", "occurred_at", "received_at"}
    assert (body["outcome"]["label"], body["outcome"]["source"]) == ("fraud", "chargeback")
    assert parse_datetime(body["outcome"]["occurred_at"]) == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert parse_datetime(body["outcome"]["received_at"]) is not None


def test_a_later_outcome_replaces_an_earlier_one(api_client, prediction):
    report(api_client, request_id=prediction.request_id, label="legit", source="customer_confirmed",
           occurred_at="2026-11-01T00:00:00Z")  # fmt: skip
    report(api_client, request_id=prediction.request_id, label="fraud", source="chargeback",
           occurred_at="2026-11-20T00:00:00Z")  # fmt: skip

    assert effective(prediction) == ("fraud", "chargeback", datetime(2026, 11, 20, tzinfo=UTC))


def test_an_outcome_that_happened_earlier_does_not_replace_a_later_one_however_late_it_arrives(
    api_client, prediction
):
    report(api_client, request_id=prediction.request_id, label="fraud", source="chargeback",
           occurred_at="2026-11-20T00:00:00Z")  # fmt: skip
    report(api_client, request_id=prediction.request_id, label="legit", source="customer_confirmed",
           occurred_at="2026-11-01T00:00:00Z")  # fmt: skip

    assert effective(prediction) == ("fraud", "chargeback", datetime(2026, 11, 20, tzinfo=UTC))


def test_of_two_outcomes_at_the_same_time_the_one_received_last_counts(api_client, prediction):
    same = {"request_id": prediction.request_id, "occurred_at": "2026-11-20T00:00:00Z"}
    report(api_client, label="fraud", source="chargeback", **same)
    report(api_client, label="legit", source="investigation", **same)

    assert effective(prediction)[:2] == ("legit", "investigation")


def test_in_one_batch_the_latest_of_a_predictions_outcomes_counts(api_client, prediction):
    response = report_batch(
        api_client,
        [
            {"request_id": prediction.request_id, "label": "fraud", "source": "chargeback",
             "occurred_at": "2026-11-20T00:00:00Z"},
            {"request_id": prediction.request_id, "label": "legit", "source": "investigation",
             "occurred_at": "2026-11-25T00:00:00Z"},
            {"request_id": prediction.request_id, "label": "fraud", "source": "fraud_report",
             "occurred_at": "2026-11-02T00:00:00Z"},
        ],
    )  # fmt: skip

    assert response.status_code == 201
    assert effective(prediction) == ("legit", "investigation", datetime(2026, 11, 25, tzinfo=UTC))


def test_a_repeated_report_changes_nothing(api_client, prediction):
    fields = {"request_id": prediction.request_id, "label": "fraud", "occurred_at": "2026-11-20T00:00:00Z"}
    report(api_client, **fields)
    received = Prediction.objects.get(pk=prediction.pk).outcome_received_at

    assert report(api_client, **fields).status_code == 200
    assert Prediction.objects.get(pk=prediction.pk).outcome_received_at == received


def test_an_imported_outcome_becomes_the_effective_one(prediction):
    summary = services.outcomes_import(
        rows=[
            ImportRow(line=2, values={"request_id": prediction.request_id, "label": "fraud",
                                      "source": "chargeback", "occurred_at": "2026-11-20T00:00:00Z",
                                      "reference": "cb-1"}),
        ],
        actor="user:admin",
    )  # fmt: skip

    assert summary.stored == 1
    assert effective(prediction) == ("fraud", "chargeback", datetime(2026, 11, 20, tzinfo=UTC))


def test_the_search_finds_predictions_by_outcome_and_by_having_one(
    api_client, make_predictions, staff_client
):
    fraud, legit, unknown = make_predictions(3)
    report(api_client, request_id=fraud.request_id, label="fraud")
    report(api_client, request_id=legit.request_id, label="legit")
    auditor = staff_client("auditor")

    def found(query: str) -> set[str]:
        response = auditor.get(f"{SEARCH_URL}?{query}")
        assert response.status_code == 200, response.content
        return {row["request_id"] for row in response.json()["results"]}

    assert found("outcome=fraud") == {fraud.request_id}
    assert found("outcome=legit") == {legit.request_id}
    assert found("has_outcome=true") == {fraud.request_id, legit.request_id}
    assert found("has_outcome=false") == {unknown.request_id}
    assert auditor.get(f"{SEARCH_URL}?outcome=maybe").status_code == 400


def test_the_audit_export_and_trace_page_carry_the_effective_outcome(api_client, prediction, staff_client):
    report(api_client, request_id=prediction.request_id, label="fraud", source="chargeback",
           occurred_at="2026-11-20T10:00:00Z")  # fmt: skip
    auditor = staff_client("auditor")

    lines = b"".join(auditor.get("/audit/export.jsonl").streaming_content).decode().splitlines()
    trace = auditor.get(f"/audit/predictions/{prediction.request_id}/").content.decode()

    [row] = [json.loads(line) for line in lines]
    assert (row["outcome"], row["outcome_source"]) == ("fraud", "chargeback")
    assert row["outcome_occurred_at"].startswith("2026-11-20T10:00:00")
    assert (row["review_reason"], row["inclusion_probability"], row["blind"]) == (None, None, None)
    assert "chargeback, 2026-11-20 10:00 UTC" in trace
