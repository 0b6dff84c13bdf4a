"""The statistics behind the scorecard (what human review is worth) and the threshold what-if.

Pure: plain Python and numpy, nothing of Django, the ORM or the rest of the project, so every
figure is tested on constructed data whose answer is known, and the services that gather the
inputs stay thin. Labels are booleans meaning "is fraud"; an outcome that has not arrived is
None. A ratio with nothing to divide by is None, never a division error or a NaN: JSON has no
NaN, and "no data yet" must not read as 0 %.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence, Sized
from dataclasses import dataclass, fields
from typing import Any, cast

import numpy as np
import numpy.typing as npt

Z_95 = 1.96  # the two-sided 95 % normal quantile, as published tables round it
WHAT_IF_THRESHOLDS = tuple(round(0.50 + step / 100, 2) for step in range(50))  # 0.50 … 0.99
SECONDS_PER_HOUR = 3600.0

Flags = Sequence[bool] | npt.NDArray[np.bool_]
MaybeFlags = Sequence[bool | None]  # None: the outcome is not known yet
Numbers = Sequence[float] | npt.NDArray[np.float64]
Counts = Sequence[int] | npt.NDArray[np.integer[Any]]
Json = dict[str, Any]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


class FieldsAsDict:
    """`as_dict` for a dataclass whose JSON is its fields, by name, in their order."""

    def as_dict(self) -> Json:
        return {field.name: getattr(self, field.name) for field in fields(cast(Any, self))}


# --- inputs -----------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def _flags(values: Flags, name: str) -> BoolArray:
    # Strict on purpose: np.asarray(..., dtype=bool) would quietly turn None into False, and an
    # unknown outcome counted as "legit" is exactly the error these figures must not make.
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(0, dtype=np.bool_)
    if array.ndim != 1 or array.dtype != np.bool_:
        raise ValueError(f"{name} must be a flat sequence of booleans")
    return array


def _maybe_flags(values: MaybeFlags, name: str) -> tuple[BoolArray, BoolArray]:
    """(known, fraud): which outcomes have arrived, and which of those say fraud."""
    if any(value is not None and not isinstance(value, (bool, np.bool_)) for value in values):
        raise ValueError(f"{name} must hold booleans or None")
    known = np.array([value is not None for value in values], dtype=np.bool_)
    fraud = np.array([bool(value) for value in values], dtype=np.bool_)  # None: masked by known
    return known, fraud


def _numbers(values: Numbers, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or not np.isfinite(array).all():
        raise ValueError(f"{name} must be a flat sequence of finite numbers")
    return array


def _same_length(**arrays: Sized) -> int:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs differ in length: {lengths}")
    return next(iter(lengths.values()), 0)


# --- counting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def precision(self) -> float | None:
        """Of the items called fraud, the share that were."""
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float | None:
        """Of the frauds, the share called fraud."""
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def false_positive_rate(self) -> float | None:
        """Of the legitimate items, the share called fraud: customers stopped for nothing."""
        return _ratio(self.false_positives, self.false_positives + self.true_negatives)

    def as_dict(self) -> Json:
        return {
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "true_negatives": self.true_negatives,
            "precision": self.precision,
            "recall": self.recall,
            "false_positive_rate": self.false_positive_rate,
        }


def confusion(*, predicted: Flags, actual: Flags) -> Confusion:
    said, was = _flags(predicted, "predicted"), _flags(actual, "actual")
    _same_length(predicted=said, actual=was)
    return Confusion(
        true_positives=int(np.sum(said & was)),
        false_positives=int(np.sum(said & ~was)),
        false_negatives=int(np.sum(~said & was)),
        true_negatives=int(np.sum(~said & ~was)),
    )


@dataclass(frozen=True)
class LabelComparison:
    """The same predictions counted twice: by the model's label and by the final one."""

    model: Confusion
    final: Confusion

    def as_dict(self) -> Json:
        return {"model": self.model.as_dict(), "final": self.final.as_dict()}


def label_comparison(*, model_predicted: Flags, final_predicted: Flags, actual: Flags) -> LabelComparison:
    """The model's labels against the final ones (a human's where one decided)."""
    return LabelComparison(
        model=confusion(predicted=model_predicted, actual=actual),
        final=confusion(predicted=final_predicted, actual=actual),
    )


