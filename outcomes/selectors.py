"""Reads on outcomes: a prediction's effective outcome (its latest, by when it happened)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from outcomes.models import Outcome
from predictions.models import ApiKey, Prediction

# The fields of the effective outcome that the read API shows, annotated as outcome_<field>.
EFFECTIVE_FIELDS = ("label", "source", "occurred_at", "received_at")


def _latest_for_prediction() -> QuerySet[Outcome]:
    # Ties on occurred_at go to the one reported last.
    return Outcome.objects.filter(prediction=OuterRef("pk")).order_by("-occurred_at", "-id")


def predictions_with_effective_outcome(queryset: QuerySet[Prediction]) -> QuerySet[Prediction]:
    """The predictions with their effective outcome's fields as `outcome_label`, `outcome_source`,
    `outcome_occurred_at` and `outcome_received_at` (None when no outcome has arrived).

    One correlated subquery per field, each served by the (prediction, -occurred_at) index.
    """
    latest = _latest_for_prediction()
    return queryset.annotate(
        **{f"outcome_{name}": Subquery(latest.values(name)[:1]) for name in EFFECTIVE_FIELDS}
    )


def outcome_effective(*, prediction: Prediction) -> Outcome | None:
    """The prediction's latest outcome by occurred_at, or None."""
    return prediction.outcomes.order_by("-occurred_at", "-id").first()


def outcomes_visible_to(*, api_key: ApiKey | None) -> QuerySet[Outcome]:
    """An API client sees the outcomes of its own predictions; people with a staff role see all.

    Each with its prediction's request_id, and nothing else of the prediction.
    """
    queryset = Outcome.objects.select_related("prediction").only(
        *(f.name for f in Outcome._meta.concrete_fields), "prediction__request_id"
    )
    if api_key is not None:
        queryset = queryset.filter(prediction__api_key=api_key)
    return queryset
