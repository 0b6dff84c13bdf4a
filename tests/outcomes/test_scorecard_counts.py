"""The statistics from counts, as the database gives them, and the what-if over strata.

Each count-based entry point agrees with its row-based twin on the same data, and refuses
counts that cannot be; the stratified what-if is worked out by hand.
"""

import numpy as np
import pytest

from outcomes import scorecard
from outcomes.scorecard import Stratum

T, F = True, False


# --- counts agree with rows -----------------------------------------------------------


def test_the_reduction_from_counts_is_the_reduction_from_flags():
    model = [T, T, T, T, F, F, F, F]
    final = [F, F, T, F, T, F, F, F]

    from_flags = scorecard.false_positive_reduction(model_fp_flags=model, final_fp_flags=final)
    from_counts = scorecard.false_positive_reduction_counts(removed=3, kept=1, added=1, total=8)

    assert from_counts == from_flags
    assert from_counts.value == pytest.approx((3 - 1) / 4)


@pytest.mark.parametrize(
    "counts",
    [{"removed": -1, "kept": 1, "added": 0, "total": 2}, {"removed": 2, "kept": 1, "added": 1, "total": 3}],
)
def test_the_reduction_refuses_impossible_counts(counts):
    with pytest.raises(ValueError, match="impossible counts"):
        scorecard.false_positive_reduction_counts(**counts)


def test_accuracy_from_counts_is_right_over_labelled():
    assert scorecard.accuracy_counts(decisions=5, labelled=4, right=3).as_dict() == {
        "decisions": 5,
        "labelled": 4,
        "accuracy": 0.75,
    }
    assert scorecard.accuracy_counts(decisions=2, labelled=0, right=0).accuracy is None
    with pytest.raises(ValueError):
        scorecard.accuracy_counts(decisions=2, labelled=3, right=1)


def test_an_analyst_summary_from_counts_is_the_one_from_rows():
    rows = scorecard.analyst_summary(
        reviewers=["ana"] * 4,
        decided=[F, T, F, T],
        model_predicted=[T, F, T, T],
        actual=[T, T, F, None],
        seconds=[30.0, 50.0, 10.0, 40.0],
    )
    counts = scorecard.analyst_summary_counts(
        scorecard.AnalystCounts(
            reviewer="ana",
            decisions=4,
            labelled=3,
            right=2,
            overrides=3,
            labelled_overrides=3,
            right_overrides=2,
            median_seconds=35.0,
        )
    )

    assert [counts] == rows


def test_an_analyst_summary_refuses_more_right_overrides_than_overrides():
    impossible = scorecard.AnalystCounts("ana", 4, 3, 2, 1, 1, 2, None)

    with pytest.raises(ValueError, match="impossible counts"):
        scorecard.analyst_summary_counts(impossible)


def test_calibration_from_sums_is_calibration_from_scores():
    rng = np.random.default_rng(3)
    scores = rng.random(500)
    actual = rng.random(500) < scores
    index = scorecard.calibration_bin(scores)

    from_sums = scorecard.calibration_sums(
        counts=np.bincount(index, minlength=10),
        score_sums=np.bincount(index, weights=scores, minlength=10),
        fraud_sums=np.bincount(index, weights=actual.astype(float), minlength=10),
        squared_error_sum=float(np.sum((scores - actual) ** 2)),
    )

    assert from_sums == scorecard.calibration(scores=scores, actual=actual)


def test_calibration_from_sums_refuses_a_negative_count():
    with pytest.raises(ValueError):
        scorecard.calibration_sums(counts=[-1], score_sums=[0.0], fraud_sums=[0.0], squared_error_sum=0.0)


# --- the threshold buckets ------------------------------------------------------------


def test_a_confidence_on_a_threshold_is_not_reviewed_at_that_threshold():
    # 0.57 * 100 is 56.99999999999999 in floating point: arithmetic would put it a bucket low.
    buckets = scorecard.threshold_bucket([0.5, 0.57, 0.5699, 0.985, 0.99, 1.0])

    assert buckets.tolist() == [1, 8, 7, 49, 50, 50]
    thresholds = scorecard.WHAT_IF_THRESHOLDS
    assert thresholds[8] == 0.58 and thresholds[7] == 0.57  # 0.57 is reviewed from 0.58 up


# --- the what-if over strata ----------------------------------------------------------

# Forty predictions over four days; the labelled ones are a minority, unevenly.
# - 10 called fraud at confidence 0.60 (bucket 11: reviewed from 0.61), 2 labelled, 1 a fraud:
#   estimated 5 frauds and 5 legitimate, 5 of them false positives of the model's.
# - 30 called legit at confidence 0.98 (bucket 49: reviewed only at 0.99), 6 labelled, 1 fraud:
#   estimated 5 frauds the model misses.
STRATA = [Stratum(11, True, 10, 2, 1), Stratum(49, False, 30, 6, 1)]
WHAT_IF = {
    "days": 4.0,
    "median_seconds": 180.0,
    "human_accuracy": 0.9,
    "cost_false_positive": 10.0,
    "cost_missed_fraud": 100.0,
    "team_hours_per_day": 8.0,
}