# --- intervals --------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate(FieldsAsDict):
    value: float | None
    ci_low: float | None
    ci_high: float | None


NO_ESTIMATE = Estimate(value=None, ci_low=None, ci_high=None)


def _wilson(share: float, trials: float, z: float) -> tuple[float, float]:
    # Wilson's score interval: unlike p ± z·√(p(1-p)/n) it stays inside [0, 1] and does not
    # shrink to a point at 0 % or 100 %, which small samples of rare errors keep producing.
    # `trials` may be fractional: an effective sample size.
    z2 = z * z
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    low = 0.0 if share == 0 else max(0.0, centre - half)  # exact ends where rounding would blur them
    high = 1.0 if share == 1 else min(1.0, centre + half)
    return low, high


def wilson_interval(*, successes: float, trials: float, z: float = Z_95) -> tuple[float | None, float | None]:
    """Wilson's score interval for successes out of trials; (None, None) without trials."""
    if trials <= 0:
        return None, None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    return _wilson(successes / trials, trials, z)


# --- what review did to the model's false positives -------------------------------------


def false_positive_reduction(*, model_fp_flags: Flags, final_fp_flags: Flags, z: float = Z_95) -> Estimate:
    """(model FP - final FP) / model FP over the same predictions, with a 95 % interval.

    Both counts come from the same predictions, so they are not independent. Split them:
    `removed` were the model's false positives and are no longer (review caught them), `kept`
    are false positives either way, `added` are false positives review introduced. Then

        reduction = (removed - added) / (removed + kept) = A - B,

    A = removed / model FP, a binomial share of the model's false positives, and B = added /
    model FP. Given the model's FP count, A and B come from disjoint predictions and are
    independent, so their Wilson intervals combine the way Newcombe's interval for a
    difference of proportions does (MOVER, Zou & Donner 2008). B's interval is Wilson's for
    `added` out of every prediction that was not a model false positive, rescaled; only the
    reviewed legitimate ones could have been turned, so it errs wide, never narrow. In the
    tests 94 % of 400 simulated intervals cover the true reduction.

    Why not a bootstrap: when review removed every false positive, the small-sample case where
    an interval matters most, every resample agrees and the percentile interval is the point
    1.0; a delta-method interval collapses the same way (its variance is 0 there). Wilson's
    intervals never collapse, and the result is closed-form: deterministic, no seed, constant
    cost however many predictions. The high end never passes 1 (review cannot remove more
    than every false positive); the low end may go below 0 when review could be adding them.
    """
    model, final = _flags(model_fp_flags, "model_fp_flags"), _flags(final_fp_flags, "final_fp_flags")
    total = _same_length(model_fp_flags=model, final_fp_flags=final)
    return false_positive_reduction_counts(
        removed=int(np.sum(model & ~final)),
        kept=int(np.sum(model & final)),
        added=int(np.sum(final & ~model)),
        total=total,
        z=z,
    )


def false_positive_reduction_counts(
    *, removed: int, kept: int, added: int, total: int, z: float = Z_95
) -> Estimate:
    """`false_positive_reduction` from its four counts, as a database can give them.

    `removed`: false positives of the model's that the final label is not; `kept`: false
    positives of both; `added`: the final label's only; `total`: every prediction counted.
    """
    if min(removed, kept, added) < 0 or removed + kept + added > total:
        raise ValueError(f"impossible counts: {removed} removed, {kept} kept, {added} added of {total}")
    model_fp = removed + kept
    if model_fp == 0:
        return NO_ESTIMATE
    removed_share = removed / model_fp
    removed_low, removed_high = _wilson(removed_share, model_fp, z)
    others = total - model_fp  # where an added false positive can come from
    added_low, added_high = _wilson(added / others, others, z) if others else (0.0, 0.0)
    added_rate = added / model_fp
    added_low, added_high = added_low * others / model_fp, added_high * others / model_fp
    value = removed_share - added_rate
    return Estimate(
        value=value,
        ci_low=value - math.hypot(removed_share - removed_low, added_high - added_rate),
        ci_high=value + math.hypot(removed_high - removed_share, added_rate - added_low),
    )


# --- the audit sample -------------------------------------------------------------------


