"""Retraining from what the product learned: stored predictions labelled by outcomes and analysts.

Three parts, each in one place:

- `retraining_candidates` (a read): the stored predictions of a window that have a label now,
  each with every outcome reported of it and its analyst's decision, with their times;
- `training_set_assemble` (pure): the time-ordered holdout, the label each row had *at the split
  time* (no future leakage), the weights of audit samples, and the provenance of it all;
- `model_version_retrain` (the service): trains on it with predictions' pure training code,
  registers a staged version whose `training_info` is the provenance, and may start it
  shadowing. It never activates: that is the promotion gate's business.

docs/lifecycle.md ("Retraining") explains the choices: why automatic decisions are never
labels, why audit samples weigh 1 / inclusion probability and low-confidence rows do not.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

import reviewapp.errors
from outcomes.models import Outcome
from predictions import selectors as prediction_selectors
from predictions import services as prediction_services
from predictions.models import ModelVersion, Prediction
from reviews.models import Decision

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

OUTCOME, REVIEW = "outcome", "review"
FRAUD = Prediction.Label.FRAUD.value
# Below these there is too little to learn from or to measure on; the service refuses.
MIN_TRAINING_ROWS = 100
MIN_HOLDOUT_ROWS = 25
MIN_CLASS_ROWS = 5
# Live traffic of the training period that drift monitoring's reference distributions come
# from: the labelled rows over-represent fraud and the uncertain band, the traffic does not.
REFERENCE_ROWS = 20_000
RETRAINED_BY = "system:retrain"


class RetrainRefused(reviewapp.errors.InvalidInput):
    """Not enough labelled predictions to train and measure a model on; the message says what lacks."""


# --- what is stored ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportedLabel:
    """One label of a prediction and when it became known here."""

    label: str
    known_at: datetime
    # Outcomes: the effective one is the latest by occurred_at (ties: the later received),
    # as predictions.services.predictions_outcome_apply decides. Reviews: None.
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Candidate:
    """A stored prediction that has a label now, with everything needed to tell when it had which."""

    prediction_id: int
    created_at: datetime
    features: dict[str, Any]
    review_reason: str | None
    inclusion_probability: float | None
    outcomes: tuple[ReportedLabel, ...] = ()
    review: ReportedLabel | None = None


def retraining_candidates(*, since: datetime, until: datetime, include_reviews: bool) -> list[Candidate]:
    """Predictions created in [since, until) with an outcome, or (when asked) an analyst's label.

    Automatic decisions are not labels, so a prediction with neither is not read. Every outcome
    report is read, not only the effective one, so the assembly can tell which label was known
    at the split time.
    """
    window = Q(created_at__gte=since, created_at__lt=until)
    labelled = Q(outcome_label__isnull=False)
    if include_reviews:
        labelled |= Q(review_item__decision__isnull=False)
    rows = (
        Prediction.objects.filter(window & labelled)
        .order_by("created_at", "id")
        .values_list("id", "created_at", "features", "review_reason", "inclusion_probability")
    )
    outcomes: dict[int, list[ReportedLabel]] = {}
    reports = Outcome.objects.filter(
        prediction__created_at__gte=since, prediction__created_at__lt=until
    ).values_list("prediction_id", "label", "received_at", "occurred_at")
    for prediction_id, label, received_at, occurred_at in reports.iterator(chunk_size=5000):
        outcomes.setdefault(prediction_id, []).append(ReportedLabel(label, received_at, occurred_at))
    reviews: dict[int, ReportedLabel] = {}
    if include_reviews:
        decisions = Decision.objects.filter(
            review_item__prediction__created_at__gte=since, review_item__prediction__created_at__lt=until
        ).values_list("review_item__prediction_id", "final_label", "decided_at")
        for prediction_id, label, decided_at in decisions.iterator(chunk_size=5000):
            reviews[prediction_id] = ReportedLabel(label, decided_at)
    return [
        Candidate(
            prediction_id=pk,
            created_at=created_at,
            features=features,
            review_reason=review_reason,
            inclusion_probability=inclusion_probability,
            outcomes=tuple(outcomes.get(pk, ())),
            review=reviews.get(pk),
        )
        for pk, created_at, features, review_reason, inclusion_probability in rows.iterator(chunk_size=2000)
    ]


def traffic_sample(*, since: datetime, until: datetime, schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The features of the newest REFERENCE_ROWS predictions of [since, until), labelled or not."""
    names = [spec["name"] for spec in schema]
    rows = (
        Prediction.objects.filter(created_at__gte=since, created_at__lt=until)
        .order_by("-created_at")
        .values_list("features", flat=True)[:REFERENCE_ROWS]
    )
    return [features for features in rows if all(name in features for name in names)]


# --- the training set (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    features: dict[str, Any]
    fraud: bool
    weight: float
    source: str
    created_at: datetime


