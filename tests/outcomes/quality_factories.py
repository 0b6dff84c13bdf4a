"""Predictions, reviews and outcomes written straight to the database, each field as a test says.

The scorecard reads stored rows, whatever made them, so its tests build exactly the rows whose
figures they work out by hand instead of scoring transactions and hoping for the right mix.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User

from predictions.models import ModelVersion, Prediction
from reviews.models import Decision, ReviewItem

FRAUD, LEGIT = "fraud", "legit"
LOW, AUDIT, EVERYTHING = "low_confidence", "audit_sample", "review_everything"
# A fortnight of two ISO weeks: Monday 12 to Sunday 25 January 2026.
SINCE, UNTIL = "2026-01-12", "2026-01-25"
IN_WEEK_1 = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
IN_WEEK_2 = datetime(2026, 1, 20, 9, 30, tzinfo=UTC)
WINDOW = {"since": SINCE, "until": UNTIL}

_ids = itertools.count(1)


def model_version(number: int = 1, *, threshold: float = 0.85, active: bool = True) -> ModelVersion:
    """A registered version whose artifact is never loaded: nothing here is scored."""
    return ModelVersion.objects.create(
        name="card-fraud",
        version=number,
        artifact_path=f"never-loaded-v{number}.joblib",
        sha256="0" * 64,
        feature_schema=[],
        review_threshold=threshold,
        status=ModelVersion.Status.ACTIVE if active else ModelVersion.Status.RETIRED,
    )


def prediction(
    *,
    version: ModelVersion,
    score: float,
    created_at: datetime = IN_WEEK_1,
    outcome: str | None = None,
    reason: str | None = None,
    pending: bool = False,
    inclusion_probability: float | None = None,
    occurred_after: timedelta = timedelta(days=3),
    received_after: timedelta = timedelta(days=4),
) -> Prediction:
    """A prediction as stored: the label is the score's, an item routed to review (not an audit
    sample) is reviewed unless `pending`, its final label set by `decide`."""
    label = FRAUD if score >= 0.5 else LEGIT
    routed = reason in (LOW, EVERYTHING)
    if routed:
        status = Prediction.Status.PENDING_REVIEW if pending else Prediction.Status.REVIEWED
    else:
        status = Prediction.Status.DECIDED
    made = Prediction.objects.create(
        request_id=f"quality-{next(_ids)}",
        model_version=version,
        features={},
        features_digest="0" * 64,
        score=score,
        label=label,
        confidence=max(score, 1 - score),
        routing=Prediction.Routing.REVIEW if routed else Prediction.Routing.AUTO,
        status=status,
        final_label="" if routed else label,
        reason_codes=[],
        routing_state=Prediction.RoutingState.DONE if reason else Prediction.RoutingState.NOT_NEEDED,
        review_reason=reason,
        inclusion_probability=inclusion_probability
        if inclusion_probability is not None
        else (1.0 if reason else None),
        outcome_label=outcome,
        outcome_source="chargeback" if outcome else None,
        outcome_occurred_at=created_at + occurred_after if outcome else None,
        outcome_received_at=created_at + received_after if outcome else None,
    )
    Prediction.objects.filter(pk=made.pk).update(created_at=created_at)  # auto_now_add otherwise
    made.created_at = created_at
    return made


def decide(
    made: Prediction, *, reviewer: User, label: str, blind: bool = False, seconds: float | None = 60.0
) -> Decision:
    """A person's decision, `seconds` after their claim; it sets the final label, except an audit
    sample's, which stays the model's."""
    decided_at = made.created_at + timedelta(hours=1)
    item = ReviewItem.objects.create(
        prediction=made,
        state=ReviewItem.State.DECIDED,
        priority=1.0,
        blind=blind or made.review_reason == AUDIT,
        claimed_by=reviewer,
        claimed_at=None if seconds is None else decided_at - timedelta(seconds=seconds),
        decided_at=decided_at,
    )
    if made.review_reason != AUDIT:
        Prediction.objects.filter(pk=made.pk).update(final_label=label)
    confirmed = label == made.label
    return Decision.objects.create(
        review_item=item,
        outcome=Decision.Outcome.CONFIRMED if confirmed else Decision.Outcome.OVERRIDDEN,
        final_label=label,
        reason="" if confirmed else Decision.Reason.OTHER,
        reviewer=reviewer,
        reviewer_name=reviewer.username,
        seen_digest="0" * 64,
        blind=item.blind,
        decided_at=decided_at,
    )


def pending_item(made: Prediction) -> ReviewItem:
    return ReviewItem.objects.create(prediction=made, priority=1.0)