def weighted_error_rate(*, errors: Flags, inclusion_probabilities: Numbers, z: float = Z_95) -> Estimate:
    """The population's error rate from a sample drawn with unequal probabilities (Hájek).

    Each sampled item stands for 1/π items of the population, π its inclusion probability.
    Hájek's estimate Σ(e/π) / Σ(1/π), not Horvitz-Thompson's Σ(e/π) / N: HT needs the
    population size N exactly and its estimate can pass 1; Hájek's is a weighted mean, always
    in [0, 1], needs the π only up to a common factor, and varies less when the weights do
    (Särndal, Swensson & Wretman 1992, §5.7). Its bias is of order 1/n, far below its noise.

    The interval is Wilson's at the design's effective sample size n_eff = n / deff (survey
    practice, e.g. Korn & Graubard 1998), deff the design effect: the linearised variance of
    the Hájek mean, n/(n - 1) · Σ w²(e - p)² / (Σ w)², over what a simple random sample of n
    would give, n/(n - 1) · p(1 - p) / n. The n/(n - 1) cancels: n_eff = p(1 - p)(Σ w)² /
    Σ w²(e - p)², which is n itself when the weights are equal, so an unweighted sample gets
    Wilson's own interval. Wilson keeps an upper bound when the sample holds no error at all,
    where p ± z√v would be [0, 0]. The linearised variance carries how the weights go with
    the errors, which Kish's n_eff = (Σ w)² / Σ w² cannot, so Kish's stands in only where the
    other is 0 / 0 (no error in the sample, or nothing but errors). n_eff is capped at n: a
    design never makes a sample worth more than its size.
    """
    wrong = _flags(errors, "errors").astype(np.float64)
    probabilities = _numbers(inclusion_probabilities, "inclusion_probabilities")
    n = _same_length(errors=wrong, inclusion_probabilities=probabilities)
    if ((probabilities <= 0) | (probabilities > 1)).any():
        raise ValueError("inclusion probabilities must be in (0, 1]")
    if n == 0:
        return NO_ESTIMATE
    weights = 1.0 / probabilities
    total = float(np.sum(weights))
    rate = float(np.sum(weights * wrong)) / total
    spread = float(np.sum((weights * (wrong - rate)) ** 2))
    if spread > 0:
        effective = rate * (1 - rate) * total**2 / spread
    else:
        effective = total**2 / float(np.sum(weights**2))  # Kish's
    low, high = _wilson(rate, min(effective, n), z)
    return Estimate(value=rate, ci_low=low, ci_high=high)


@dataclass(frozen=True)
class AuditSample:
    decisions: int
    labelled: int
    model_error_rate: Estimate

    def as_dict(self) -> Json:
        return {
            "decisions": self.decisions,
            "labelled": self.labelled,
            "model_error_rate": self.model_error_rate.value,
            "ci_low": self.model_error_rate.ci_low,
            "ci_high": self.model_error_rate.ci_high,
        }


def audit_sample(*, errors: MaybeFlags, inclusion_probabilities: Numbers, z: float = Z_95) -> AuditSample:
    """The model's error rate over the whole population, estimated from the audit sample.

    `errors[i]` is whether the model's label was wrong, None while the outcome is unknown.
    Only labelled items count, which assumes an outcome's arrival does not depend on whether
    the model was wrong; the `labelled` count beside `decisions` shows how far that is leaned on.
    """
    known, wrong = _maybe_flags(errors, "errors")
    probabilities = _numbers(inclusion_probabilities, "inclusion_probabilities")
    _same_length(errors=known, inclusion_probabilities=probabilities)
    return AuditSample(
        decisions=len(known),
        labelled=int(np.sum(known)),
        model_error_rate=weighted_error_rate(
            errors=wrong[known], inclusion_probabilities=probabilities[known], z=z
        ),
    )


# --- people -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy(FieldsAsDict):
    decisions: int
    labelled: int
    accuracy: float | None  # over the labelled decisions


def accuracy(*, decided: Flags, actual: MaybeFlags) -> Accuracy:
    """The share of decisions the outcome agreed with, among those with an outcome."""
    said = _flags(decided, "decided")
    known, fraud = _maybe_flags(actual, "actual")
    _same_length(decided=said, actual=known)
    return accuracy_counts(
        decisions=len(said), labelled=int(np.sum(known)), right=int(np.sum(said[known] == fraud[known]))
    )


