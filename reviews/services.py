"""Writes on the review queue."""

from __future__ import annotations

from predictions.models import Prediction
from reviews.models import ReviewItem


def review_priority(prediction: Prediction) -> float:
    """Expected loss, weighted up for the cases the model is least sure about.

    uncertainty is 1 at a score of 0.5 and 0 at 0 or 1, so a large, coin-flip case comes first.
    """
    amount = float(prediction.features.get("amount", 1.0))
    uncertainty = 1.0 - abs(prediction.score - 0.5) * 2
    return round(prediction.score * amount * (0.5 + uncertainty), 6)


def review_items_create(*, predictions: list[Prediction]) -> None:
    """One review item per prediction; the unique constraint makes a repeat a no-op."""
    ReviewItem.objects.bulk_create(
        [ReviewItem(prediction=p, priority=review_priority(p)) for p in predictions],
        ignore_conflicts=True,
    )
