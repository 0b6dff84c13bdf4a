"""Reads on the review queue."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from predictions.models import Prediction
from reviews.models import ReviewItem


def review_digest(prediction: Prediction) -> str:
    """A fingerprint of everything an analyst is shown, so a decision is bound to it."""
    explanation = prediction.explanation
    shown = {
        "request_id": prediction.request_id,
        "model_version": prediction.model_version.version,
        "features": prediction.features,
        "score": prediction.score,
        "label": prediction.label,
        "base_value": explanation.base_value,
        "contributions": explanation.values,
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def available_items(*, now: datetime | None = None) -> QuerySet[ReviewItem]:
    """Items anyone may claim: pending, or claimed under a lease that has run out."""
    now = now or timezone.now()
    return ReviewItem.objects.filter(
        Q(state=ReviewItem.State.PENDING) | Q(state=ReviewItem.State.CLAIMED, lease_expires_at__lt=now)
    ).order_by("-priority", "created_at")


def open_items() -> QuerySet[ReviewItem]:
    return (
        ReviewItem.objects.exclude(state=ReviewItem.State.DECIDED)
        .select_related("prediction__model_version", "claimed_by")
        .order_by("-priority", "created_at")
    )


def items_held_by(*, user, now: datetime | None = None) -> QuerySet[ReviewItem]:
    now = now or timezone.now()
    return open_items().filter(state=ReviewItem.State.CLAIMED, claimed_by=user, lease_expires_at__gte=now)


def sla_deadline(*, now: datetime | None = None) -> datetime:
    """Items created before this are past the review SLA."""
    return (now or timezone.now()) - timedelta(minutes=settings.REVIEW_SLA_MINUTES)


@dataclass(frozen=True)
class QueueCounts:
    pending: int
    claimed: int
    overdue: int


def queue_counts(*, now: datetime | None = None) -> QueueCounts:
    now = now or timezone.now()
    held = Q(state=ReviewItem.State.CLAIMED, lease_expires_at__gte=now)
    # One pass over the open items rather than three counts.
    counts = ReviewItem.objects.exclude(state=ReviewItem.State.DECIDED).aggregate(
        pending=Count("pk", filter=~held),
        claimed=Count("pk", filter=held),
        overdue=Count("pk", filter=Q(created_at__lt=sla_deadline(now=now))),
    )
    return QueueCounts(**counts)


def review_item_for_page(*, pk: int) -> ReviewItem:
    return ReviewItem.objects.select_related(
        "prediction__model_version", "prediction__explanation", "claimed_by", "decision"
    ).get(pk=pk)