def accuracy_counts(*, decisions: int, labelled: int, right: int) -> Accuracy:
    """`accuracy` from its counts: `right` of the `labelled` decisions agreed with their outcome."""
    if not 0 <= right <= labelled <= decisions:
        raise ValueError(f"impossible counts: {right} right of {labelled} labelled of {decisions}")
    return Accuracy(decisions=decisions, labelled=labelled, accuracy=_ratio(right, labelled))


@dataclass(frozen=True)
class AnalystSummary(FieldsAsDict):
    reviewer: str
    decisions: int
    labelled: int
    accuracy: float | None
    overrides: int  # decisions against the model's label
    override_precision: float | None  # of the overrides with an outcome, the share it proved right
    median_seconds: float | None


def analyst_summary(
    *,
    reviewers: Sequence[str],
    decided: Flags,
    model_predicted: Flags,
    actual: MaybeFlags,
    seconds: Sequence[float | None],
) -> list[AnalystSummary]:
    """One summary per reviewer, by name: one decision per position in the sequences.

    Override precision is what an override is worth: an analyst who overrides often and is
    right half the time adds work, not accuracy. Handling time is a median because a claim
    left open over lunch would drag a mean for the whole day.
    """
    said, model = _flags(decided, "decided"), _flags(model_predicted, "model_predicted")
    known, fraud = _maybe_flags(actual, "actual")
    _same_length(reviewers=reviewers, decided=said, model_predicted=model, actual=known, seconds=seconds)
    right = known & (said == fraud)
    overridden = said != model
    positions: dict[str, list[int]] = {}
    for position, reviewer in enumerate(reviewers):
        positions.setdefault(reviewer, []).append(position)
    summaries = []
    for reviewer in sorted(positions):
        mine = np.array(positions[reviewer])
        timed = [float(s) for s in (seconds[i] for i in positions[reviewer]) if s is not None]
        summaries.append(
            analyst_summary_counts(
                AnalystCounts(
                    reviewer=reviewer,
                    decisions=len(mine),
                    labelled=int(np.sum(known[mine])),
                    right=int(np.sum(right[mine])),
                    overrides=int(np.sum(overridden[mine])),
                    labelled_overrides=int(np.sum(overridden[mine] & known[mine])),
                    right_overrides=int(np.sum(right[mine] & overridden[mine])),
                    median_seconds=statistics.median(timed) if timed else None,
                )
            )
        )
    return summaries


@dataclass(frozen=True)
class AnalystCounts:
    """One reviewer's decisions counted, as a database can count them: the input of a summary."""

    reviewer: str
    decisions: int
    labelled: int  # with an outcome
    right: int  # of the labelled, those the outcome agreed with
    overrides: int  # against the model's label
    labelled_overrides: int
    right_overrides: int
    median_seconds: float | None


def analyst_summary_counts(counts: AnalystCounts) -> AnalystSummary:
    """`analyst_summary` for one reviewer, from counts."""
    if not (
        0 <= counts.right <= counts.labelled <= counts.decisions
        and 0 <= counts.right_overrides <= counts.labelled_overrides <= counts.overrides <= counts.decisions
        and counts.labelled_overrides <= counts.labelled
    ):
        raise ValueError(f"impossible counts: {counts}")
    return AnalystSummary(
        reviewer=counts.reviewer,
        decisions=counts.decisions,
        labelled=counts.labelled,
        accuracy=_ratio(counts.right, counts.labelled),
        overrides=counts.overrides,
        override_precision=_ratio(counts.right_overrides, counts.labelled_overrides),
        median_seconds=counts.median_seconds,
    )


# --- calibration ------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationBin(FieldsAsDict):
    lower: float
    upper: float
    count: int
    mean_score: float | None
    fraud_rate: float | None


@dataclass(frozen=True)
class Calibration:
    ece: float | None
    brier: float | None
    bins: tuple[CalibrationBin, ...]

    def as_dict(self) -> Json:
        return {"ece": self.ece, "brier": self.brier, "bins": [b.as_dict() for b in self.bins]}


