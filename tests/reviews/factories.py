"""Review items made the way production makes them: scored by the active model, then routed."""

from __future__ import annotations

import itertools

from predictions import services
from predictions.models import Prediction
from reviews import selectors
from reviews import services as review_services
from reviews.models import ReviewItem

_batches = itertools.count(1)


def routed_items(*, records: list[dict], api_key=None) -> list[ReviewItem]:
    """Score the records, route them to review, and return their items, highest priority first."""
    batch = next(_batches)
    predictions, _ = services.predictions_create_batch(
        api_key=api_key,
        items=[
            {"request_id": f"txn-{batch}-{index}", "features": features}
            for index, features in enumerate(records)
        ],
    )
    review_services.review_items_route(prediction_ids=[p.pk for p in predictions])
    return list(
        ReviewItem.objects.filter(prediction__in=predictions)
        .select_related("prediction__model_version")
        .order_by("-priority", "created_at")
    )


def digest_of(item: ReviewItem) -> str:
    """The digest the item page puts in its form: what the analyst is shown (less if blind)."""
    prediction = Prediction.objects.select_related("model_version", "explanation").get(pk=item.prediction_id)
    return selectors.review_digest(prediction, blind=item.blind)
