"""The statistics that compare a challenger with the active model on the same predictions.

Pure: numpy (and scipy's ranks) only, nothing of Django, so every figure is tested on
constructed data whose answer is known by hand, and the selector that gathers the inputs
stays thin. A figure that cannot be computed (no predictions, one class only) is a `Measure`
whose value is None and whose `reason` says why, never a crash or a NaN.

Choices, each explained in docs/lifecycle.md:
- intervals of shares (agreement, queue load, precision, recall, false-positive rate) are
  Wilson's score intervals (`outcomes.scorecard.wilson_interval`), as the scorecard's are;
- ROC AUC's interval is Hanley & McNeil's (1982) standard error: closed form, deterministic,
  no seed, constant cost;
- the Brier score's interval is the normal approximation on the squared errors' mean;
- PSI uses 10 equal-width bins on [0, 1] (scores are probabilities, and fixed bins keep the
  figure comparable from one window to the next), an empty bin's share taken as 0.0001.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from outcomes.scorecard import Z_95, FieldsAsDict, wilson_interval

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Json = dict[str, Any]

PSI_BINS = 10
PSI_EPSILON = 1e-4  # an empty bin's share: ln(0) would make one empty bin dominate the sum
# The figures the gate and the page compare, and whether a higher value is better.
METRICS: dict[str, bool] = {
    "precision": True,
    "recall": True,
    "false_positive_rate": False,
    "roc_auc": True,
    "brier": False,
}


@dataclass(frozen=True)
class Measure(FieldsAsDict):
    """A figure with its 95 % interval; value None with a reason when it cannot be computed."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None


def _none(reason: str) -> Measure:
    return Measure(value=None, reason=reason)


def share(*, successes: int, trials: int, empty: str = "no predictions") -> Measure:
    """successes / trials with Wilson's 95 % interval."""
    if trials <= 0:
        return _none(empty)
    low, high = wilson_interval(successes=successes, trials=trials)
    return Measure(value=successes / trials, ci_low=low, ci_high=high)


def roc_auc(*, scores: Sequence[float] | FloatArray, actual: Sequence[bool] | BoolArray) -> Measure:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half) with
    Hanley & McNeil's 95 % interval, clipped to [0, 1]."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(actual, dtype=np.bool_)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return _none("needs both frauds and legitimate outcomes")
    ranks = average_ranks(s)  # a tie between a fraud and a legit counts one half
    auc = float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (
        positives * negatives
    )
    half = Z_95 * math.sqrt(max(variance, 0.0))
    return Measure(value=auc, ci_low=max(0.0, auc - half), ci_high=min(1.0, auc + half))


def average_ranks(values: FloatArray) -> FloatArray:
    """1-based ranks, tied values sharing the mean of their ranks (SciPy's `rankdata`, which the
    web processes do not load: ~50 MiB each)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.append(starts[1:], values.size)
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # mean of starts+1 .. ends
    return ranks


def brier(*, scores: Sequence[float] | FloatArray, actual: Sequence[bool] | BoolArray) -> Measure:
    """Mean squared error of the fraud probability (lower is better) with a normal 95 % interval."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(actual, dtype=np.bool_)
    if s.size == 0:
        return _none("no labelled predictions")
    errors = (s - y.astype(np.float64)) ** 2
    value = float(errors.mean())
    if s.size < 2:
        return Measure(value=value, reason="one labelled prediction: no interval")
    half = Z_95 * float(errors.std(ddof=1)) / math.sqrt(s.size)
    return Measure(value=value, ci_low=max(0.0, value - half), ci_high=value + half)


@dataclass(frozen=True)
class Psi:
    """Population stability index of the challenger's scores against the active model's."""

    value: float | None
    reason: str | None
    edges: list[float]
    active_shares: list[float]
    challenger_shares: list[float]

    def as_dict(self) -> Json:
        return {
            "value": self.value,
            "reason": self.reason,
            "bins": PSI_BINS,
            "edges": self.edges,
            "active_shares": self.active_shares,
            "challenger_shares": self.challenger_shares,
        }


def psi(*, active: Sequence[float] | FloatArray, challenger: Sequence[float] | FloatArray) -> Psi:
    """Σ (c - a)·ln(c / a) over 10 equal-width bins of [0, 1]; a score of 1 falls in the last."""
    edges = np.linspace(0.0, 1.0, PSI_BINS + 1)
    a, c = np.asarray(active, dtype=np.float64), np.asarray(challenger, dtype=np.float64)
    if a.size == 0 or c.size == 0:
        return Psi(None, "no predictions", edges.tolist(), [], [])
    a_shares = np.histogram(np.clip(a, 0, 1), bins=edges)[0] / a.size
    c_shares = np.histogram(np.clip(c, 0, 1), bins=edges)[0] / c.size
    a_safe, c_safe = np.maximum(a_shares, PSI_EPSILON), np.maximum(c_shares, PSI_EPSILON)
    value = float(np.sum((c_safe - a_safe) * np.log(c_safe / a_safe)))
    return Psi(value, None, edges.tolist(), a_shares.tolist(), c_shares.tolist())


@dataclass(frozen=True)
class ModelFigures:
    """One model's figures on the labelled predictions."""

    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    precision: Measure
    recall: Measure
    false_positive_rate: Measure
    roc_auc: Measure
    brier: Measure

    def measure(self, name: str) -> Measure:
        value: Measure = getattr(self, name)
        return value

    def as_dict(self) -> Json:
        return {
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "true_negatives": self.true_negatives,
            **{name: self.measure(name).as_dict() for name in METRICS},
        }