@dataclass
class TrainingSet:
    """Rows oldest first, the holdout from `split` on, and where every label came from."""

    rows: list[Row]
    split: int
    split_at: datetime
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def training(self) -> list[Row]:
        return self.rows[: self.split]

    @property
    def holdout(self) -> list[Row]:
        return self.rows[self.split :]


def label_known_at(
    candidate: Candidate, *, at: datetime | None, include_reviews: bool
) -> tuple[str, str] | None:
    """(label, source) of the candidate as known at `at` (None: now), or None if none was.

    An outcome wins over an analyst's label: it is what happened, the analyst's is a judgement.
    Of the outcomes known then, the effective one is the latest by occurred_at.
    """
    known = [o for o in candidate.outcomes if at is None or o.known_at <= at]
    if known:
        latest = max(known, key=lambda o: (o.occurred_at or o.known_at, o.known_at))
        return latest.label, OUTCOME
    review = candidate.review
    if include_reviews and review is not None and (at is None or review.known_at <= at):
        return review.label, REVIEW
    return None


def row_weight(candidate: Candidate, *, source: str) -> float:
    """How many predictions of the traffic the row stands for.

    An audit sample labelled by its review was reviewed with probability `inclusion_probability`
    among the confident predictions, so it stands for 1 / that many of them (Horvitz-Thompson).
    A low-confidence row was reviewed with probability 1, as every one of its band was: weight 1.
    A row labelled by an outcome weighs 1 whatever its review: outcomes arrive whether or not the
    prediction was sampled, so its confident, unsampled neighbours with outcomes are in the set too.
    """
    probability = candidate.inclusion_probability
    if source == REVIEW and candidate.review_reason == Prediction.ReviewReason.AUDIT_SAMPLE and probability:
        return 1.0 / probability
    return 1.0


def training_set_assemble(
    *,
    candidates: list[Candidate],
    schema: list[dict[str, Any]],
    include_reviews: bool,
    holdout_fraction: float,
) -> TrainingSet:
    """Order by time, hold out the newest rows, and label each training row as known at the split.

    The split time is the creation time of the first holdout row. A training row whose label
    arrived after it is dropped (counted as `excluded_late_labels`): a model trained then could
    not have known it, and keeping it would let the holdout's period teach the model. Holdout
    rows take the label known now. Rows whose features do not fit `schema` (scored by a
    version with other features) are dropped before the split.
    """
    from predictions.training import holdout_start

    names = [spec["name"] for spec in schema]
    fitting = [c for c in candidates if all(name in c.features for name in names)]
    ordered = sorted(fitting, key=lambda c: (c.created_at, c.prediction_id))
    labelled = [c for c in ordered if label_known_at(c, at=None, include_reviews=include_reviews)]
    split = holdout_start(len(labelled), holdout_fraction)
    if split == 0 or split == len(labelled):
        raise RetrainRefused(
            f"only {len(labelled)} labelled predictions in the window: "
            f"need at least {MIN_TRAINING_ROWS + MIN_HOLDOUT_ROWS}"
        )
    split_at = labelled[split].created_at
    rows: list[Row] = []
    late = 0
    for position, candidate in enumerate(labelled):
        holdout = position >= split
        known = label_known_at(candidate, at=None if holdout else split_at, include_reviews=include_reviews)
        if known is None:
            late += 1
            continue
        label, source = known
        rows.append(
            Row(
                features={name: candidate.features[name] for name in names},
                fraud=label == FRAUD,
                weight=row_weight(candidate, source=source),
                source=source,
                created_at=candidate.created_at,
            )
        )
    training_rows = split - late
    assembled = TrainingSet(rows=rows, split=training_rows, split_at=split_at)
    _refuse_too_little(assembled)
    assembled.provenance = _provenance(
        assembled,
        include_reviews=include_reviews,
        excluded_late_labels=late,
        excluded_other_features=len(candidates) - len(fitting),
    )
    return assembled


def _refuse_too_little(assembled: TrainingSet) -> None:
    for part, rows, least in (
        ("training", assembled.training, MIN_TRAINING_ROWS),
        ("holdout", assembled.holdout, MIN_HOLDOUT_ROWS),
    ):
        if len(rows) < least:
            raise RetrainRefused(f"only {len(rows)} labelled {part} rows: need at least {least}")
        fraud = sum(row.fraud for row in rows)
        for label, count in ((Prediction.Label.FRAUD, fraud), (Prediction.Label.LEGIT, len(rows) - fraud)):
            if count < MIN_CLASS_ROWS:
                raise RetrainRefused(
                    f"only {count} {label} rows in the {part} rows: "
                    f"need at least {MIN_CLASS_ROWS} of each label"
                )