def calibration(*, scores: Numbers, actual: Flags, bins: int = 10) -> Calibration:
    """Whether a score of 0.8 means fraud 8 times in 10: equal-width bins, ECE and Brier.

    ECE is the count-weighted mean |mean score - fraud rate| over the non-empty bins. Every bin
    is listed, empty ones with None, so a reliability chart keeps a fixed axis. The last bin
    is closed: a score of exactly 1 belongs in it.
    """
    probabilities, fraud = _numbers(scores, "scores"), _flags(actual, "actual")
    _same_length(scores=probabilities, actual=fraud)
    if bins < 1 or ((probabilities < 0) | (probabilities > 1)).any():
        raise ValueError("scores must be in [0, 1], in at least one bin")
    index = calibration_bin(probabilities, bins=bins)
    return calibration_sums(
        counts=np.bincount(index, minlength=bins),
        score_sums=np.bincount(index, weights=probabilities, minlength=bins).astype(np.float64),
        fraud_sums=np.bincount(index, weights=fraud.astype(np.float64), minlength=bins).astype(np.float64),
        squared_error_sum=float(np.sum((probabilities - fraud) ** 2)),
    )


def calibration_bin(scores: FloatArray, *, bins: int = 10) -> npt.NDArray[np.int64]:
    """Each score's bin: floor(score · bins), a score of 1 in the last. A database computing
    floor(score * bins) in double precision puts every score in the same bin."""
    return np.minimum((scores * bins).astype(np.int64), bins - 1)


def calibration_sums(
    *, counts: Counts, score_sums: Numbers, fraud_sums: Numbers, squared_error_sum: float
) -> Calibration:
    """`calibration` from what each bin sums (as a database can sum it): how many scores, their
    sum, how many were fraud; and Σ(score - fraud)² over all of them, for Brier's score."""
    sizes = np.asarray(counts, dtype=np.int64)
    scored, frauds = _numbers(score_sums, "score_sums"), _numbers(fraud_sums, "fraud_sums")
    bins = _same_length(counts=sizes, score_sums=scored, fraud_sums=frauds)
    if bins < 1 or (sizes < 0).any() or squared_error_sum < 0:
        raise ValueError("calibration needs at least one bin, no negative count or squared error")
    n = int(np.sum(sizes))
    table = tuple(
        CalibrationBin(
            lower=b / bins,
            upper=(b + 1) / bins,
            count=int(sizes[b]),
            mean_score=_ratio(scored[b], sizes[b]),
            fraud_rate=_ratio(frauds[b], sizes[b]),
        )
        for b in range(bins)
    )
    if n == 0:
        return Calibration(ece=None, brier=None, bins=table)
    # count * |mean score - fraud rate| is |score sum - fraud count|; empty bins add 0.
    ece = float(np.sum(np.abs(scored - frauds))) / n
    return Calibration(ece=ece, brier=squared_error_sum / n, bins=table)


# --- the threshold what-if --------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdRow(FieldsAsDict):
    threshold: float
    review_share: float | None
    reviews_per_day: float
    analyst_hours_per_day: float
    # The model alone over the window, the baseline for each row; like the expected figures,
    # an estimate for every prediction (see threshold_what_if_strata), None without outcomes.
    model_false_positives: float | None
    expected_false_positives: float | None
    expected_missed_fraud: float | None
    expected_cost: float | None


@dataclass(frozen=True)
class WhatIf:
    rows: tuple[ThresholdRow, ...]
    recommended: float | None  # the cheapest threshold the team has the hours for
    predictions: int = 0  # every prediction the rows speak for
    labelled: int = 0  # those with an outcome, from which the expected figures are estimated
    pooled_predictions: int = 0  # in strata without an outcome: estimated from their label's rate

    def as_dict(self) -> Json:
        return {
            "thresholds": [row.as_dict() for row in self.rows],
            "recommended": self.recommended,
            "predictions": self.predictions,
            "labelled": self.labelled,
            "pooled_predictions": self.pooled_predictions,
        }


@dataclass(frozen=True)
class Stratum:
    """Predictions the what-if cannot tell apart: one model label, and a confidence between the
    same two neighbouring thresholds, so every threshold reviews all of them or none."""

    bucket: (
        int  # how many thresholds are at or below their confidence: reviewed at thresholds[i] iff bucket <= i
    )
    model_fraud: bool
    predictions: int  # all of them in the window
    labelled: int  # those with an outcome
    fraud: int  # of the labelled, the frauds