def model_figures(*, scores: FloatArray, predicted: BoolArray, actual: BoolArray) -> ModelFigures:
    tp = int(np.sum(predicted & actual))
    fp = int(np.sum(predicted & ~actual))
    fn = int(np.sum(~predicted & actual))
    tn = int(np.sum(~predicted & ~actual))
    return ModelFigures(
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
        precision=share(successes=tp, trials=tp + fp, empty="nothing called fraud"),
        recall=share(successes=tp, trials=tp + fn, empty="no frauds among the outcomes"),
        false_positive_rate=share(successes=fp, trials=fp + tn, empty="no legitimate outcomes"),
        roc_auc=roc_auc(scores=scores, actual=actual),
        brier=brier(scores=scores, actual=actual),
    )


@dataclass(frozen=True)
class Labelled:
    """Both models on the predictions whose outcome is known."""

    n: int
    frauds: int
    active: ModelFigures | None
    challenger: ModelFigures | None
    reason: str | None

    def differences(self) -> dict[str, float | None]:
        """challenger - active, per metric (None where either is missing)."""
        out: dict[str, float | None] = {}
        for name in METRICS:
            a = self.active.measure(name).value if self.active else None
            c = self.challenger.measure(name).value if self.challenger else None
            out[name] = None if a is None or c is None else c - a
        return out

    def as_dict(self) -> Json:
        return {
            "n": self.n,
            "frauds": self.frauds,
            "reason": self.reason,
            "active": self.active.as_dict() if self.active else None,
            "challenger": self.challenger.as_dict() if self.challenger else None,
            "differences": self.differences(),
        }


def labelled(
    *,
    active_scores: FloatArray,
    active_predicted: BoolArray,
    challenger_scores: FloatArray,
    challenger_predicted: BoolArray,
    actual: BoolArray,
) -> Labelled:
    n = int(actual.size)
    if n == 0:
        return Labelled(n=0, frauds=0, active=None, challenger=None, reason="no labelled predictions yet")
    return Labelled(
        n=n,
        frauds=int(actual.sum()),
        active=model_figures(scores=active_scores, predicted=active_predicted, actual=actual),
        challenger=model_figures(scores=challenger_scores, predicted=challenger_predicted, actual=actual),
        reason=None,
    )


@dataclass(frozen=True)
class Comparison:
    """Everything the page, the API and the gate say of a challenger against the active model."""

    n: int
    agreement: Measure
    # (active label, challenger label) → count, e.g. {"fraud→legit": 3}
    labels: dict[str, int]
    active_review: Measure  # share of the predictions each would send to a person: queue load
    challenger_review: Measure
    active_review_count: int
    challenger_review_count: int
    psi: Psi
    labelled: Labelled
    extra: Json = field(default_factory=dict)  # the window, versions: filled by the selector

    def as_dict(self) -> Json:
        return {
            **self.extra,
            "n": self.n,
            "agreement": self.agreement.as_dict(),
            "labels": self.labels,
            "review_volume": {
                "active": {"count": self.active_review_count, "share": self.active_review.as_dict()},
                "challenger": {
                    "count": self.challenger_review_count,
                    "share": self.challenger_review.as_dict(),
                },
            },
            "psi": self.psi.as_dict(),
            "labelled": self.labelled.as_dict(),
        }


def _array(values: Sequence[Any] | npt.NDArray[Any], dtype: Any, name: str, n: int) -> Any:
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1 or array.size != n:
        raise ValueError(f"{name} must be a flat sequence of {n} values")
    return array


def compare(
    *,
    active_scores: Sequence[float] | FloatArray,
    challenger_scores: Sequence[float] | FloatArray,
    active_fraud: Sequence[bool] | BoolArray,
    challenger_fraud: Sequence[bool] | BoolArray,
    active_review: Sequence[bool] | BoolArray,
    challenger_review: Sequence[bool] | BoolArray,
    outcomes: Sequence[bool | None],
) -> Comparison:
    """Compare two models on the same predictions, one entry per prediction in every input.

    `*_fraud`: the label each gave; `*_review`: whether each sent it to a person (any review
    reason: low confidence, the audit sample, the switch); `outcomes`: the effective outcome
    (True fraud, False legit) or None where none has arrived.
    """
    n = len(active_scores)
    a_scores = _array(active_scores, np.float64, "active_scores", n)
    c_scores = _array(challenger_scores, np.float64, "challenger_scores", n)
    a_fraud = _array(active_fraud, np.bool_, "active_fraud", n)
    c_fraud = _array(challenger_fraud, np.bool_, "challenger_fraud", n)
    a_review = _array(active_review, np.bool_, "active_review", n)
    c_review = _array(challenger_review, np.bool_, "challenger_review", n)
    if len(outcomes) != n:
        raise ValueError(f"outcomes must hold {n} values")
    known = np.array([o is not None for o in outcomes], dtype=np.bool_)
    actual = np.array([bool(o) for o in outcomes], dtype=np.bool_)
    names = {True: "fraud", False: "legit"}
    labels = {
        f"{names[a]}→{names[c]}": int(np.sum((a_fraud == a) & (c_fraud == c)))
        for a in (True, False)
        for c in (True, False)
    }
    return Comparison(
        n=n,
        agreement=share(successes=int(np.sum(a_fraud == c_fraud)), trials=n),
        labels=labels,
        active_review=share(successes=int(a_review.sum()), trials=n),
        challenger_review=share(successes=int(c_review.sum()), trials=n),
        active_review_count=int(a_review.sum()),
        challenger_review_count=int(c_review.sum()),
        psi=psi(active=a_scores, challenger=c_scores),
        labelled=labelled(
            active_scores=a_scores[known],
            active_predicted=a_fraud[known],
            challenger_scores=c_scores[known],
            challenger_predicted=c_fraud[known],
            actual=actual[known],
        ),
    )
