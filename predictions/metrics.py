"""Prometheus counters of the scoring path (exposed by reviewapp.metrics with the rest).

Created once, when the app is ready (PredictionsConfig.ready), so every process (web server,
Celery worker) has them from the start, not from its first prediction.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

from reviewapp.metrics import histogram_observe_all

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
    predictions = list(predictions)
    # One increment per label set: a batch of 1,000 is mostly one or two of them.
    counts = collections.Counter((p.label, p.routing, str(p.model_version.version)) for p in predictions)
    for labels, count in counts.items():
        PREDICTIONS.labels(*labels).inc(count)
    by_version: dict[str, list[Prediction]] = collections.defaultdict(list)
    for prediction in predictions:
        by_version[str(prediction.model_version.version)].append(prediction)
    for version, scored in by_version.items():
        histogram_observe_all(PREDICTION_CONFIDENCE.labels(version), (p.confidence for p in scored))
        histogram_observe_all(PREDICTION_SCORE.labels(version), (p.score for p in scored))


COMMIT_GROUP_ROWS = Histogram(
    "reviewapp_prediction_commit_group_rows",
    "Single predictions a web process committed together in one statement (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