def _row(what_if: scorecard.WhatIf, threshold: float) -> dict:
    return next(row.as_dict() for row in what_if.rows if row.threshold == threshold)


def test_volumes_count_every_prediction_and_errors_are_scaled_from_the_labelled():
    what_if = scorecard.threshold_what_if_strata(strata=STRATA, **WHAT_IF)

    # 0.50: nothing reviewed; 5 false positives, 5 missed frauds: 50 + 500.
    assert _row(what_if, 0.5) == {
        "threshold": 0.5,
        "review_share": 0.0,
        "reviews_per_day": 0.0,
        "analyst_hours_per_day": 0.0,
        "model_false_positives": 5.0,
        "expected_false_positives": 5.0,
        "expected_missed_fraud": 5.0,
        "expected_cost": 550.0,
    }
    # 0.61: the ten at 0.60 are reviewed, 2.5 a day at 3 minutes: 0.125 h. A tenth of their
    # 5 legitimate are still stopped, a tenth of their 5 frauds missed; the 5 others still missed.
    assert _row(what_if, 0.61) == pytest.approx(
        {
            "threshold": 0.61,
            "review_share": 0.25,
            "reviews_per_day": 2.5,
            "analyst_hours_per_day": 0.125,
            "model_false_positives": 5.0,
            "expected_false_positives": 0.5,
            "expected_missed_fraud": 5.5,
            "expected_cost": 555.0,
        }
    )
    # 0.99: all forty reviewed (10 a day, 0.5 h): 0.5 + 2.5 false positives, 0.5 + 0.5 missed.
    assert _row(what_if, 0.99) == pytest.approx(
        {
            "threshold": 0.99,
            "review_share": 1.0,
            "reviews_per_day": 10.0,
            "analyst_hours_per_day": 0.5,
            "model_false_positives": 5.0,
            "expected_false_positives": 3.0,
            "expected_missed_fraud": 1.0,
            "expected_cost": 130.0,
        }
    )
    assert what_if.recommended == 0.99
    assert (what_if.predictions, what_if.labelled, what_if.pooled_predictions) == (40, 8, 0)


def test_the_recommendation_fits_the_teams_hours():
    what_if = scorecard.threshold_what_if_strata(strata=STRATA, **{**WHAT_IF, "team_hours_per_day": 0.2})

    # 0.99 needs 0.5 h a day; 0.61-0.98 need 0.125 h at 555; 0.50-0.60 none at 550: the cheapest affordable.
    assert what_if.recommended == 0.5


def test_a_stratum_without_outcomes_takes_its_labels_overall_rate():
    strata = [*STRATA, Stratum(30, False, 20, 0, 0)]  # legit at 0.80, nothing labelled yet

    what_if = scorecard.threshold_what_if_strata(strata=strata, **WHAT_IF)

    # The legit label's labelled rate is 1 in 6: the 20 count for 20/6 frauds missed.
    assert _row(what_if, 0.5)["expected_missed_fraud"] == pytest.approx(5 + 20 / 6)
    assert what_if.pooled_predictions == 20


def test_without_any_outcome_for_a_label_nothing_is_estimated():
    strata = [Stratum(11, True, 10, 0, 0), Stratum(49, False, 30, 6, 1)]

    what_if = scorecard.threshold_what_if_strata(strata=strata, **WHAT_IF)

    assert {row.expected_cost for row in what_if.rows} == {None}
    assert what_if.recommended is None
    assert _row(what_if, 0.99)["reviews_per_day"] == 10.0  # volumes stand without outcomes


def test_strata_the_rows_make_give_the_rows_what_if():
    rng = np.random.default_rng(8)
    scores = rng.beta(0.6, 3.0, size=2_000)
    actual = rng.random(2_000) < scores
    confidence = np.maximum(scores, 1 - scores)
    buckets = scorecard.threshold_bucket(confidence)
    said = scores >= 0.5
    strata = [
        Stratum(int(b), bool(m), int(n), int(n), int(np.sum(actual[(buckets == b) & (said == m)])))
        for b in np.unique(buckets)
        for m in (True, False)
        if (n := np.sum((buckets == b) & (said == m)))
    ]
    common = {**WHAT_IF, "team_hours_per_day": 3.0}

    assert scorecard.threshold_what_if_strata(strata=strata, **common) == scorecard.threshold_what_if(
        scores=scores, actual=actual, **common
    )


def test_the_what_if_refuses_thresholds_out_of_order_and_impossible_strata():
    with pytest.raises(ValueError, match="ascending"):
        scorecard.threshold_what_if_strata(strata=STRATA, thresholds=[0.9, 0.8], **WHAT_IF)
    with pytest.raises(ValueError, match="fraud <= labelled <= predictions"):
        scorecard.threshold_what_if_strata(strata=[Stratum(3, True, 2, 3, 1)], **WHAT_IF)
