"""Constructed evidence: predictions answered by one version and shadow-scored by another,
with the scores, labels and outcomes a test chooses (no model runs)."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.utils import timezone

from lifecycle.models import ShadowPeriod, ShadowScore
from predictions.models import ModelVersion, Prediction

_ids = itertools.count(1)


def _label(score: float) -> str:
    return Prediction.Label.FRAUD if score >= 0.5 else Prediction.Label.LEGIT


def shadow_period_open(*, candidate: ModelVersion, active: ModelVersion) -> ShadowPeriod:
    ModelVersion.objects.filter(pk=candidate.pk).update(status=ModelVersion.Status.SHADOW)
    return ShadowPeriod.objects.create(
        model_version=candidate, active_version=active, started_at=timezone.now(), started_by="test"
    )


def scored_pair(
    *,
    active: ModelVersion,
    candidate: ModelVersion,
    active_score: float,
    candidate_score: float,
    outcome: bool | None = None,
    active_review: bool = False,
    candidate_review: bool = False,
    created_at: datetime | None = None,
) -> Prediction:
    """One prediction by `active` and its shadow score by `candidate`."""
    n = next(_ids)
    prediction = Prediction.objects.create(
        request_id=f"evidence-{n}",
        model_version=active,
        features={},
        features_digest="0" * 64,
        score=active_score,
        label=_label(active_score),
        confidence=max(active_score, 1 - active_score),
        routing="review" if active_review else "auto",
        status="decided",
        routing_state="not_needed",
        review_reason="low_confidence" if active_review else None,
        outcome_label=None if outcome is None else ("fraud" if outcome else "legit"),
    )
    if created_at is not None:
        Prediction.objects.filter(pk=prediction.pk).update(created_at=created_at)
    ShadowScore.objects.create(
        prediction=prediction,
        model_version=candidate,
        score=candidate_score,
        label=_label(candidate_score),
        confidence=max(candidate_score, 1 - candidate_score),
        routing="review" if candidate_review else "auto",
        review_reason="low_confidence" if candidate_review else None,
        base_value=0.0,
        shap_values={},
        created_at=timezone.now(),
    )
    return prediction


def labelled_evidence(
    *, active: ModelVersion, candidate: ModelVersion, missed_frauds: int = 0, false_alarms: int = 0
) -> None:
    """10 frauds and 10 legitimate outcomes; the active model gets every one right (0.9 / 0.1),
    the candidate too except `missed_frauds` frauds it scores 0.3 and `false_alarms` legits 0.7."""
    for i in range(10):
        scored_pair(
            active=active,
            candidate=candidate,
            active_score=0.9,
            candidate_score=0.3 if i < missed_frauds else 0.9,
            outcome=True,
        )
        scored_pair(
            active=active,
            candidate=candidate,
            active_score=0.1,
            candidate_score=0.7 if i < false_alarms else 0.1,
            outcome=False,
        )
