"""How scored predictions reach the database: the write on the scoring hot path.

Each prediction is three rows: the prediction, its explanation and its `prediction.created`
audit event, written in the caller's transaction. On PostgreSQL the three go in one prepared
statement, committed on its own: one row's values as parameters, many rows' as binary arrays
(nothing to quote), bound on the server and planned once per connection. Through the
ORM the same write costs about 2 ms of Python per request and three round trips
(bench/README.md). Other databases (the SQLite demo) take the ORM path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from django.db import OperationalError, connection, transaction

from audit.models import AuditEvent
from audit.services import Event, audit_events_insert_sql, audit_events_record, audit_link_after_commit
from predictions.models import Explanation, Prediction


@dataclass(frozen=True)
class ScoredRow:
    """A prediction ready to store, with what its explanation and audit event hold."""

    prediction: Prediction
    base_value: float
    contributions: dict[str, float]
    audit_actor: str
    audit_after: dict[str, Any]


# The prediction columns in the order their arrays are passed. JSON travels as text arrays
# and is cast per row (psycopg has no fast jsonb[] dumper).
_PREDICTION_COLUMNS = [
    "request_id",
    "api_key_id",
    "model_version_id",
    "features",
    "features_digest",
    "score",
    "label",
    "confidence",
    "routing",
    "status",
    "final_label",
    "reason_codes",
    "routing_state",
    "routing_enqueued_at",
    "review_reason",
    "inclusion_probability",
    "created_at",
]
_JSON_COLUMNS = {"features", "reason_codes"}

# Many rows: one array per column (binary, so nothing is escaped), unnested on the server.
_INCOMING_MANY = """
    SELECT * FROM unnest(
        %b::text[], %b::bigint[], %b::bigint[], %b::text[], %b::text[], %b::float8[], %b::text[],
        %b::float8[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],
        %b::timestamptz[], %b::text[], %b::float8[], %b::timestamptz[], %b::float8[], %b::text[],
        %b::text[], %b::text[]
    ) WITH ORDINALITY AS t(
        request_id, api_key_id, model_version_id, features, features_digest, score, label,
        confidence, routing, status, final_label, reason_codes, routing_state,
        routing_enqueued_at, review_reason, inclusion_probability, created_at, base_value,
        shap_values, audit_actor, audit_after, ordinal
    )
"""
# One row, the API's common case: scalars are cheaper to send than one-element arrays.
_INCOMING_ONE = """
    SELECT * FROM (VALUES (
        %s::text, %s::bigint, %s::bigint, %s::text, %s::text, %s::float8, %s::text,
        %s::float8, %s::text, %s::text, %s::text, %s::text, %s::text,
        %s::timestamptz, %s::text, %s::float8, %s::timestamptz, %s::float8, %s::text, %s::text,
        %s::text, 1
    )) AS t(
        request_id, api_key_id, model_version_id, features, features_digest, score, label,
        confidence, routing, status, final_label, reason_codes, routing_state,
        routing_enqueued_at, review_reason, inclusion_probability, created_at, base_value,
        shap_values, audit_actor, audit_after, ordinal
    )