def threshold_bucket(
    confidences: Numbers, thresholds: Sequence[float] = WHAT_IF_THRESHOLDS
) -> npt.NDArray[np.int64]:
    """Each confidence's stratum bucket: how many of the (ascending) thresholds are at or below it.

    A prediction is reviewed at a threshold when its confidence is below it, so at thresholds[i]
    exactly the buckets 0..i are. Comparisons, not arithmetic: a confidence of exactly 0.57 is
    not reviewed at 0.57, which floor(confidence * 100) would get wrong (0.57 * 100 = 56.99…).
    PostgreSQL's width_bucket(confidence, thresholds) gives the same numbers.
    """
    return np.searchsorted(
        np.asarray(thresholds, dtype=np.float64), _numbers(confidences, "confidences"), side="right"
    )


def threshold_what_if(
    *,
    scores: Numbers,
    actual: Flags,
    days: float,
    median_seconds: float,
    human_accuracy: float,
    cost_false_positive: float,
    cost_missed_fraud: float,
    team_hours_per_day: float,
    predicted: Flags | None = None,
    thresholds: Sequence[float] = WHAT_IF_THRESHOLDS,
) -> WhatIf:
    """What each review threshold would have cost over a window of predictions, all with outcomes.

    A prediction goes to review when its confidence max(p, 1 - p) is below the threshold. A
    reviewed item is decided correctly with probability `human_accuracy`; the rest keep the
    model's label (`predicted`, or score ≥ 0.5 as the scorer's default). Counts and costs are
    totals over the window; reviews and hours are per day of it. The predictions are grouped
    into strata and handed to `threshold_what_if_strata`, where each is fully labelled.
    """
    probabilities, fraud = _numbers(scores, "scores"), _flags(actual, "actual")
    said = probabilities >= 0.5 if predicted is None else _flags(predicted, "predicted")
    _same_length(scores=probabilities, actual=fraud, predicted=said)
    buckets = threshold_bucket(np.maximum(probabilities, 1 - probabilities), thresholds)
    strata = []
    for bucket, model_fraud in sorted({(int(b), bool(m)) for b, m in zip(buckets, said, strict=True)}):
        members = (buckets == bucket) & (said == model_fraud)
        count = int(np.sum(members))
        strata.append(Stratum(bucket, model_fraud, count, count, int(np.sum(fraud[members]))))
    return threshold_what_if_strata(
        strata=strata,
        days=days,
        median_seconds=median_seconds,
        human_accuracy=human_accuracy,
        cost_false_positive=cost_false_positive,
        cost_missed_fraud=cost_missed_fraud,
        team_hours_per_day=team_hours_per_day,
        thresholds=thresholds,
    )


