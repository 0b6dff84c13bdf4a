"""The scorecard over stored predictions, reviews and outcomes, each figure worked out by hand.

One fortnight of fifteen predictions (the `fortnight` fixture) exercises every rule: automatic
decisions, low-confidence reviews sighted and blind, a review still pending, audit samples of
unequal inclusion probability, predictions without an outcome, and rows just outside the window.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from outcomes import quality, scorecard
from tests.outcomes.quality_factories import (
    AUDIT,
    EVERYTHING,
    FRAUD,
    IN_WEEK_2,
    LEGIT,
    LOW,
    decide,
    model_version,
    pending_item,
    prediction,
)

WINDOW = {"since": date(2026, 1, 12), "until": date(2026, 1, 25)}


def card(**window) -> dict:
    return quality.quality_scorecard(window=quality.quality_window(**{**WINDOW, **window}))


@pytest.fixture
def fortnight(db, make_user):
    """Fifteen predictions in the window (twelve with an outcome), and two just outside it.

    name  score  model  reviewed as                     decided  outcome  reviewer, seconds
    A1    0.95   fraud  automatic                       -        fraud
    A2    0.92   fraud  automatic                       -        legit
    A3    0.03   legit  automatic                       -        legit
    A4    0.02   legit  automatic                       -        fraud
    A5    0.01   legit  automatic (week 2)              -        -
    L1    0.70   fraud  low confidence, sighted         legit    legit    ana 60
    L2    0.60   fraud  low confidence, sighted         fraud    legit    ana 120
    L3    0.30   legit  low confidence, blind           fraud    fraud    ana 30
    L4    0.45   legit  low confidence, blind           fraud    legit    ben 10
    L5    0.55   fraud  review everything, sighted      legit    legit    ben 20
    L6    0.35   legit  low confidence, sighted         legit    -        ben 30
    P1    0.65   fraud  low confidence, pending         -        fraud
    S1    0.97   fraud  audit sample, π = 0.5           fraud    fraud    ana 40
    S2    0.04   legit  audit sample, π = 0.25          fraud    fraud    ben 50
    S3    0.05   legit  audit sample, π = 0.25 (wk 2)   legit    -        ben 70

    The twelve outcomes arrive 1, 2, ... 12 days after their prediction, each received a day later.
    """
    v1 = model_version(1)
    ana, ben = make_user("analyst", "ana"), make_user("analyst", "ben")
    delays = iter(range(1, 13))

    def made(score, outcome=None, **fields):
        if outcome is not None:
            days = next(delays)
            fields.update(occurred_after=timedelta(days=days), received_after=timedelta(days=days + 1))
        return prediction(version=v1, score=score, outcome=outcome, **fields)

    rows = {
        "A1": made(0.95, FRAUD),
        "A2": made(0.92, LEGIT),
        "A3": made(0.03, LEGIT),
        "A4": made(0.02, FRAUD),
        "A5": made(0.01, created_at=IN_WEEK_2),
        "L1": made(0.70, LEGIT, reason=LOW),
        "L2": made(0.60, LEGIT, reason=LOW),
        "L3": made(0.30, FRAUD, reason=LOW),
        "L4": made(0.45, LEGIT, reason=LOW),
        "L5": made(0.55, LEGIT, reason=EVERYTHING),
        "L6": made(0.35, reason=LOW),
        "P1": made(0.65, FRAUD, reason=LOW, pending=True),
        "S1": made(0.97, FRAUD, reason=AUDIT, inclusion_probability=0.5),
        "S2": made(0.04, FRAUD, reason=AUDIT, inclusion_probability=0.25),
        "S3": made(0.05, reason=AUDIT, inclusion_probability=0.25, created_at=IN_WEEK_2),
    }
    for name, reviewer, label, blind, seconds in [
        ("L1", ana, LEGIT, False, 60),
        ("L2", ana, FRAUD, False, 120),
        ("L3", ana, FRAUD, True, 30),
        ("L4", ben, FRAUD, True, 10),
        ("L5", ben, LEGIT, False, 20),
        ("L6", ben, LEGIT, False, 30),
        ("S1", ana, FRAUD, True, 40),
        ("S2", ben, FRAUD, True, 50),
        ("S3", ben, LEGIT, True, 70),
    ]:
        decide(rows[name], reviewer=reviewer, label=label, blind=blind, seconds=seconds)
    pending_item(rows["P1"])
    # Just outside the window, on either side: counted nowhere.
    for outside in (datetime(2026, 1, 11, 23, 59, 59, tzinfo=UTC), datetime(2026, 1, 26, tzinfo=UTC)):
        prediction(version=v1, score=0.9, outcome=LEGIT, created_at=outside)
    return rows


def test_it_counts_the_windows_predictions_and_those_with_an_outcome(fortnight):
    answer = card()

    assert answer["window"] == {
        "since": "2026-01-12",
        "until": "2026-01-25",
        "days": 14,
        "timezone": "UTC",
        "model_version": None,
    }
    assert (answer["predictions"], answer["labelled"]) == (15, 12)
    assert answer["label_coverage"] == pytest.approx(12 / 15)


def test_the_model_and_the_final_labels_are_counted_against_the_outcomes(fortnight):
    answer = card()

    # Model: TP A1 P1 S1; FP A2 L1 L2 L5; FN A4 L3 S2; TN A3 L4.
    assert answer["model"] == {
        "true_positives": 3,
        "false_positives": 4,
        "false_negatives": 3,
        "true_negatives": 2,
        "precision": 3 / 7,
        "recall": 3 / 6,
        "false_positive_rate": 4 / 6,
    }
    # Final: L1 and L5 turned to legit, L3 and L4 to fraud by their reviewers; P1 is still the
    # model's (pending), and so are the audit samples S1 and S2, whatever their reviewers said.
    assert answer["final"] == {
        "true_positives": 4,
        "false_positives": 3,
        "false_negatives": 2,
        "true_negatives": 3,
        "precision": 4 / 7,
        "recall": 4 / 6,
        "false_positive_rate": 3 / 6,
    }
    assert answer["pending_reviews"] == 1


def test_the_reviewed_band_is_the_decided_predictions_routed_to_review(fortnight):
    band = card()["reviewed_band"]

    # L1-L5: low confidence or review-everything, decided, with an outcome; not P1 (pending),
    # not L6 (no outcome), not the audit samples.
    assert band["model"] | {"precision": None} == {
        "true_positives": 0,
        "false_positives": 3,
        "false_negatives": 1,
        "true_negatives": 1,
        "precision": None,
        "recall": 0.0,
        "false_positive_rate": 3 / 4,
    }
    assert band["final"] == {
        "true_positives": 1,
        "false_positives": 2,
        "false_negatives": 0,
        "true_negatives": 2,
        "precision": 1 / 3,
        "recall": 1.0,
        "false_positive_rate": 2 / 4,
    }


def test_the_false_positive_reduction_counts_those_review_removed_and_added(fortnight):
    reduction = card()["false_positive_reduction"]

    # Model FPs A2 L1 L2 L5, final FPs A2 L2 L4: 2 removed, 2 kept, 1 added: (4 - 3) / 4.
    expected = scorecard.false_positive_reduction_counts(removed=2, kept=2, added=1, total=12)
    assert reduction["value"] == pytest.approx(0.25)
    assert reduction == pytest.approx(expected.as_dict())
    assert reduction["ci_low"] < 0.25 < reduction["ci_high"] <= 1


def test_the_audit_sample_weighs_each_decided_sample_by_its_inclusion_probability(fortnight):
    audit = card()["audit_sample"]

    # S1 right (weight 2), S2 wrong (weight 4), S3 without an outcome: 4 / 6, not the plain 1 / 2.
    expected = scorecard.weighted_error_rate(errors=[False, True], inclusion_probabilities=[0.5, 0.25])
    assert (audit["decisions"], audit["labelled"]) == (3, 2)
    assert audit["model_error_rate"] == pytest.approx(2 / 3)
    assert (audit["ci_low"], audit["ci_high"]) == pytest.approx((expected.ci_low, expected.ci_high))


def test_blind_and_sighted_accuracy_are_over_the_reviewed_bands_decisions(fortnight):
    answer = card()

    # Sighted: L1 right, L2 wrong, L5 right, L6 without an outcome. Blind: L3 right, L4 wrong.
    # The audit samples, blind as they are, measure the model and are left out.
    assert answer["sighted"] == {"decisions": 4, "labelled": 3, "accuracy": pytest.approx(2 / 3)}
    assert answer["blind"] == {"decisions": 2, "labelled": 2, "accuracy": 0.5}


def test_each_analyst_is_summarised_over_every_decision_in_the_window(fortnight):
    analysts = card()["analysts"]

    assert analysts == [
        # L1 L2 L3 S1: 3 of 4 right; overrides L1 and L3, both right; 60, 120, 30, 40 s.
        {
            "reviewer": "ana",
            "decisions": 4,
            "labelled": 4,
            "accuracy": 0.75,
            "overrides": 2,
            "override_precision": 1.0,
            "median_seconds": 50.0,
        },
        # L4 L5 L6 S2 S3: of L4 L5 S2, 2 right; overrides L4 (wrong), L5 and S2 (right).
        {
            "reviewer": "ben",
            "decisions": 5,
            "labelled": 3,
            "accuracy": pytest.approx(2 / 3),
            "overrides": 3,
            "override_precision": pytest.approx(2 / 3),
            "median_seconds": 30.0,
        },
    ]


def test_calibration_is_over_the_labelled_scores(fortnight):
    scores = [0.95, 0.92, 0.03, 0.02, 0.70, 0.60, 0.30, 0.45, 0.55, 0.65, 0.97, 0.04]
    frauds = [True, False, False, True, False, False, True, False, False, True, True, True]

    expected = scorecard.calibration(scores=scores, actual=frauds).as_dict()
    answer = card()["calibration"]
    assert (answer["ece"], answer["brier"]) == pytest.approx((expected["ece"], expected["brier"]))
    assert [(b["count"], b["fraud_rate"]) for b in answer["bins"]] == [
        (b["count"], b["fraud_rate"]) for b in expected["bins"]
    ]
    assert [b["mean_score"] for b in answer["bins"]] == pytest.approx(
        [b["mean_score"] for b in expected["bins"]]
    )
    # 0.02, 0.03 and 0.04 in the first bin, 0.92, 0.95, 0.97 in the last; 0.6 and 0.65 in the seventh.
    assert [b["count"] for b in answer["bins"]] == [3, 0, 0, 1, 1, 1, 2, 1, 0, 3]


def test_label_delay_is_the_median_days_to_the_outcome_and_to_its_receipt(fortnight):
    # Outcomes 1 to 12 days after their predictions, each received a day later.
    assert card()["label_delay"] == {
        "median_days_to_occurred": pytest.approx(6.5),
        "median_days_to_received": pytest.approx(7.5),
    }


def test_the_weekly_series_shows_how_much_of_each_week_is_labelled(fortnight):
    assert card()["weekly"] == [
        {
            "week": "2026-W03",
            "start": "2026-01-12",
            "predictions": 13,
            "labelled": 12,
            "label_coverage": 12 / 13,
        },
        {"week": "2026-W04", "start": "2026-01-19", "predictions": 2, "labelled": 0, "label_coverage": 0.0},
    ]


def test_a_window_that_starts_mid_week_lists_that_week_from_its_monday(fortnight):
    weeks = card(since=date(2026, 1, 14), until=date(2026, 1, 20))["weekly"]

    assert [(w["week"], w["start"], w["predictions"]) for w in weeks] == [
        ("2026-W03", "2026-01-12", 13),
        ("2026-W04", "2026-01-19", 2),
    ]


def test_one_model_versions_predictions_only(fortnight):
    v2 = model_version(2, active=False)
    prediction(version=v2, score=0.8, outcome=LEGIT)

    assert (card()["predictions"], card()["labelled"]) == (16, 13)
    only_v2 = card(model_version=2)
    assert only_v2["window"]["model_version"] == 2
    assert (only_v2["predictions"], only_v2["labelled"], only_v2["model"]["false_positives"]) == (1, 1, 1)
    assert only_v2["analysts"] == []


@pytest.mark.filterwarnings("error")
def test_an_empty_window_has_every_ratio_undefined(db):
    model_version(1)

    answer = card()

    assert (answer["predictions"], answer["labelled"], answer["label_coverage"]) == (0, 0, None)
    assert answer["model"]["precision"] is None and answer["final"]["recall"] is None
    assert answer["false_positive_reduction"] == {"value": None, "ci_low": None, "ci_high": None}
    assert answer["audit_sample"] == {
        "decisions": 0,
        "labelled": 0,
        "model_error_rate": None,
        "ci_low": None,
        "ci_high": None,
    }
    assert answer["blind"] == answer["sighted"] == {"decisions": 0, "labelled": 0, "accuracy": None}
    assert answer["analysts"] == []
    assert answer["calibration"]["ece"] is None and {b["count"] for b in answer["calibration"]["bins"]} == {0}
    assert answer["label_delay"] == {"median_days_to_occurred": None, "median_days_to_received": None}
    assert [w["label_coverage"] for w in answer["weekly"]] == [None, None]


def test_with_one_class_only_the_ratios_about_the_other_are_undefined(db):
    version = model_version(1)
    for score in (0.1, 0.2, 0.05):
        prediction(version=version, score=score, outcome=LEGIT)

    answer = card()

    assert answer["model"] == {
        "true_positives": 0,
        "false_positives": 0,
        "false_negatives": 0,
        "true_negatives": 3,
        "precision": None,
        "recall": None,
        "false_positive_rate": 0.0,
    }
    assert answer["false_positive_reduction"]["value"] is None


def test_a_decision_without_a_recorded_claim_has_no_handling_time(db, make_user):
    version = model_version(1)
    decide(
        prediction(version=version, score=0.6, reason=LOW),
        reviewer=make_user("analyst", "cy"),
        label=FRAUD,
        seconds=None,
    )

    assert card()["analysts"][0]["median_seconds"] is None


# --- the window -------------------------------------------------------------------------


def test_the_window_defaults_to_the_last_ninety_days_ending_today(db):
    window = quality.quality_window(today=date(2026, 3, 31))

    assert (window.since, window.until, window.days) == (date(2026, 1, 1), date(2026, 3, 31), 90)
    assert window.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert window.end == datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "window, field",
    [
        ({"since": date(2026, 2, 2), "until": date(2026, 2, 1)}, "since"),
        ({"since": date(2024, 1, 1), "until": date(2026, 1, 1)}, "since"),
        ({"model_version": 7}, "model_version"),
        ({"until": date(9999, 12, 31)}, "until"),
        ({"until": date(2026, 3, 3), "today": date(2026, 3, 1)}, "until"),
    ],
)
def test_it_refuses_a_window_it_cannot_read_naming_the_field(db, window, field):
    with pytest.raises(quality.InvalidWindow) as refused:
        quality.quality_window(**window)

    assert list(refused.value.errors) == [field]


def test_a_window_may_end_tomorrow_for_callers_ahead_of_utc(db):
    window = quality.quality_window(until=date(2026, 3, 2), today=date(2026, 3, 1))

    assert window.until == date(2026, 3, 2)


def test_a_window_of_exactly_the_maximum_is_accepted(db):
    until = date(2026, 1, 1)
    window = quality.quality_window(since=until - timedelta(days=quality.MAX_DAYS - 1), until=until)

    assert window.days == quality.MAX_DAYS
