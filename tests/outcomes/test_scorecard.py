"""The scorecard's statistics: counts, intervals, the audit estimate, calibration, the what-if.

Pure arithmetic on constructed data whose answer is worked out by hand in each test; the
simulations use fixed seeds, so they give the same answer on every run.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from outcomes import scorecard
from outcomes.scorecard import Estimate

T, F = True, False


# --- counting -------------------------------------------------------------------------


def test_it_counts_each_cell_and_its_ratios():
    # 3 caught frauds, 2 legit called fraud, 1 missed fraud, 4 legit left alone:
    # precision 3/5, recall 3/4, false positive rate 2/6.
    predicted = [T, T, T, T, T, F, F, F, F, F]
    actual = [T, T, T, F, F, T, F, F, F, F]

    counts = scorecard.confusion(predicted=predicted, actual=actual)

    assert counts.as_dict() == {
        "true_positives": 3,
        "false_positives": 2,
        "false_negatives": 1,
        "true_negatives": 4,
        "precision": 3 / 5,
        "recall": 3 / 4,
        "false_positive_rate": 2 / 6,
    }


def test_it_takes_numpy_arrays_as_well_as_lists():
    counts = scorecard.confusion(predicted=np.array([T, F]), actual=np.array([T, T]))
    assert (counts.true_positives, counts.false_negatives) == (1, 1)


@pytest.mark.filterwarnings("error")
def test_nothing_to_count_leaves_every_ratio_undefined():
    counts = scorecard.confusion(predicted=[], actual=[])

    assert counts.as_dict() == {
        "true_positives": 0,
        "false_positives": 0,
        "false_negatives": 0,
        "true_negatives": 0,
        "precision": None,
        "recall": None,
        "false_positive_rate": None,
    }


@pytest.mark.filterwarnings("error")
def test_with_one_class_only_the_ratios_about_the_other_are_none():
    # No fraud at all, none called: nothing was called fraud (precision) and there was no fraud
    # to find (recall); of 3 legit, 0 were stopped.
    all_legit = scorecard.confusion(predicted=[F, F, F], actual=[F, F, F])
    # Only fraud, all called: precision and recall 1, and no legit item to stop wrongly.
    all_fraud = scorecard.confusion(predicted=[T, T], actual=[T, T])

    assert (all_legit.precision, all_legit.recall, all_legit.false_positive_rate) == (None, None, 0.0)
    assert (all_fraud.precision, all_fraud.recall, all_fraud.false_positive_rate) == (1.0, 1.0, None)


def test_it_refuses_an_unknown_outcome_where_it_needs_a_known_one():
    with pytest.raises(ValueError, match="actual must be a flat sequence of booleans"):
        scorecard.confusion(predicted=[T, F], actual=[T, None])


def test_it_refuses_inputs_of_different_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        scorecard.confusion(predicted=[T, F, T], actual=[T, F])


def test_it_counts_the_model_and_the_final_labels_over_the_same_outcomes():
    # The model called both legit items fraud; the analyst cleared one of them.
    actual = [T, F, F]
    comparison = scorecard.label_comparison(
        model_predicted=[T, T, T], final_predicted=[T, F, T], actual=actual
    )

    assert comparison.as_dict()["model"]["false_positives"] == 2
    assert comparison.as_dict()["final"]["false_positives"] == 1
    assert comparison.final.precision == 1 / 2


# --- Wilson's interval ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # By hand from the formula, z = 1.96 (z² = 3.8416): with 0 successes the upper end is
        # z²/(n + z²) = 3.8416/13.8416; with n of n the lower is n/(n + z²) = 10/13.8416; at 5
        # of 10 the centre is 0.5 and the half-width 1.96·√(0.025 + 3.8416/400)/1.38416.
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        # Newcombe (1998), Statistics in Medicine 17:857, Table II, method 3 (Wilson's score).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilsons_interval_matches_the_published_values(successes, trials, low, high):
    interval = scorecard.wilson_interval(successes=successes, trials=trials)
    assert interval == pytest.approx((low, high), abs=5e-5)


def test_wilsons_interval_is_exactly_closed_at_zero_and_all():
    assert scorecard.wilson_interval(successes=0, trials=7)[0] == 0.0
    assert scorecard.wilson_interval(successes=7, trials=7)[1] == 1.0


@pytest.mark.filterwarnings("error")
def test_wilsons_interval_without_trials_is_undefined():
    assert scorecard.wilson_interval(successes=0, trials=0) == (None, None)


def test_wilsons_interval_refuses_more_successes_than_trials():
    with pytest.raises(ValueError, match="3 successes out of 2 trials"):
        scorecard.wilson_interval(successes=3, trials=2)


# --- false positive reduction ---------------------------------------------------------


def test_review_that_removes_two_of_three_false_positives_reduces_them_by_two_thirds():
    # 10 predictions; the model's 3 false positives are the first three, review clears two of
    # them and adds none: (3 - 1) / 3 = 2/3. By hand, removed share A = 2/3 with Wilson (2 of
    # 3) = (0.2077, 0.9385); added B = 0 with Wilson (0 of the other 7) = (0, 0.3543), times 7/3
    # = (0, 0.8267). low = 2/3 - hypot(2/3 - 0.2077, 0.8267) = -0.2790; high = 2/3 +
    # hypot(0.9385 - 2/3, 0) = 0.9385.
    model_fp = [T, T, T, F, F, F, F, F, F, F]
    final_fp = [F, F, T, F, F, F, F, F, F, F]

    reduction = scorecard.false_positive_reduction(model_fp_flags=model_fp, final_fp_flags=final_fp)

    assert reduction.value == pytest.approx(2 / 3)
    assert (reduction.ci_low, reduction.ci_high) == pytest.approx((-0.2790, 0.9385), abs=1e-4)


def test_false_positives_that_review_adds_count_against_it():
    # The model's 4 false positives: review clears 2 and keeps 2, and turns 1 legit item the
    # model had right into a false positive: final FP = 3, reduction (4 - 3) / 4 = 1/4.
    model_fp = [T, T, T, T, F, F, F, F]
    final_fp = [F, F, T, T, T, F, F, F]

    reduction = scorecard.false_positive_reduction(model_fp_flags=model_fp, final_fp_flags=final_fp)

    assert reduction.value == pytest.approx(1 / 4)
    assert reduction.ci_low < 1 / 4 < reduction.ci_high


def test_review_that_removes_every_false_positive_still_has_an_interval():
    # 5 of 5 removed: a bootstrap would say [1, 1]. Wilson (5 of 5) puts the low end at
    # 5/(5 + 3.8416) = 0.5655 before the uncertainty about added ones widens it further.
    reduction = scorecard.false_positive_reduction(
        model_fp_flags=[T] * 5 + [F] * 995, final_fp_flags=[F] * 1000
    )

    assert reduction.value == 1.0
    assert reduction.ci_high == 1.0
    assert reduction.ci_low < 0.5655


@pytest.mark.filterwarnings("error")
def test_without_model_false_positives_there_is_no_reduction_to_speak_of():
    assert scorecard.false_positive_reduction(model_fp_flags=[], final_fp_flags=[]) == scorecard.NO_ESTIMATE
    assert scorecard.false_positive_reduction(model_fp_flags=[F, F], final_fp_flags=[T, F]) == Estimate(
        value=None, ci_low=None, ci_high=None
    )


def test_the_reduction_interval_covers_the_truth_about_95_times_in_100():
    # Each prediction falls in one cell: review removed a model false positive (4 %), kept one
    # (2 %), added one (0.5 %), or none of these. The true reduction is (4 - 0.5) / (4 + 2).
    rng = np.random.default_rng(20261201)
    cells = [0.04, 0.02, 0.005]
    truth = (cells[0] - cells[2]) / (cells[0] + cells[1])
    covered = 0
    for _ in range(400):
        cell = rng.choice(4, size=1000, p=[*cells, 1 - sum(cells)])
        reduction = scorecard.false_positive_reduction(
            model_fp_flags=(cell == 0) | (cell == 1), final_fp_flags=(cell == 1) | (cell == 2)
        )
        covered += reduction.ci_low <= truth <= reduction.ci_high

    # 400 intervals at 95 %: the share covering has a standard error of about 1.1 points.
    assert 0.92 <= covered / 400 <= 0.98


# --- the audit sample -----------------------------------------------------------------


def test_the_weighted_error_rate_counts_each_item_as_the_items_it_stands_for():
    # One error among four sampled items, but the error was sampled with probability 1/2 (it
    # stands for 2 items) and the others with 1/10 (10 each): 2 / (2 + 10 + 10 + 10) = 1/16,
    # where the unweighted share would be 1/4.
    estimate = scorecard.weighted_error_rate(
        errors=[T, F, F, F], inclusion_probabilities=[0.5, 0.1, 0.1, 0.1]
    )

    assert estimate.value == pytest.approx(1 / 16)
    assert estimate.ci_low < 1 / 16 < estimate.ci_high


def test_with_equal_probabilities_it_is_the_plain_share_with_wilsons_interval():
    errors = [T, T, F, F, F, F, F, F, F, F]

    estimate = scorecard.weighted_error_rate(errors=errors, inclusion_probabilities=[0.3] * 10)

    assert estimate.value == pytest.approx(0.2)
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx(
        scorecard.wilson_interval(successes=2, trials=10)
    )


def test_a_sample_without_errors_still_gets_an_upper_bound():
    # Weights 2, 2, 10, 10: Kish's effective size is 24² / (4 + 4 + 100 + 100) = 2.769, so the
    # upper end is z² / (2.769 + z²) = 3.8416 / 6.6108 = 0.5811: four items, two of them
    # standing for most of the population, say little.
    estimate = scorecard.weighted_error_rate(
        errors=[F, F, F, F], inclusion_probabilities=[0.5, 0.5, 0.1, 0.1]
    )

    assert (estimate.value, estimate.ci_low) == (0.0, 0.0)
    assert estimate.ci_high == pytest.approx(0.5811, abs=1e-4)


def _population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """20,000 decisions: the 20 % the model is unsure of are wrong 25 % of the time and
    audited with probability 0.2, the rest are wrong 2 % of the time and audited with 0.01."""
    unsure = rng.random(20_000) < 0.2
    wrong = np.where(unsure, rng.random(20_000) < 0.25, rng.random(20_000) < 0.02)
    return wrong, np.where(unsure, 0.2, 0.01)


def test_the_weighted_estimate_lands_on_the_population_rate_where_the_plain_share_does_not():
    rng = np.random.default_rng(12)
    wrong, probability = _population(rng)
    truth = wrong.mean()  # about 0.2 * 0.25 + 0.8 * 0.02 = 0.066
    sampled = rng.random(wrong.size) < probability

    estimate = scorecard.weighted_error_rate(
        errors=wrong[sampled], inclusion_probabilities=probability[sampled]
    )

    # The sample is mostly unsure items (~800 of ~960), so its plain error share is ~0.2.
    assert wrong[sampled].mean() > 2 * truth
    assert estimate.value == pytest.approx(truth, abs=0.015)
    assert estimate.ci_low <= truth <= estimate.ci_high


def test_the_audit_interval_covers_the_truth_about_95_times_in_100():
    rng = np.random.default_rng(2026)
    wrong, probability = _population(rng)
    truth = wrong.mean()
    covered = 0
    for _ in range(400):
        sampled = rng.random(wrong.size) < probability
        estimate = scorecard.weighted_error_rate(
            errors=wrong[sampled], inclusion_probabilities=probability[sampled]
        )
        covered += estimate.ci_low <= truth <= estimate.ci_high

    assert 0.92 <= covered / 400 <= 0.98


def test_the_audit_sample_leaves_out_decisions_without_an_outcome():
    # Five audited decisions, two without an outcome yet; of the three labelled, the one error
    # (probability 1/2, weight 2) against weights 10 and 10: 2 / 22.
    sample = scorecard.audit_sample(
        errors=[T, None, F, F, None], inclusion_probabilities=[0.5, 0.5, 0.1, 0.1, 0.1]
    )

    answer = sample.as_dict()
    assert (answer["decisions"], answer["labelled"]) == (5, 3)
    assert answer["model_error_rate"] == pytest.approx(2 / 22)
    assert answer["ci_low"] < answer["model_error_rate"] < answer["ci_high"]


@pytest.mark.filterwarnings("error")
def test_an_audit_sample_with_nothing_labelled_has_no_rate():
    sample = scorecard.audit_sample(errors=[None, None], inclusion_probabilities=[0.5, 0.5])

    assert sample.as_dict() == {
        "decisions": 2,
        "labelled": 0,
        "model_error_rate": None,
        "ci_low": None,
        "ci_high": None,
    }
    assert scorecard.weighted_error_rate(errors=[], inclusion_probabilities=[]) == scorecard.NO_ESTIMATE


@pytest.mark.parametrize("probability", [0.0, -0.1, 1.5, math.nan])
def test_it_refuses_an_impossible_inclusion_probability(probability):
    with pytest.raises(ValueError):
        scorecard.weighted_error_rate(errors=[T], inclusion_probabilities=[probability])


# --- people ---------------------------------------------------------------------------


def test_accuracy_is_over_the_decisions_with_an_outcome():
    # Five decisions, four with an outcome: right, wrong, right, wrong -> 2/4.
    result = scorecard.accuracy(decided=[T, T, F, F, F], actual=[T, F, F, None, T])

    assert result.as_dict() == {"decisions": 5, "labelled": 4, "accuracy": 0.5}


@pytest.mark.filterwarnings("error")
def test_accuracy_without_outcomes_is_undefined():
    assert scorecard.accuracy(decided=[T], actual=[None]).accuracy is None
    assert scorecard.accuracy(decided=[], actual=[]).as_dict() == {
        "decisions": 0,
        "labelled": 0,
        "accuracy": None,
    }


@pytest.mark.filterwarnings("error")
def test_each_analyst_gets_accuracy_overrides_and_handling_time():
    # ana: an override the outcome proved right, an override it proved wrong, an agreement
    # still without an outcome, an agreement proved right -> 4 decisions, 3 labelled, 2 of 3
    # right, 2 overrides of which 1 right, median of 30, 50, 10, 40 seconds = 35.
    # ben: one override without an outcome and without a recorded time.
    summaries = scorecard.analyst_summary(
        reviewers=["ben", "ana", "ana", "ana", "ana"],
        decided=[F, T, F, T, F],
        model_predicted=[T, F, T, T, F],
        actual=[None, T, T, None, F],
        seconds=[None, 30.0, 50.0, 10.0, 40.0],
    )

    assert [summary.as_dict() for summary in summaries] == [
        {
            "reviewer": "ana",
            "decisions": 4,
            "labelled": 3,
            "accuracy": 2 / 3,
            "overrides": 2,
            "override_precision": 1 / 2,
            "median_seconds": 35.0,
        },
        {
            "reviewer": "ben",
            "decisions": 1,
            "labelled": 0,
            "accuracy": None,
            "overrides": 1,
            "override_precision": None,
            "median_seconds": None,
        },
    ]


def test_no_decisions_no_analysts():
    assert (
        scorecard.analyst_summary(reviewers=[], decided=[], model_predicted=[], actual=[], seconds=[]) == []
    )


# --- calibration ----------------------------------------------------------------------


def test_a_perfectly_calibrated_set_has_no_calibration_error():
    # 20 items in the middle of each bin: score 0.05 with 1 fraud, 0.15 with 3, ... 0.95 with
    # 19, so each bin's fraud rate is its score. Brier per bin is s(1 - s): k of 20 frauds
    # contribute (1 - s)² each, the other 20 - k contribute s² each, with k = 20s.
    scores, actual = [], []
    for bin_index in range(10):
        score = 0.05 + bin_index / 10
        frauds = round(20 * score)
        scores += [score] * 20
        actual += [True] * frauds + [False] * (20 - frauds)

    result = scorecard.calibration(scores=scores, actual=actual)

    middles = [0.05 + b / 10 for b in range(10)]
    assert result.ece == pytest.approx(0.0, abs=1e-12)
    assert result.brier == pytest.approx(np.mean([s * (1 - s) for s in middles]))
    assert [b.count for b in result.bins] == [20] * 10


def test_a_constant_score_is_off_by_its_distance_from_the_fraud_rate():
    # Everyone scored 0.2, half of them fraud: ECE = |0.2 - 0.5| = 0.3. Brier: 5 frauds at
    # (1 - 0.2)² = 0.64, 5 legit at 0.2² = 0.04 -> (3.2 + 0.2) / 10 = 0.34.
    result = scorecard.calibration(scores=[0.2] * 10, actual=[T] * 5 + [F] * 5)

    assert result.ece == pytest.approx(0.3)
    assert result.brier == pytest.approx(0.34)
    occupied = [b.as_dict() for b in result.bins if b.count]
    assert occupied == [
        {"lower": 0.2, "upper": 0.3, "count": 10, "mean_score": pytest.approx(0.2), "fraud_rate": 0.5}
    ]


def test_the_ends_of_the_score_range_fall_in_the_first_and_last_bins():
    result = scorecard.calibration(scores=[0.0, 1.0], actual=[F, T], bins=4)

    assert [(b.lower, b.upper, b.count) for b in result.bins] == [
        (0.0, 0.25, 1),
        (0.25, 0.5, 0),
        (0.5, 0.75, 0),
        (0.75, 1.0, 1),
    ]
    assert (result.ece, result.brier) == (0.0, 0.0)


@pytest.mark.filterwarnings("error")
def test_calibration_of_nothing_lists_empty_bins_and_no_scores():
    result = scorecard.calibration(scores=[], actual=[])

    assert (result.ece, result.brier) == (None, None)
    assert result.as_dict()["bins"][0] == {
        "lower": 0.0,
        "upper": 0.1,
        "count": 0,
        "mean_score": None,
        "fraud_rate": None,
    }
    assert len(result.bins) == 10


def test_calibration_refuses_a_score_outside_zero_to_one():
    with pytest.raises(ValueError, match=r"scores must be in \[0, 1\]"):
        scorecard.calibration(scores=[1.2], actual=[T])


# --- the threshold what-if ------------------------------------------------------------

# Four predictions: a legit item scored 0.9 and one scored 0.6 (both model false positives,
# confidence 0.9 and 0.6), a fraud scored 0.3 (missed, confidence 0.7), a legit one scored 0.05
# (right, confidence 0.95). Two days; 360 s a review, so each review a day is 0.1 hours a day.
TINY = {
    "scores": [0.9, 0.6, 0.3, 0.05],
    "actual": [F, F, T, F],
    "days": 2.0,
    "median_seconds": 360.0,
    "human_accuracy": 0.9,
    "cost_false_positive": 10.0,
    "cost_missed_fraud": 100.0,
}


def _row(what_if: scorecard.WhatIf, threshold: float) -> dict:
    return next(row.as_dict() for row in what_if.rows if row.threshold == threshold)


def test_the_what_if_works_out_the_cost_of_each_threshold():
    what_if = scorecard.threshold_what_if(**TINY, team_hours_per_day=8.0)

    # 0.50: nothing is reviewed; the model's 2 false positives and 1 miss stand: 20 + 100.
    assert _row(what_if, 0.5) == {
        "threshold": 0.5,
        "review_share": 0.0,
        "reviews_per_day": 0.0,
        "analyst_hours_per_day": 0.0,
        "model_false_positives": 2,
        "expected_false_positives": 2.0,
        "expected_missed_fraud": 1.0,
        "expected_cost": 120.0,
    }
    # 0.75: the 0.6 legit and the 0.3 fraud are reviewed (2 of 4, 1 a day, 0.1 h a day). The
    # 0.9 false positive stands, the reviewed legit one is wrongly stopped 10 % of the time:
    # 1 + 0.1; the reviewed fraud is missed 10 % of the time: 0.1. Cost 10·1.1 + 100·0.1 = 21.
    assert _row(what_if, 0.75) == pytest.approx(
        {
            "threshold": 0.75,
            "review_share": 0.5,
            "reviews_per_day": 1.0,
            "analyst_hours_per_day": 0.1,
            "model_false_positives": 2,
            "expected_false_positives": 1.1,
            "expected_missed_fraud": 0.1,
            "expected_cost": 21.0,
        }
    )
    # 0.99: all reviewed; review now also stops the sure legit one 10 % of the time: 3 legit
    # at 0.1 = 0.3 false positives, 0.1 missed -> 3 + 10 = 13, dearer than 0.91-0.95 (12).
    assert _row(what_if, 0.99)["expected_cost"] == pytest.approx(13.0)
    assert _row(what_if, 0.91)["expected_cost"] == pytest.approx(12.0)


def test_the_recommendation_is_the_cheapest_threshold_the_team_has_the_hours_for():
    # 0.91-0.95 review 3 items (0.15 h a day) at cost 12: the cheapest, lowest threshold wins.
    assert scorecard.threshold_what_if(**TINY, team_hours_per_day=1.0).recommended == 0.91
    # 0.1 h a day buys 2 reviews a day: 0.71-0.90 at cost 21 beat 0.61-0.70 (1 review, 111).
    assert scorecard.threshold_what_if(**TINY, team_hours_per_day=0.1).recommended == 0.71
    # No hours at all still affords 0.50, which reviews nothing.
    assert scorecard.threshold_what_if(**TINY, team_hours_per_day=0.0).recommended == 0.5
    assert scorecard.threshold_what_if(**TINY, team_hours_per_day=-1.0).recommended is None


def test_the_what_if_uses_the_models_labels_when_given():
    # Stored labels from a model whose threshold was 0.95: none of these was called fraud.
    what_if = scorecard.threshold_what_if(**TINY, team_hours_per_day=8.0, predicted=[F, F, F, F])

    assert _row(what_if, 0.5)["model_false_positives"] == 0
    assert _row(what_if, 0.5)["expected_missed_fraud"] == 1.0


def test_review_share_grows_with_the_threshold_and_the_pick_fits_the_budget():
    rng = np.random.default_rng(5)
    scores = rng.beta(0.5, 3.0, size=5_000)
    actual = rng.random(5_000) < scores  # calibrated by construction
    budget = 3.0

    what_if = scorecard.threshold_what_if(
        scores=scores,
        actual=actual,
        days=7.0,
        median_seconds=90.0,
        human_accuracy=0.95,
        cost_false_positive=5.0,
        cost_missed_fraud=200.0,
        team_hours_per_day=budget,
    )

    assert [row.threshold for row in what_if.rows] == [round(0.5 + i / 100, 2) for i in range(50)]
    shares = [row.review_share for row in what_if.rows]
    assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] > 0
    affordable = [row for row in what_if.rows if row.analyst_hours_per_day <= budget]
    assert len(affordable) < len(what_if.rows), "the budget should rule some thresholds out"
    chosen = _row(what_if, what_if.recommended)
    assert chosen["analyst_hours_per_day"] <= budget
    assert chosen["expected_cost"] == min(row.expected_cost for row in affordable)


@pytest.mark.filterwarnings("error")
def test_a_what_if_over_no_predictions_recommends_nothing():
    what_if = scorecard.threshold_what_if(**{**TINY, "scores": [], "actual": []}, team_hours_per_day=8.0)

    assert what_if.recommended is None
    assert len(what_if.rows) == 50
    assert {row.review_share for row in what_if.rows} == {None}
    assert {row.expected_cost for row in what_if.rows} == {0.0}


def test_the_what_if_refuses_a_window_without_days():
    with pytest.raises(ValueError, match="days must be positive"):
        scorecard.threshold_what_if(**{**TINY, "days": 0.0}, team_hours_per_day=8.0)


# --- the whole scorecard --------------------------------------------------------------


def _scorecard(*, actual: list, model: list, final: list, reviewed: list) -> scorecard.Scorecard:
    band = [i for i, was_reviewed in enumerate(reviewed) if was_reviewed]

    def pick(values: list) -> list:
        return [values[i] for i in band]

    return scorecard.Scorecard(
        overall=scorecard.label_comparison(model_predicted=model, final_predicted=final, actual=actual),
        reviewed_band=scorecard.label_comparison(
            model_predicted=pick(model), final_predicted=pick(final), actual=pick(actual)
        ),
        false_positive_reduction=scorecard.false_positive_reduction(
            model_fp_flags=[m and not a for m, a in zip(model, actual)],
            final_fp_flags=[f and not a for f, a in zip(final, actual)],
        ),
        audit_sample=scorecard.audit_sample(errors=[], inclusion_probabilities=[]),
        blind=scorecard.accuracy(decided=pick(final), actual=pick(actual)),
        sighted=scorecard.accuracy(decided=[], actual=[]),
        analysts=tuple(
            scorecard.analyst_summary(
                reviewers=["ana"] * len(band),
                decided=pick(final),
                model_predicted=pick(model),
                actual=pick(actual),
                seconds=[20.0] * len(band),
            )
        ),
        calibration=scorecard.calibration(scores=[0.9 if m else 0.1 for m in model], actual=actual),
    )


@pytest.mark.filterwarnings("error")
def test_the_scorecard_serves_the_specified_shape_as_strict_json():
    card = _scorecard(actual=[T, F, F, F], model=[T, T, T, F], final=[T, F, T, F], reviewed=[F, T, F, F])

    answer = json.loads(json.dumps(card.as_dict(), allow_nan=False))

    assert list(answer) == [
        "model",
        "final",
        "reviewed_band",
        "false_positive_reduction",
        "audit_sample",
        "blind",
        "sighted",
        "analysts",
        "calibration",
    ]
    assert (answer["model"]["false_positives"], answer["final"]["false_positives"]) == (2, 1)
    assert answer["reviewed_band"]["model"]["false_positives"] == 1
    assert answer["reviewed_band"]["final"]["false_positives"] == 0
    assert answer["false_positive_reduction"]["value"] == pytest.approx(1 / 2)
    assert answer["analysts"] == [
        {
            "reviewer": "ana",
            "decisions": 1,
            "labelled": 1,
            "accuracy": 1.0,
            "overrides": 1,
            "override_precision": 1.0,
            "median_seconds": 20.0,
        }
    ]
    assert set(answer["calibration"]) == {"ece", "brier", "bins"}


@pytest.mark.filterwarnings("error")
def test_an_empty_scorecard_is_all_none_where_undefined_and_still_strict_json():
    card = _scorecard(actual=[], model=[], final=[], reviewed=[])

    answer = json.loads(json.dumps(card.as_dict(), allow_nan=False))

    assert answer["model"]["precision"] is None
    assert answer["false_positive_reduction"] == {"value": None, "ci_low": None, "ci_high": None}
    assert answer["sighted"] == {"decisions": 0, "labelled": 0, "accuracy": None}
    assert answer["analysts"] == []
    assert (answer["calibration"]["ece"], answer["calibration"]["brier"]) == (None, None)


# --- purity ---------------------------------------------------------------------------


def test_the_scorecard_core_imports_neither_django_nor_the_project():
    program = """
import json, sys
from outcomes import scorecard
heavy = {"django", "celery", "rest_framework", "reviewapp", "audit", "predictions", "reviews",
         "monitoring", "scipy", "sklearn", "pandas"}
roots = {name.split(".")[0] for name in sys.modules}
siblings = {name for name in sys.modules if name.startswith("outcomes.")} - {"outcomes.scorecard"}
print(json.dumps(sorted((heavy & roots) | siblings)))
"""
    output = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout

    assert json.loads(output) == []