def threshold_what_if_strata(
    *,
    strata: Sequence[Stratum],
    days: float,
    median_seconds: float,
    human_accuracy: float,
    cost_false_positive: float,
    cost_missed_fraud: float,
    team_hours_per_day: float,
    thresholds: Sequence[float] = WHAT_IF_THRESHOLDS,
) -> WhatIf:
    """The what-if over every prediction of a window, estimated from those with an outcome.

    Volumes (review share, reviews and hours a day) count every prediction. Outcomes are known
    for some only, so each stratum's frauds are estimated as its predictions times the fraud
    rate of its labelled ones (post-stratification: the labelled share differs by confidence
    and label, recent weeks are hardly labelled, frauds are reported more often than good
    transactions, and one overall scale factor would carry all that into the figures). A
    stratum without any outcome takes the rate of all labelled predictions with its model
    label (`pooled_predictions` counts them); with no outcome for a label at all, nothing can
    be estimated and the expected figures are None. What stays assumed: within a stratum, an
    outcome's arrival does not depend on what the transaction was.

    At a threshold the reviewed strata's legitimate ones are wrongly stopped, and their frauds
    missed, 1 - `human_accuracy` of the time; the others keep the model's label.
    """
    if days <= 0 or median_seconds < 0 or not 0 <= human_accuracy <= 1:
        raise ValueError("days must be positive, seconds not negative, accuracy in [0, 1]")
    if list(thresholds) != sorted(thresholds):
        raise ValueError("thresholds must be in ascending order")
    if any(not 0 <= s.fraud <= s.labelled <= s.predictions for s in strata):
        raise ValueError("each stratum needs 0 <= fraud <= labelled <= predictions")
    bucket = np.array([s.bucket for s in strata], dtype=np.int64)
    model_fraud = np.array([s.model_fraud for s in strata], dtype=np.bool_)
    predictions = np.array([s.predictions for s in strata], dtype=np.float64)
    labelled = np.array([s.labelled for s in strata], dtype=np.float64)
    frauds = np.array([s.fraud for s in strata], dtype=np.float64)
    total = int(np.sum(predictions))

    rate = np.full(len(strata), np.nan)
    np.divide(frauds, labelled, out=rate, where=labelled > 0)
    for label in (True, False):  # a stratum without outcomes borrows its label's rate
        same = model_fraud == label
        pooled = _ratio(float(np.sum(frauds[same])), float(np.sum(labelled[same])))
        rate[same & (labelled == 0)] = np.nan if pooled is None else pooled
    unlabelled = labelled == 0
    estimable = not np.isnan(rate[predictions > 0]).any()
    fraud_estimate = predictions * np.nan_to_num(rate)
    legit_estimate = predictions - fraud_estimate
    wrong_by_human = 1 - human_accuracy

    rows = []
    for index, threshold in enumerate(thresholds):
        reviewed = bucket <= index
        count = float(np.sum(predictions[reviewed]))
        reviews_per_day = count / days
        figures: tuple[float | None, ...] = (None, None, None, None)
        if estimable:
            expected_fp = float(np.sum(legit_estimate[~reviewed & model_fraud])) + wrong_by_human * float(
                np.sum(legit_estimate[reviewed])
            )
            expected_missed = float(
                np.sum(fraud_estimate[~reviewed & ~model_fraud])
            ) + wrong_by_human * float(np.sum(fraud_estimate[reviewed]))
            figures = (
                float(np.sum(legit_estimate[model_fraud])),
                expected_fp,
                expected_missed,
                cost_false_positive * expected_fp + cost_missed_fraud * expected_missed,
            )
        rows.append(
            ThresholdRow(
                threshold=threshold,
                review_share=_ratio(count, total),
                reviews_per_day=reviews_per_day,
                analyst_hours_per_day=reviews_per_day * median_seconds / SECONDS_PER_HOUR,
                model_false_positives=figures[0],
                expected_false_positives=figures[1],
                expected_missed_fraud=figures[2],
                expected_cost=figures[3],
            )
        )
    affordable = [
        row
        for row in rows
        if row.expected_cost is not None and row.analyst_hours_per_day <= team_hours_per_day
    ]
    # Ties go to the lower threshold: the same cost for less of the team's time. Without a
    # single prediction every threshold costs 0, which recommends nothing.
    best = min(affordable, key=lambda row: (row.expected_cost or 0.0, row.threshold), default=None)
    return WhatIf(
        rows=tuple(rows),
        recommended=best.threshold if best is not None and total else None,
        predictions=total,
        labelled=int(np.sum(labelled)),
        pooled_predictions=int(np.sum(predictions[unlabelled])),
    )


# --- the scorecard ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scorecard:
    """Every figure of the scorecard, in the shape the API serves it."""

    overall: LabelComparison
    reviewed_band: LabelComparison
    false_positive_reduction: Estimate
    audit_sample: AuditSample
    blind: Accuracy
    sighted: Accuracy
    analysts: tuple[AnalystSummary, ...]
    calibration: Calibration

    def as_dict(self) -> Json:
        return {
            "model": self.overall.model.as_dict(),
            "final": self.overall.final.as_dict(),
            "reviewed_band": self.reviewed_band.as_dict(),
            "false_positive_reduction": self.false_positive_reduction.as_dict(),
            "audit_sample": self.audit_sample.as_dict(),
            "blind": self.blind.as_dict(),
            "sighted": self.sighted.as_dict(),
            "analysts": [analyst.as_dict() for analyst in self.analysts],
            "calibration": self.calibration.as_dict(),
        }