"""
_INSERT_FROM_INCOMING = """
WITH incoming AS ({incoming}), predictions AS (
    INSERT INTO predictions_prediction (
        request_id, api_key_id, model_version_id, features, features_digest, score, label,
        confidence, routing, status, final_label, reason_codes, routing_state,
        routing_enqueued_at, review_reason, inclusion_probability, created_at
    )
    SELECT request_id, api_key_id, model_version_id, features::jsonb, features_digest, score, label,
           confidence, routing, status, final_label, reason_codes::jsonb, routing_state,
           routing_enqueued_at, review_reason, inclusion_probability, created_at
    FROM incoming ORDER BY ordinal
    RETURNING id, request_id
), explanations AS (
    INSERT INTO predictions_explanation (prediction_id, base_value, "values", output, explainer, shap_version)
    SELECT predictions.id, incoming.base_value, incoming.shap_values::jsonb, 'log-odds', %s, %s
    FROM predictions JOIN incoming USING (request_id)
), audit_events AS (
    {audit_insert}
)
SELECT id, request_id FROM predictions
"""
_AUDIT_INSERT = audit_events_insert_sql(
    select="""SELECT incoming.created_at, %s, incoming.audit_actor, incoming.request_id, 'prediction',
           predictions.id::text, incoming.audit_after::jsonb
    FROM predictions JOIN incoming USING (request_id)
    ORDER BY incoming.ordinal"""
)
_INSERT_MANY = _INSERT_FROM_INCOMING.format(incoming=_INCOMING_MANY, audit_insert=_AUDIT_INSERT)
_INSERT_ONE = _INSERT_FROM_INCOMING.format(incoming=_INCOMING_ONE, audit_insert=_AUDIT_INSERT)


def scored_rows_insert(*, rows: list[ScoredRow], explainer: str, shap_version: str) -> None:
    """Insert the rows with their explanations and audit events, all or none; sets the pks.

    A request_id already stored raises IntegrityError and leaves the caller's transaction usable.
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            _insert_orm(rows, explainer, shap_version)
    elif connection.in_atomic_block:
        with transaction.atomic():  # a savepoint, so a duplicate does not abort the caller's work
            _insert_postgresql(rows, explainer, shap_version)
    else:
        # One statement in autocommit is its own transaction: no BEGIN and COMMIT round trips.
        _insert_postgresql(rows, explainer, shap_version)


def _insert_postgresql(rows: list[ScoredRow], explainer: str, shap_version: str) -> None:
    predictions = [row.prediction for row in rows]
    columns = [
        *([_column_value(prediction, name) for prediction in predictions] for name in _PREDICTION_COLUMNS),
        [row.base_value for row in rows],
        [_json_text(row.contributions) for row in rows],
        [row.audit_actor[:200] for row in rows],
        [_json_text(row.audit_after) for row in rows],
    ]
    constants = [explainer, shap_version, AuditEvent.Action.PREDICTION_CREATED.value]
    if len(rows) == 1:
        sql, params = _INSERT_ONE, [column[0] for column in columns] + constants
    else:
        sql, params = _INSERT_MANY, columns + constants
    ids = dict((request_id, pk) for pk, request_id in _execute_reconnecting(sql, params))
    for prediction in predictions:
        prediction.pk = ids[prediction.request_id]
        prediction._state.adding = False
    audit_link_after_commit()


def _execute_reconnecting(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run the statement; on a connection that died since its last use, reconnect and run it once more.

    Django's health check would cost a `SELECT 1` round trip on every request. Retrying is
    safe: a statement that never reached the server stored nothing, and one that committed
    before the connection broke makes the retry fail on its request_id, which the caller
    answers as a repeat. Inside a transaction there is nothing to retry on: it is lost.
    """
    connection.ensure_connection()
    try:
        return _execute(sql, params)
    except OperationalError:
        if connection.in_atomic_block or not connection.connection.broken:
            raise
    connection.close()
    connection.ensure_connection()
    return _execute(sql, params)


def _execute(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    # Django's cursors bind on the client; this one binds on the server and, unless
    # DATABASE_PREPARED_STATEMENTS is off, prepares the statement on its first use.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _column_value(prediction: Prediction, name: str) -> Any:
    value = getattr(prediction, name)
    return _json_text(value) if name in _JSON_COLUMNS else value


def _json_text(value: Any) -> str:
    # The server parses it into jsonb, so only the values count, not their spelling. orjson
    # writes a request's four documents in ~3 us; json.dumps took ~60 (floats are slow).
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # integers beyond 64 bits, which a user's schema may allow
        return json.dumps(value)


def _insert_orm(rows: list[ScoredRow], explainer: str, shap_version: str) -> None:
    created = Prediction.objects.bulk_create([row.prediction for row in rows])
    Explanation.objects.bulk_create(
        Explanation(
            prediction=prediction,
            base_value=row.base_value,
            values=row.contributions,
            explainer=explainer,
            shap_version=shap_version,
        )
        for prediction, row in zip(created, rows, strict=True)
    )
    audit_events_record(
        events=[
            Event(
                action=AuditEvent.Action.PREDICTION_CREATED,
                actor=row.audit_actor,
                object_type="prediction",
                object_id=prediction.pk,
                request_id=prediction.request_id,
                after=row.audit_after,
                created_at=prediction.created_at,
            )
            for prediction, row in zip(created, rows, strict=True)
        ]
    )