def _provenance(
    assembled: TrainingSet, *, include_reviews: bool, excluded_late_labels: int, excluded_other_features: int
) -> dict[str, Any]:
    def counts(rows: list[Row]) -> dict[str, dict[str, int]]:
        tally = Counter((row.source, FRAUD if row.fraud else Prediction.Label.LEGIT.value) for row in rows)
        return {
            source: {label: tally[source, label] for label in Prediction.Label.values}
            for source in (OUTCOME, REVIEW)
        }

    return {
        "include_reviews": include_reviews,
        "first_prediction_at": assembled.rows[0].created_at.isoformat(),
        "last_prediction_at": assembled.rows[-1].created_at.isoformat(),
        "split_at": assembled.split_at.isoformat(),
        "training_rows": len(assembled.training),
        "holdout_rows": len(assembled.holdout),
        "training_weighted_rows": round(sum(row.weight for row in assembled.training), 1),
        "training_labels": counts(assembled.training),
        "holdout_labels": counts(assembled.holdout),
        "excluded_late_labels": excluded_late_labels,
        "excluded_other_features": excluded_other_features,
    }


# --- the service -------------------------------------------------------------------------


def model_version_retrain(
    *,
    since: datetime,
    include_reviews: bool,
    actor: str,
    shadow: bool,
    until: datetime | None = None,
    seed: int = 0,
) -> ModelVersion:
    """Train on the labelled predictions of [since, until), register a staged version, maybe shadow it.

    The features are the active version's, and so is the name. Refuses (RetrainRefused) without
    an active version or with too few labelled rows of either label. Never activates.
    """
    import numpy as np

    from predictions import training
    from predictions.scoring import encode_rows

    active = prediction_selectors.model_version_active()
    if active is None:
        raise RetrainRefused("no model version is active: its features are the ones to train on")
    until = until or timezone.now()
    if since >= until:
        raise RetrainRefused({"since": [f"must be before {until:%Y-%m-%d %H:%M %Z}"]})
    candidates = retraining_candidates(since=since, until=until, include_reviews=include_reviews)
    assembled = training_set_assemble(
        candidates=candidates,
        schema=active.feature_schema,
        include_reviews=include_reviews,
        holdout_fraction=training.HOLDOUT_FRACTION,
    )
    schema = active.feature_schema
    traffic = traffic_sample(since=since, until=assembled.split_at, schema=schema)
    result = training.fit(
        schema=schema,
        matrix=encode_rows(schema, [row.features for row in assembled.rows]),
        labels=np.array([row.fraud for row in assembled.rows]),
        split=assembled.split,
        review_threshold=settings.REVIEW_CONFIDENCE_THRESHOLD,
        seed=seed,
        sample_weight=np.array([row.weight for row in assembled.rows]),
        reference_matrix=_reference(schema, traffic, assembled),
    )
    info = {
        "source": "outcomes",
        "since": since.isoformat(),
        "until": until.isoformat(),
        "active_version": active.version,
        "seed": seed,
        **assembled.provenance,
    }
    version = prediction_services.model_version_register(
        name=active.name, result=result, training_info=info, created_by=actor
    )
    if shadow:
        from lifecycle import services as lifecycle_services

        # Backfilled from the split: the holdout's predictions (and all since) were never
        # trained on, so the comparison, and the promotion gate, have fair evidence at once.
        lifecycle_services.shadow_start(
            version=version.version, actor=actor, backfill_since=assembled.split_at
        )
        version.refresh_from_db()
    return version


def _reference(
    schema: list[dict[str, Any]], traffic: list[dict[str, Any]], assembled: TrainingSet
) -> np.ndarray:
    from predictions.scoring import encode_rows

    # Too little traffic to describe (only tests and brand-new installations): the training rows.
    rows = traffic if len(traffic) >= MIN_TRAINING_ROWS else [row.features for row in assembled.training]
    return encode_rows(schema, rows)


def retrain_window_start(*, now: datetime | None = None) -> datetime:
    """The start of the scheduled retraining's window: RETRAIN_WINDOW_DAYS before now."""
    return (now or timezone.now()) - timedelta(days=settings.RETRAIN_WINDOW_DAYS)


def model_retrain(*, now: datetime | None = None) -> ModelVersion | None:
    """What beat runs on RETRAIN_SCHEDULE: retrain on the window, with reviews, and shadow it.

    Refused for want of labels, it logs a warning and returns None: the next run tries again,
    and a task that raised would only retry into the same refusal. A challenger an admin chose
    keeps shadowing (the new version stays staged for them to pick); one the schedule started
    is replaced by the newer. Never activates.
    """
    from lifecycle import selectors as lifecycle_selectors

    now = now or timezone.now()
    challenger = lifecycle_selectors.shadow_period_open()
    shadow = challenger is None or challenger.started_by == RETRAINED_BY
    try:
        version = model_version_retrain(
            since=retrain_window_start(now=now),
            until=now,
            include_reviews=True,
            actor=RETRAINED_BY,
            shadow=shadow,
        )
    except RetrainRefused as error:
        logger.warning("scheduled retraining refused: %s", error.errors.get("detail", error.errors))
        return None
    if not shadow and challenger is not None:
        logger.info(
            "retrained v%s left staged: v%s, chosen by %s, is shadowing",
            version.version,
            challenger.model_version.version,
            challenger.started_by,
        )
    return version
