"""The threshold what-if over stored predictions: volumes from all, errors scaled from the labelled,
human accuracy and handling time measured on the window's decisions (or said to be assumed)."""

from datetime import UTC, date, datetime

import pytest

from outcomes import quality
from tests.outcomes.quality_factories import AUDIT, FRAUD, LEGIT, LOW, decide, model_version, prediction

WINDOW = {"since": date(2026, 1, 12), "until": date(2026, 1, 25)}  # 14 days, long past


def what_if(**parameters) -> dict:
    return quality.quality_what_if(window=quality.quality_window(**WINDOW), **parameters)


def row(answer: dict, threshold: float) -> dict:
    return next(r for r in answer["thresholds"] if r["threshold"] == threshold)


@pytest.fixture
def forty(db):
    """40 predictions, 8 with an outcome: 10 called fraud at 0.60 (2 labelled, 1 fraud) and 30
    called legit at 0.02 (6 labelled, 1 fraud). Scaled: 5 false positives, 5 missed frauds."""
    version = model_version(1, threshold=0.85)
    for n in range(10):
        prediction(version=version, score=0.60, outcome={0: FRAUD, 1: LEGIT}.get(n))
    for n in range(30):
        prediction(version=version, score=0.02, outcome={0: FRAUD}.get(n, LEGIT if n < 6 else None))
    return version


def test_reviews_a_day_count_every_prediction_not_only_the_labelled(forty):
    answer = what_if()

    assert (answer["predictions"], answer["labelled"]) == (40, 8)
    assert row(answer, 0.5)["reviews_per_day"] == 0.0
    assert row(answer, 0.61)["reviews_per_day"] == pytest.approx(10 / 14)
    assert row(answer, 0.99)["reviews_per_day"] == pytest.approx(40 / 14)
    assert row(answer, 0.99)["review_share"] == 1.0


def test_errors_and_cost_are_estimated_for_every_prediction_from_the_labelled(forty):
    answer = what_if(cost_false_positive=10.0, cost_missed_fraud=100.0)

    # Nothing reviewed: 5 of the 10 called fraud are legitimate, 5 of the 30 called legit frauds.
    assert row(answer, 0.5) == {
        "threshold": 0.5,
        "review_share": 0.0,
        "reviews_per_day": 0.0,
        "analyst_hours_per_day": 0.0,
        "model_false_positives": 5.0,
        "expected_false_positives": 5.0,
        "expected_missed_fraud": 5.0,
        "expected_cost": 550.0,
    }
    # Everything reviewed, decided right 90 % of the time (assumed: no decisions here), 120 s each.
    assert row(answer, 0.99) == pytest.approx(
        {
            "threshold": 0.99,
            "review_share": 1.0,
            "reviews_per_day": 40 / 14,
            "analyst_hours_per_day": 40 / 14 * 120 / 3600,
            "model_false_positives": 5.0,
            "expected_false_positives": 0.1 * 5 + 0.1 * 25,
            "expected_missed_fraud": 0.1 * 10,
            "expected_cost": 10 * 3.0 + 100 * 1.0,
        }
    )
    assert answer["recommended"] == 0.99
    assert answer["parameters"] == {
        "analyst_hours_per_day": quality.DEFAULT_ANALYST_HOURS_PER_DAY,
        "cost_false_positive": 10.0,
        "cost_missed_fraud": 100.0,
    }


def test_without_decisions_it_says_the_human_figures_are_assumed(forty):
    assert what_if()["assumptions"] == {
        "human_accuracy": quality.ASSUMED_HUMAN_ACCURACY,
        "human_accuracy_measured": False,
        "median_seconds": quality.ASSUMED_MEDIAN_SECONDS,
        "median_seconds_measured": False,
        "measured": False,
        "decisions": 0,
        "labelled_decisions": 0,
    }


def test_human_accuracy_and_handling_time_are_measured_on_the_reviewed_bands_decisions(forty, make_user):
    ana = make_user("analyst", "ana")
    for label, outcome, seconds in [
        (FRAUD, FRAUD, 30),
        (LEGIT, LEGIT, 60),
        (FRAUD, FRAUD, 90),
        (FRAUD, LEGIT, 600),
    ]:
        decide(
            prediction(version=forty, score=0.7, outcome=outcome, reason=LOW),
            reviewer=ana,
            label=label,
            seconds=seconds,
        )
    decide(
        prediction(version=forty, score=0.7, reason=LOW), reviewer=ana, label=FRAUD, seconds=45
    )  # no outcome
    # An audit sample's review measures the model, not the band: left out of both figures.
    audit = prediction(version=forty, score=0.99, outcome=LEGIT, reason=AUDIT, inclusion_probability=0.1)
    decide(audit, reviewer=ana, label=FRAUD, seconds=5000)

    answer = what_if()

    assert answer["assumptions"] == {
        "human_accuracy": 0.75,
        "human_accuracy_measured": True,
        "median_seconds": 60.0,
        "median_seconds_measured": True,
        "measured": True,
        "decisions": 5,
        "labelled_decisions": 4,
    }
    # 45 below 0.99: the 40, the 5 decided ones; not the audit sample at 0.99.
    assert row(answer, 0.99)["analyst_hours_per_day"] == pytest.approx(45 / 14 * 60 / 3600)


def test_the_recommendation_is_the_cheapest_the_teams_hours_can_staff(forty):
    # Reviewing everything (0.99) needs 40/14 reviews a day at 120 s: 0.095 h; 0.61-0.98 review
    # the ten at 0.60 only: 0.024 h. At 5 a false positive and 100 a miss, those ten cost more
    # reviewed (0.5 stopped, 5.5 missed: 552.5) than not (5 stopped, 5 missed: 525).
    assert what_if(analyst_hours_per_day=1.0)["recommended"] == 0.99
    assert what_if(analyst_hours_per_day=0.05)["recommended"] == 0.5
    # At 100 a false positive reviewing them pays (600 against 1,000).
    assert what_if(analyst_hours_per_day=0.05, cost_false_positive=100.0)["recommended"] == 0.61
    assert what_if(analyst_hours_per_day=0.0, cost_false_positive=100.0)["recommended"] == 0.5


def test_it_names_the_active_model_and_its_threshold(forty):
    assert what_if()["active_model"] == {"version": 1, "review_threshold": 0.85}


def test_a_window_without_outcomes_has_volumes_and_no_estimates(db):
    version = model_version(1)
    for _ in range(3):
        prediction(version=version, score=0.6)

    answer = what_if()

    assert row(answer, 0.99)["reviews_per_day"] == pytest.approx(3 / 14)
    assert {r["expected_cost"] for r in answer["thresholds"]} == {None}
    assert answer["recommended"] is None


def test_reviews_a_day_are_over_the_part_of_the_window_that_has_passed(db):
    window = quality.quality_window(since=date(2026, 1, 1), until=date(2026, 1, 10))
    halfway_through_the_last_day = datetime(2026, 1, 10, 12, tzinfo=UTC)

    assert window.elapsed_days(halfway_through_the_last_day) == 9.5
    assert window.elapsed_days(datetime(2026, 3, 1, tzinfo=UTC)) == 10.0
