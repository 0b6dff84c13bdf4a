"""Streaming exports of predictions with their explanations and reviews (CSV, JSON Lines).

Rows are produced one at a time from a server-side cursor, so memory stays flat whatever
the number of rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from predictions.models import Prediction
from reviews.models import Decision

CHUNK_SIZE = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = [
    "request_id", "created_at", "model_version", "score", "label", "confidence", "routing", "status",
    "review_reason", "inclusion_probability", "final_label", "outcome", "outcome_source",
    "outcome_occurred_at", "decision", "blind", "reviewer", "reason", "note", "decided_at", "features",
    "explanation_base_value", "explanation_values", "reason_codes",
]  # fmt: skip


def export_rows(queryset: QuerySet[Prediction]) -> Iterator[dict[str, Any]]:
    rows = queryset.select_related("model_version", "explanation", "review_item__decision").defer(
        # A version's schema, reference and metrics are kilobytes of JSON, decoded per row.
        "model_version__feature_schema",
        "model_version__reference",
        "model_version__metrics",
        "model_version__library_versions",
        "model_version__training_info",
    )
    # Inside a transaction PostgreSQL streams the cursor; in autocommit Django holds it
    # (WITH HOLD), which computes the whole result before the first row is sent.
    with transaction.atomic():
        yield from _rows(rows)


def _rows(rows: QuerySet[Prediction]) -> Iterator[dict[str, Any]]:
    for prediction in rows.iterator(chunk_size=CHUNK_SIZE):
        decision = _decision(prediction)
        explanation = getattr(prediction, "explanation", None)
        yield {
            "request_id": prediction.request_id,
            "created_at": prediction.created_at.isoformat(),
            "model_version": prediction.model_version.version,
            "score": prediction.score,
            "label": prediction.label,
            "confidence": prediction.confidence,
            "routing": prediction.routing,
            "status": prediction.status,
            "review_reason": prediction.review_reason,
            "inclusion_probability": prediction.inclusion_probability,
            "final_label": prediction.final_label or None,
            "outcome": prediction.outcome_label,
            "outcome_source": prediction.outcome_source,
            "outcome_occurred_at": (
                prediction.outcome_occurred_at.isoformat() if prediction.outcome_occurred_at else None
            ),
            "decision": decision.outcome if decision else None,
            "blind": decision.blind if decision else None,
            "reviewer": decision.reviewer_name if decision else None,
            "reason": decision.reason if decision else None,
            "note": decision.note if decision else None,
            "decided_at": decision.decided_at.isoformat() if decision else None,
            "features": prediction.features,
            "explanation_base_value": explanation.base_value if explanation else None,
            "explanation_values": explanation.values if explanation else None,
            "reason_codes": prediction.reason_codes,
        }


def _decision(prediction: Prediction) -> Decision | None:
    item = getattr(prediction, "review_item", None)
    return getattr(item, "decision", None) if item else None


def as_json_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, separators=(",", ":")) + "\n"


def as_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    yield _drain(buffer)
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
        yield _drain(buffer)


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, str) and value[:1] in FORMULA_PREFIXES:
        return "'" + value  # a spreadsheet must not run a cell as a formula
    return "" if value is None else value


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
