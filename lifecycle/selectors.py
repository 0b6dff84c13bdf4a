"""Reads of the lifecycle: the challenger, its shadow periods, its comparison with the active model."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np

from lifecycle import comparison
from lifecycle.models import ShadowPeriod, ShadowScore
from predictions.models import ModelVersion, Prediction
from reviewapp.errors import NotFound


class UnknownVersion(NotFound):
    """No model version has this number."""


def model_version_by_number(*, version: int) -> ModelVersion:
    found = ModelVersion.objects.filter(version=version).first()
    if found is None:
        raise UnknownVersion(f"There is no model version {version}.")
    return found


def shadow_period_open() -> ShadowPeriod | None:
    """The open shadow period (at most one: a database constraint), with both versions."""
    return (
        ShadowPeriod.objects.filter(ended_at__isnull=True)
        .select_related("model_version", "active_version")
        .first()
    )


def shadow_periods_of(*, version: ModelVersion) -> list[ShadowPeriod]:
    return list(ShadowPeriod.objects.filter(model_version=version).select_related("active_version"))


def model_version_has_shadowed(*, version: ModelVersion, against: ModelVersion | None = None) -> bool:
    periods = ShadowPeriod.objects.filter(model_version=version)
    if against is not None:
        periods = periods.filter(active_version=against)
    return periods.exists()


def model_version_comparison(
    *,
    version: int,
    since: datetime | None = None,
    until: datetime | None = None,
    active_version: ModelVersion | None = None,
) -> comparison.Comparison:
    """Version `version` against the model that answered, on predictions created in [since,
    until) that it shadow-scored; only those answered by `active_version` when given (the
    gate compares with one model). Without since/until: every prediction it scored, live or
    backfilled (a backfill scores predictions made before its shadow period).

    One query (a join of shadow scores and their predictions, values only), read in chunks into
    arrays: a few dozen bytes a prediction in the web process, where a list of rows took ~350.
    """
    candidate = model_version_by_number(version=version)
    rows = ShadowScore.objects.filter(model_version=candidate)
    if since is not None:
        rows = rows.filter(prediction__created_at__gte=since)
    if until is not None:
        rows = rows.filter(prediction__created_at__lt=until)
    if active_version is not None:
        rows = rows.filter(prediction__model_version=active_version)
    values = rows.values_list(
        "prediction__score",
        "score",
        "prediction__label",
        "label",
        "prediction__review_reason",
        "review_reason",
        "prediction__outcome_label",
    )
    inputs = _comparison_inputs(values.iterator(chunk_size=COMPARISON_CHUNK_ROWS))
    result = comparison.compare(**inputs)
    extra: dict[str, Any] = {
        "version": candidate.version,
        "status": candidate.status,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "active_versions": sorted(
            set(rows.values_list("prediction__model_version__version", flat=True).distinct())
        )
        if result.n
        else [],
    }
    result.extra.update(extra)
    return result


# Rows of the comparison read from the database at a time.
COMPARISON_CHUNK_ROWS = 20_000
_FRAUD = Prediction.Label.FRAUD


def _comparison_inputs(rows: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
    """comparison.compare's inputs from (active score, challenger score, active label,
    challenger label, active review reason, challenger review reason, outcome label) rows."""
    # Chunks of (active, challenger) scores, and of (active fraud, challenger fraud, active
    # review, challenger review) flags.
    scores: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    outcomes: list[bool | None] = []
    chunk: list[tuple[Any, ...]] = []

    def chunk_store() -> None:
        scores.append(np.array([row[:2] for row in chunk], dtype=np.float64).reshape(-1, 2))
        flags.append(np.array([row[2:] for row in chunk], dtype=np.bool_).reshape(-1, 4))
        chunk.clear()

    for a_score, c_score, a_label, c_label, a_reason, c_reason, outcome in rows:
        chunk.append(
            (
                a_score,
                c_score,
                a_label == _FRAUD,
                c_label == _FRAUD,
                a_reason is not None,
                c_reason is not None,
            )
        )
        outcomes.append(None if outcome is None else outcome == _FRAUD)
        if len(chunk) == COMPARISON_CHUNK_ROWS:
            chunk_store()
    chunk_store()
    score_table, flag_table = np.concatenate(scores), np.concatenate(flags)
    return {
        "active_scores": score_table[:, 0],
        "challenger_scores": score_table[:, 1],
        "active_fraud": flag_table[:, 0],
        "challenger_fraud": flag_table[:, 1],
        "active_review": flag_table[:, 2],
        "challenger_review": flag_table[:, 3],
        "outcomes": outcomes,
    }
