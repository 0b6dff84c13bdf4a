"""A stored history of predictions with outcomes and reviews, for retraining's tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from outcomes.models import Outcome
from predictions import training
from predictions.models import ModelVersion, Prediction
from reviews.models import Decision, ReviewItem

FRAUD, LEGIT = "fraud", "legit"
LOW, AUDIT = "low_confidence", "audit_sample"
HOUR = timedelta(hours=1)
_ids = itertools.count(1)


def stored(
    version: ModelVersion,
    *,
    features: dict,
    created_at: datetime,
    label: str = LEGIT,
    reason: str | None = None,
    inclusion_probability: float | None = None,
) -> Prediction:
    """A prediction as stored, decided automatically unless `reason` sent it to review."""
    made = Prediction.objects.create(
        request_id=f"retrain-{next(_ids)}",
        model_version=version,
        features=features,
        features_digest="0" * 64,
        score=0.9 if label == FRAUD else 0.1,
        label=label,
        confidence=0.9,
        routing=Prediction.Routing.REVIEW if reason == LOW else Prediction.Routing.AUTO,
        status=Prediction.Status.DECIDED,
        final_label="" if reason == LOW else label,
        reason_codes=[],
        routing_state=Prediction.RoutingState.DONE if reason else Prediction.RoutingState.NOT_NEEDED,
        review_reason=reason,
        inclusion_probability=inclusion_probability or (1.0 if reason else None),
    )
    Prediction.objects.filter(pk=made.pk).update(created_at=created_at)
    made.created_at = created_at
    return made


def outcome_of(made: Prediction, label: str, *, received_at: datetime) -> None:
    Outcome.objects.create(
        prediction=made, label=label, source="chargeback", occurred_at=received_at, reported_by="test"
    )
    Outcome.objects.filter(prediction=made).update(received_at=received_at)
    Prediction.objects.filter(pk=made.pk).update(
        outcome_label=label,
        outcome_source="chargeback",
        outcome_occurred_at=received_at,
        outcome_received_at=received_at,
    )


def reviewed(made: Prediction, label: str, *, reviewer, decided_at: datetime) -> None:
    item = ReviewItem.objects.create(
        prediction=made,
        state=ReviewItem.State.DECIDED,
        priority=1.0,
        claimed_by=reviewer,
        decided_at=decided_at,
    )
    if made.review_reason != AUDIT:
        Prediction.objects.filter(pk=made.pk).update(status=Prediction.Status.REVIEWED, final_label=label)
    Decision.objects.create(
        review_item=item,
        outcome=Decision.Outcome.CONFIRMED if label == made.label else Decision.Outcome.OVERRIDDEN,
        final_label=label,
        reason="" if label == made.label else Decision.Reason.OTHER,
        reviewer=reviewer,
        reviewer_name=reviewer.username,
        seen_digest="0" * 64,
        blind=made.review_reason == AUDIT,
        decided_at=decided_at,
    )


def history(version: ModelVersion, *, rows: int, reviewer=None) -> list[Prediction]:
    """`rows` demo transactions an hour apart, the last of them made an hour ago; each with
    its true label as an outcome a day later, except every tenth, left to an analyst's review."""
    frame = training.generate_transactions(rows=rows, seed=21, fraud_rate=0.3)
    records = training.frame_to_records(frame, training.DEMO_SCHEMA)
    first = datetime.now(UTC) - rows * HOUR
    made = []
    for n, (features, fraud) in enumerate(zip(records, frame["is_fraud"], strict=True)):
        label = FRAUD if fraud else LEGIT
        created_at = first + n * HOUR
        if reviewer is not None and n % 10 == 0:
            prediction = stored(version, features=features, created_at=created_at, reason=LOW)
            reviewed(prediction, label, reviewer=reviewer, decided_at=created_at + HOUR)
        else:
            prediction = stored(version, features=features, created_at=created_at)
            outcome_of(prediction, label, received_at=created_at + 24 * HOUR)
        made.append(prediction)
    return made
