"""Reads on outcomes."""

from __future__ import annotations

from django.db.models import QuerySet

from outcomes.models import Outcome
from predictions.models import ApiKey


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
