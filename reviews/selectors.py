"""Reads on the review queue, and on predictions with their reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from audit.digests import REVIEW_V1, digest
from predictions.models import ApiKey, Prediction
from reviews.models import Decision, ReviewItem

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def review_digest(prediction: Prediction, *, blind: bool = False) -> str:
    """A fingerprint of everything an analyst is shown, so a decision is bound to it.

    A blind reviewer is shown the transaction only: its digest covers that and nothing of the
    model's verdict, so the form the page carries says nothing about the verdict either. Pass
    the item's `blind` (the page and the decision service) or the decision's (the audit trace).
    """
    if blind:
        seen = {"request_id": prediction.request_id, "features": prediction.features, "blind": True}
        return digest(seen, spelling=REVIEW_V1)
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
    # Frozen spelling: stored decisions are checked against it again (the audit trace).
    return digest(shown, spelling=REVIEW_V1)


def verdict_hidden(item: ReviewItem) -> bool:
    """Whether the pages keep the model's verdict from the analyst: a blind item not yet decided."""
    return item.blind and item.state != ReviewItem.State.DECIDED


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


def items_held_by(*, user: User, now: datetime | None = None) -> QuerySet[ReviewItem]:
    now = now or timezone.now()
    return open_items().filter(state=ReviewItem.State.CLAIMED, claimed_by=user, lease_expires_at__gte=now)


def review_sla() -> timedelta:
    """How long an item may wait for a decision (REVIEW_SLA_MINUTES)."""
    return timedelta(minutes=settings.REVIEW_SLA_MINUTES)


def sla_deadline(*, now: datetime | None = None) -> datetime:
    """Items created before this are past the review SLA."""
    return (now or timezone.now()) - review_sla()


@dataclass(frozen=True)
class QueueHealth:
    """The undecided items: what the queue pages, the monitoring page and the metrics show."""

    pending: int  # claimable: never claimed, released, or under a lease that ran out
    claimed: int  # held under a live lease
    overdue: int  # created before the SLA deadline
    oldest: datetime | None  # when the oldest undecided item was created; None when there is none
    now: datetime

    @property
    def depth(self) -> int:
        return self.pending + self.claimed

    @property
    def oldest_age(self) -> timedelta | None:
        return self.now - self.oldest if self.oldest else None

    @property
    def sla(self) -> timedelta:
        return review_sla()

    @property
    def sla_deadline(self) -> datetime:
        return sla_deadline(now=self.now)

    @property
    def past_sla(self) -> bool:
        return self.oldest_age is not None and self.oldest_age > self.sla


def queue_health(*, now: datetime | None = None) -> QueueHealth:
    """Counts and the oldest item in one pass over the open items."""
    now = now or timezone.now()
    held = Q(state=ReviewItem.State.CLAIMED, lease_expires_at__gte=now)
    row = ReviewItem.objects.exclude(state=ReviewItem.State.DECIDED).aggregate(
        pending=Count("pk", filter=~held),
        claimed=Count("pk", filter=held),
        overdue=Count("pk", filter=Q(created_at__lt=sla_deadline(now=now))),
        oldest=Min("created_at"),
    )
    return QueueHealth(**row, now=now)


def review_item_for_page(*, pk: int) -> ReviewItem:
    return ReviewItem.objects.select_related(
        "prediction__model_version", "prediction__explanation", "claimed_by", "decision"
    ).get(pk=pk)


# --- predictions with their reviews: the audit search, the exports, the read API -------------


def predictions_visible_to(*, api_key: ApiKey | None, verdicts_of_blind: bool = True) -> QuerySet[Prediction]:
    """An API client sees only its own predictions; people with a staff role see all.

    Without `verdicts_of_blind` (an analyst who is neither auditor nor admin), a prediction
    whose blind review is still undecided is left out altogether: its score, label and
    explanation are what the blind reviewer must not see, and its mere status would say more.
    """
    queryset = Prediction.objects.select_related("model_version", "explanation", "review_item__decision")
    if api_key is not None:
        queryset = queryset.filter(api_key=api_key)
    if not verdicts_of_blind:
        queryset = queryset.filter(
            Q(review_item__isnull=True)
            | Q(review_item__blind=False)
            | Q(review_item__state=ReviewItem.State.DECIDED)
        )
    return queryset


def predictions_for_audit() -> QuerySet[Prediction]:
    """Every prediction, with what the audit pages show beside it, newest first."""
    return Prediction.objects.select_related(
        "model_version", "explanation", "review_item__decision"
    ).order_by("-created_at", "-pk")


def reviewer_last_decided_at(*, reviewer_name: str) -> datetime | None:
    """When a reviewer made their last decision; None if they made none. No join."""
    return Decision.objects.filter(reviewer_name=reviewer_name).aggregate(last=Max("decided_at"))["last"]
