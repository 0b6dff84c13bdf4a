"""Population stability index of live traffic against a model version's training reference.

Pure: numpy only, no ORM. The reference comes from `predictions.training.reference_distribution`:
numeric features (and the score) are binned at the training deciles' edges, categories and
booleans are proportions over their codes. Live rows are encoded with the same `encode_rows`
that scoring uses, so category codes line up with the reference.

    PSI = Σ (actual - expected) · ln(actual / expected)    over the bins

Below 0.1 the populations match; 0.1-0.25 is a moderate shift; above 0.25 a major one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from predictions.scoring import encode_rows

# Stands in for an empty bin, where ln(0) would make the index infinite.
EPSILON = 1e-4
# Calendar features, by schema unit, and the hours of their cycle. A window shorter than the
# cycle sees only part of it (one day of the week), so it differs from training by
# construction, not by drift: such a feature is not compared.
CYCLE_HOURS = {"hour": 24, "day": 7 * 24}


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray) -> float:
    """The index between two distributions over the same bins (each summing to 1)."""
    e = np.clip(np.asarray(expected, dtype=float), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=float), EPSILON, None)
    if e.shape != a.shape:
        raise ValueError(f"{len(e)} expected bins but {len(a)} actual ones")
    return float(np.sum((a - e) * np.log(a / e)))


def binned_proportions(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Shares of `values` in the bins the reference's edges make (as training binned them)."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def categorical_proportions(codes: np.ndarray, size: int) -> np.ndarray:
    counts = np.bincount(codes.astype(int), minlength=size)[:size]
    return counts / max(len(codes), 1)


def distribution_psi(reference: dict[str, Any], values: np.ndarray) -> float:
    """PSI of one feature's (or the score's) live values against its reference entry."""
    expected = reference["proportions"]
    if reference["kind"] == "binned":
        actual = binned_proportions(values, reference["edges"])
    else:
        actual = categorical_proportions(values, len(expected))
    return psi(expected, actual)


def comparable(spec: dict[str, Any], *, window_hours: float | None) -> bool:
    """Whether a window of this length can be compared with training on this feature."""
    cycle = CYCLE_HOURS.get(spec.get("unit", ""))
    return cycle is None or window_hours is None or window_hours >= cycle


def drift_by_feature(
    *,
    schema: list[dict[str, Any]],
    reference: dict[str, Any],
    rows: list[dict[str, Any]],
    window_hours: float | None = None,
) -> dict[str, float]:
    """PSI of every feature the reference describes and the window can show, in schema order."""
    matrix = encode_rows(schema, rows)
    known = reference.get("features", {})
    return {
        spec["name"]: distribution_psi(known[spec["name"]], matrix[:, column])
        for column, spec in enumerate(schema)
        if spec["name"] in known and comparable(spec, window_hours=window_hours)
    }


def score_drift(*, reference: dict[str, Any], scores: Sequence[float]) -> float | None:
    """PSI of the model's scores, or None for a version registered without a score reference."""
    if "score" not in reference:
        return None
    return distribution_psi(reference["score"], np.asarray(scores, dtype=float))


def drift_state(value: float, *, warning: float, alert: float) -> str:
    if value >= alert:
        return "alert"
    if value >= warning:
        return "warning"
    return "ok"
