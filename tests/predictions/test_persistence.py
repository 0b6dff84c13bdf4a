"""Storing a scored prediction: the prediction, its explanation and its audit queue entry, all or none.

On PostgreSQL the three rows are written by one prepared statement (predictions/persistence.py);
elsewhere through the ORM. Both must store the same thing.
"""

from datetime import UTC, datetime

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from audit.models import AuditPending
from audit.selectors import audit_chain_verify
from audit.services import audit_chain_extend
from predictions import persistence, services
from predictions.models import Explanation, Prediction

pytestmark = pytest.mark.usefixtures("active_model")


# A few rows travel to PostgreSQL as one JSON document, many as arrays: both store the same.
@pytest.mark.parametrize("count", [3, persistence._DOCUMENT_MAX_ROWS + 1], ids=["document", "arrays"])
def test_each_prediction_gets_its_explanation_and_one_audit_queue_entry(
    api_key_and_secret, transactions, count
):
    api_key, _ = api_key_and_secret
    items = [{"request_id": f"order-{n}", "features": f} for n, f in enumerate(transactions(count))]

    created, _ = services.predictions_create_batch(api_key=api_key, items=items)

    for prediction, item in zip(created, items, strict=True):
        stored = Prediction.objects.get(pk=prediction.pk)
        assert stored.request_id == item["request_id"]
        assert stored.api_key_id == api_key.pk
        assert stored.features == prediction.features
        assert stored.reason_codes == prediction.reason_codes
        # Exactly, through the JSON the rows travel in: floats to the last bit, times to the microsecond.
        assert (stored.score, stored.confidence, stored.created_at) == (
            prediction.score,
            prediction.confidence,
            prediction.created_at,
        )
        assert (stored.routing_state, stored.routing_enqueued_at) == (
            prediction.routing_state,
            prediction.routing_enqueued_at,
        )
        explanation = Explanation.objects.get(prediction=stored)
        assert explanation.explainer == "TreeExplainer"
        assert set(explanation.values) == set(stored.features)
        assert stored.scored_by is None  # the API key names who asked
        assert AuditPending.objects.filter(source="prediction", object_id=stored.pk).count() == 1


def test_the_predictions_link_into_a_chain_that_verifies(features):
    services.prediction_create(api_key=None, request_id="order-1", features=features)

    audit_chain_extend()

    report = audit_chain_verify()
    assert report.ok and report.unlinked == 0 and report.checked >= 1


def test_a_taken_request_id_stores_nothing_and_leaves_the_callers_transaction_usable(features):
    services.prediction_create(api_key=None, request_id="order-1", features=features)
    counts = (Prediction.objects.count(), Explanation.objects.count(), AuditPending.objects.count())

    with transaction.atomic():
        with pytest.raises(IntegrityError):
            _insert_again("order-1", features)
        # Still usable: a savepoint took the failure, not the transaction.
        assert Prediction.objects.filter(request_id="order-1").count() == 1

    assert (Prediction.objects.count(), Explanation.objects.count(), AuditPending.objects.count()) == counts


@pytest.mark.postgres
def test_the_single_statement_stores_what_the_orm_stores(transactions):
    features = transactions(2)
    by_statement = _stored(persistence._insert_postgresql, "sql", features)
    by_orm = _stored(persistence._insert_orm, "orm", features)

    assert connection.vendor == "postgresql"
    assert by_statement == by_orm


# --- helpers ----------------------------------------------------------------------------


def _insert_again(request_id: str, features: dict) -> None:
    from predictions import registry

    active = registry.get_active_model()
    row = _row(active, request_id, features)
    persistence.scored_rows_insert(rows=[row], explainer="TreeExplainer", shap_version="x")


def _row(active, request_id: str, features: dict) -> persistence.ScoredRow:
    candidate = services._Candidate(request_id, features, services.features_digest(features))
    result = active.scorer.score([features])[0]
    prediction = services._prediction_row(
        active.version, None, candidate, result, "system", review_everything=False
    )
    return persistence.ScoredRow(
        prediction=prediction, base_value=result.base_value, contributions=result.contributions
    )


def _stored(insert, prefix: str, features: list[dict]) -> list[tuple]:
    """What one insert path stores for these features, without ids and request IDs."""
    from predictions import registry

    active = registry.get_active_model()
    rows = [_row(active, f"{prefix}-{n}", f) for n, f in enumerate(features)]
    with transaction.atomic():
        insert(rows, "TreeExplainer", "test")
    stored = []
    for row in rows:
        prediction = Prediction.objects.get(pk=row.prediction.pk)
        explanation = Explanation.objects.get(prediction=prediction)
        queued = AuditPending.objects.filter(source="prediction", object_id=prediction.pk).count()
        stored.append(
            (
                prediction.features,
                prediction.features_digest,
                prediction.score,
                prediction.label,
                prediction.confidence,
                prediction.routing,
                prediction.status,
                prediction.final_label,
                prediction.reason_codes,
                prediction.routing_state,
                prediction.routing_enqueued_at is None,
                explanation.base_value,
                explanation.values,
                explanation.output,
                explanation.explainer,
                explanation.shap_version,
                prediction.scored_by,
                queued,
            )
        )
    return stored


@pytest.mark.postgres
def test_the_statement_is_prepared_once_per_connection(transactions):
    for n, features in enumerate(transactions(3)):
        services.prediction_create(api_key=None, request_id=f"order-{n}", features=features)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%INSERT INTO predictions_prediction%"],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_that_died_between_requests_is_replaced_without_an_error(transactions, settings):
    settings.MODEL_REFRESH_SECONDS = 3600  # so the insert is the request's first query
    first, second = transactions(2)
    services.prediction_create(api_key=None, request_id="before", features=first)
    dead_backend = connection.connection.info.backend_pid
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [dead_backend])

    prediction, created = services.prediction_create(api_key=None, request_id="after", features=second)

    assert created and Prediction.objects.filter(pk=prediction.pk).exists()
    assert connection.connection.info.backend_pid != dead_backend


def _admin_dsn() -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if k in {"dbname", "user", "password", "host", "port"}}
    )


def test_json_beyond_what_orjson_writes_is_written_by_the_standard_library():
    at = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)

    assert (
        persistence._json_text({"count": 2**70, "score": 0.25, "at": at})
        == '{"count": 1180591620717411303424, "score": 0.25, "at": "2026-11-28T01:02:03.456789+00:00"}'
    )
