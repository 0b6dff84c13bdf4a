"""Prometheus counters of the scoring path (exposed by reviewapp.metrics with the rest).

Created once, when the app is ready (PredictionsConfig.ready), so every process (web server,
Celery worker) has them from the start, not from its first prediction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

from reviewapp.metrics import gathered

if TYPE_CHECKING:
    from collections.abc import Iterable

    from predictions.models import Prediction

TENTHS = tuple(round(0.1 * step, 1) for step in range(1, 11))
# Confidence is max(p, 1 - p), so it lives in [0.5, 1]; the review threshold is usually 0.8-0.95.
CONFIDENCE_BUCKETS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 1.0)

PREDICTIONS = Counter(
    "reviewapp_predictions",
    "Stored predictions by label, routing (auto or review) and model version.",
    ["label", "routing", "model_version"],
)
PREDICTION_CONFIDENCE = Histogram(
    "reviewapp_prediction_confidence",
    "Confidence, max(p, 1 - p), of stored predictions.",
    ["model_version"],
    buckets=CONFIDENCE_BUCKETS,
)
PREDICTION_SCORE = Histogram(
    "reviewapp_prediction_score",
    "Fraud probability of stored predictions.",
    ["model_version"],
    buckets=TENTHS,
)


def predictions_observe(*, predictions: Iterable[Prediction]) -> None:
    """Count newly stored predictions; call it once they are committed."""
    # One count per label set and one observation list per version: a batch of 1,000 is
    # mostly one or two of each, a commit group of a few rows one.
    counts: dict[tuple[str, str, str], int] = {}
    confidences: dict[str, list[float]] = {}
    scores: dict[str, list[float]] = {}
    for prediction in predictions:
        version = str(prediction.model_version.version)
        labels = (prediction.label, prediction.routing, version)
        counts[labels] = counts.get(labels, 0) + 1
        if version not in confidences:
            confidences[version], scores[version] = [], []
        confidences[version].append(prediction.confidence)
        scores[version].append(prediction.score)
    for labels, count in counts.items():
        gathered.inc(PREDICTIONS, labels, count)
    for version, amounts in confidences.items():
        gathered.observe_all(PREDICTION_CONFIDENCE, (version,), amounts)
        gathered.observe_all(PREDICTION_SCORE, (version,), scores[version])


COMMIT_GROUP_ROWS = Histogram(
    "reviewapp_prediction_commit_group_rows",
    "Single predictions a web process committed together in one statement (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


def commit_group_observe(*, rows: int) -> None:
    gathered.observe_all(COMMIT_GROUP_ROWS, (), (rows,))
