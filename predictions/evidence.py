"""A prediction is its own `created` evidence: the audit chain links its row, not a copy.

What a link covers is read back from the stored row whenever the chain is extended or
verified, so it names only columns written once, with the prediction: the score, the label,
the route it was given and why, and the features (so features changed after the fact fail
verification as a changed score would). Status, final label and outcome change later; the
events recording those changes cover them.
"""

from __future__ import annotations

from typing import Any

from audit.digests import sorted_json
from audit.sources import ChainSource
from predictions.models import Prediction

PREDICTION = "prediction"

_FIELDS = (
    "id",
    "created_at",
    "request_id",
    "api_key_id",
    "scored_by",
    "model_version_id",
    "features",
    "features_digest",
    "score",
    "label",
    "confidence",
    "routing",
    "reason_codes",
    "review_reason",
    "inclusion_probability",
)


def prediction_content(row: Any, seq: int) -> str:
    """The canonical text a prediction's link at `seq` covers; `row` holds _FIELDS."""
    return sorted_json(
        {
            "seq": seq,
            "source": PREDICTION,
            "id": row.id,
            "created_at": row.created_at.isoformat(),
            "request_id": row.request_id,
            "api_key_id": row.api_key_id,
            "scored_by": row.scored_by,
            "model_version_id": row.model_version_id,
            "features_digest": row.features_digest,  # what repeats are matched on
            "features": row.features_text,  # as the database spells them back
            "score": row.score,
            "label": row.label,
            "confidence": row.confidence,
            "routing": row.routing,
            "reason_codes": row.reason_codes_text,
            "review_reason": row.review_reason,
            "inclusion_probability": row.inclusion_probability,
        }
    )


PREDICTION_SOURCE = ChainSource(
    name=PREDICTION,
    model=Prediction,
    fields=_FIELDS,
    content=prediction_content,
    label="prediction",
    json_as_text=("features", "reason_codes"),
)
