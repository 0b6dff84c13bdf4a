"""Reads of the lifecycle: the challenger, its shadow periods, its comparison with the active model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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

    One query (a join of shadow scores and their predictions, values only).
    """
    candidate = model_version_by_number(version=version)
    rows = ShadowScore.objects.filter(model_version=candidate)
    if since is not None:
        rows = rows.filter(prediction__created_at__gte=since)
    if until is not None:
        rows = rows.filter(prediction__created_at__lt=until)
    if active_version is not None:
        rows = rows.filter(prediction__model_version=active_version)
    values = list(
        rows.values_list(
            "prediction__score",
            "score",
            "prediction__label",
            "label",
            "prediction__review_reason",
            "review_reason",
            "prediction__outcome_label",
        )
    )
    fraud = Prediction.Label.FRAUD
    result = comparison.compare(
        active_scores=[r[0] for r in values],
        challenger_scores=[r[1] for r in values],
        active_fraud=[r[2] == fraud for r in values],
        challenger_fraud=[r[3] == fraud for r in values],
        active_review=[r[4] is not None for r in values],
        challenger_review=[r[5] is not None for r in values],
        outcomes=[None if r[6] is None else r[6] == fraud for r in values],
    )
    extra: dict[str, Any] = {
        "version": candidate.version,
        "status": candidate.status,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "active_versions": sorted(
            set(rows.values_list("prediction__model_version__version", flat=True).distinct())
        )
        if values
        else [],
    }
    result.extra.update(extra)
    return result
