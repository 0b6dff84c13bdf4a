"""Retraining from what the product learned (`train_model --from-outcomes`, lifecycle/retraining.py).

The label assembly is pure, so most of its rules are checked on constructed candidates whose
right answer is known; the read and the command run on a small stored history.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from lifecycle import retraining
from lifecycle.retraining import Candidate, ReportedLabel, RetrainRefused, training_set_assemble
from predictions import model_card, registry
from predictions.models import ModelVersion, Prediction
from tests.lifecycle.retrain_history import history, outcome_of, reviewed, stored

FRAUD, LEGIT = "fraud", "legit"
LOW, AUDIT = "low_confidence", "audit_sample"
SCHEMA = [{"name": "amount", "type": "float"}]
START = datetime(2026, 9, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
_ids = itertools.count(1)
REAL_MINIMUMS = {
    name: getattr(retraining, name) for name in ("MIN_TRAINING_ROWS", "MIN_HOLDOUT_ROWS", "MIN_CLASS_ROWS")
}


@pytest.fixture(autouse=True)
def small_minimums(monkeypatch):
    # The rules, not the sizes, are under test here; the command's test keeps real sizes.
    monkeypatch.setattr(retraining, "MIN_TRAINING_ROWS", 4)
    monkeypatch.setattr(retraining, "MIN_HOLDOUT_ROWS", 1)
    monkeypatch.setattr(retraining, "MIN_CLASS_ROWS", 1)


def candidate(
    hour: int,
    *,
    outcome: str | None = None,
    outcome_after: timedelta = HOUR,
    review: str | None = None,
    review_after: timedelta = HOUR,
    reason: str | None = None,
    inclusion_probability: float | None = None,
    features: dict | None = None,
    outcomes: tuple[ReportedLabel, ...] = (),
) -> Candidate:
    created_at = START + hour * HOUR
    reported = outcomes or (
        (ReportedLabel(outcome, created_at + outcome_after, created_at),) if outcome else ()
    )
    return Candidate(
        prediction_id=next(_ids),
        created_at=created_at,
        features=features if features is not None else {"amount": float(hour)},
        review_reason=reason,
        inclusion_probability=inclusion_probability
        if inclusion_probability is not None
        else (1.0 if reason else None),
        outcomes=reported,
        review=ReportedLabel(review, created_at + review_after) if review else None,
    )


def assemble(candidates: list[Candidate], *, include_reviews: bool = False) -> retraining.TrainingSet:
    return training_set_assemble(
        candidates=candidates, schema=SCHEMA, include_reviews=include_reviews, holdout_fraction=0.2
    )


def alternating(count: int, *, first_hour: int = 0, **options) -> list[Candidate]:
    """`count` candidates an hour apart, fraud and legit by turns, their outcomes known an hour on."""
    return [candidate(first_hour + n, outcome=FRAUD if n % 2 else LEGIT, **options) for n in range(count)]


# --- labels --------------------------------------------------------------------------------


def test_an_outcome_is_preferred_over_the_analysts_label():
    rows = [*alternating(9), candidate(9, outcome=FRAUD, review=LEGIT)]

    assembled = assemble(rows, include_reviews=True)

    assert assembled.rows[-1].fraud is True
    assert assembled.rows[-1].source == "outcome"


def test_the_analysts_label_is_used_only_when_asked():
    reviewed = [candidate(n, review=FRAUD if n % 2 else LEGIT, reason=LOW) for n in range(10, 14)]

    without = assemble(alternating(10) + reviewed)
    with_reviews = assemble(alternating(10) + reviewed, include_reviews=True)

    assert len(without.rows) == 10
    assert {row.source for row in without.rows} == {"outcome"}
    assert len(with_reviews.rows) == 14
    assert [row.source for row in with_reviews.rows[-4:]] == ["review"] * 4
    assert with_reviews.provenance["holdout_labels"]["review"] == {FRAUD: 2, LEGIT: 1}


def test_the_effective_outcome_is_the_latest_by_when_it_happened():
    created = START + 9 * HOUR
    confirmed_then_charged_back = candidate(
        9,
        outcomes=(
            ReportedLabel(FRAUD, created + 5 * HOUR, occurred_at=created + 4 * HOUR),
            ReportedLabel(LEGIT, created + 2 * HOUR, occurred_at=created + HOUR),
        ),
    )

    assembled = assemble([*alternating(9), confirmed_then_charged_back])

    assert assembled.rows[-1].fraud is True


def test_audit_samples_labelled_by_their_review_stand_for_the_decisions_they_were_drawn_from():
    sample = candidate(3, review=FRAUD, reason=AUDIT, inclusion_probability=0.05)
    low_confidence = candidate(4, review=LEGIT, reason=LOW)
    sample_with_outcome = candidate(5, outcome=FRAUD, review=FRAUD, reason=AUDIT, inclusion_probability=0.05)
    rows = [*alternating(3), sample, low_confidence, sample_with_outcome, *alternating(4, first_hour=6)]

    assembled = assemble(rows, include_reviews=True)

    weights = [row.weight for row in assembled.training]
    assert weights[3:6] == [pytest.approx(20.0), 1.0, 1.0]
    assert weights[:3] == [1.0, 1.0, 1.0]
    assert assembled.provenance["training_weighted_rows"] == pytest.approx(27.0)


# --- the time-ordered holdout and no future leakage -------------------------------------------


def test_the_newest_fifth_is_the_holdout_and_its_first_row_fixes_the_split_time():
    rows = alternating(10)

    assembled = assemble(list(reversed(rows)))  # any order in, time order out

    assert [row.features["amount"] for row in assembled.rows] == [float(n) for n in range(10)]
    assert len(assembled.holdout) == 2
    assert assembled.split_at == START + 8 * HOUR
    assert assembled.provenance["split_at"] == (START + 8 * HOUR).isoformat()


def test_a_training_label_that_arrived_after_the_split_time_is_not_used():
    # Ten labelled rows an hour apart: the holdout starts with the row made at hour 8.
    rows = alternating(6)
    known_in_time = candidate(6, outcome=LEGIT, outcome_after=2 * HOUR)  # known at hour 8: kept
    arrived_late = candidate(7, outcome=FRAUD, outcome_after=2 * HOUR)  # known at hour 9: dropped
    holdout = [candidate(8, outcome=FRAUD, outcome_after=30 * HOUR), candidate(9, outcome=LEGIT)]

    assembled = assemble([*rows, known_in_time, arrived_late, *holdout])

    assert assembled.split_at == START + 8 * HOUR
    assert [row.features["amount"] for row in assembled.training] == [0, 1, 2, 3, 4, 5, 6]
    # Holdout rows take the label known now, however late it came.
    assert [row.features["amount"] for row in assembled.holdout] == [8, 9]
    assert assembled.provenance["excluded_late_labels"] == 1
    assert assembled.provenance["training_rows"] == 7


def test_a_training_row_takes_the_label_known_at_the_split_time_not_a_later_one():
    created = START + 5 * HOUR
    relabelled_later = candidate(
        5,
        outcomes=(
            ReportedLabel(LEGIT, created + HOUR, occurred_at=created + HOUR),
            ReportedLabel(FRAUD, created + 100 * HOUR, occurred_at=created + 99 * HOUR),
        ),
    )
    rows = [*alternating(5), relabelled_later, *alternating(4, first_hour=6)]

    assembled = assemble(rows)

    assert assembled.training[5].features == {"amount": 5.0}
    assert assembled.training[5].fraud is False


def test_a_review_decided_after_the_split_time_is_not_used_for_training():
    decided_late = candidate(7, review=FRAUD, reason=LOW, review_after=5 * HOUR)
    rows = [*alternating(7), decided_late, *alternating(2, first_hour=8)]

    assembled = assemble(rows, include_reviews=True)

    assert len(assembled.training) == 7
    assert assembled.provenance["excluded_late_labels"] == 1


def test_rows_scored_with_other_features_are_left_out():
    other = candidate(3, outcome=FRAUD, features={"distance": 3.0})

    assembled = assemble([*alternating(10), other])

    assert len(assembled.rows) == 10
    assert assembled.provenance["excluded_other_features"] == 1


def test_the_provenance_counts_labels_by_source_and_class():
    assembled = assemble(alternating(10))

    assert assembled.provenance == {
        "include_reviews": False,
        "first_prediction_at": START.isoformat(),
        "last_prediction_at": (START + 9 * HOUR).isoformat(),
        "split_at": (START + 8 * HOUR).isoformat(),
        "training_rows": 8,
        "holdout_rows": 2,
        "training_weighted_rows": 8.0,
        "training_labels": {"outcome": {FRAUD: 4, LEGIT: 4}, "review": {FRAUD: 0, LEGIT: 0}},
        "holdout_labels": {"outcome": {FRAUD: 1, LEGIT: 1}, "review": {FRAUD: 0, LEGIT: 0}},
        "excluded_late_labels": 0,
        "excluded_other_features": 0,
    }


# --- refusals ----------------------------------------------------------------------------


def test_it_refuses_too_few_labelled_rows(monkeypatch):
    monkeypatch.setattr(retraining, "MIN_TRAINING_ROWS", 20)

    with pytest.raises(RetrainRefused, match="only 8 labelled training rows: need at least 20"):
        assemble(alternating(10))


def test_it_refuses_no_labelled_rows_at_all():
    with pytest.raises(RetrainRefused, match="only 0 labelled predictions in the window"):
        assemble([candidate(1), candidate(2)])


def test_it_refuses_training_rows_of_one_label():
    rows = [candidate(n, outcome=LEGIT) for n in range(8)] + alternating(2, first_hour=8)

    with pytest.raises(RetrainRefused, match="only 0 fraud rows in the training rows"):
        assemble(rows)


def test_it_refuses_a_holdout_of_one_label():
    rows = [*alternating(8), candidate(8, outcome=FRAUD), candidate(9, outcome=FRAUD)]

    with pytest.raises(RetrainRefused, match="only 0 legit rows in the holdout rows"):
        assemble(rows)


# --- the read ------------------------------------------------------------------------------


def test_automatic_decisions_are_never_labels(active_model, make_user):
    features = {"amount": 1.0}
    automatic = stored(active_model, features=features, created_at=START, label=FRAUD)
    with_outcome = stored(active_model, features=features, created_at=START + HOUR)
    outcome_of(with_outcome, FRAUD, received_at=START + 2 * HOUR)
    sample = stored(
        active_model, features=features, created_at=START + 2 * HOUR, reason=AUDIT, inclusion_probability=0.1
    )
    reviewed(sample, LEGIT, reviewer=make_user("analyst"), decided_at=START + 3 * HOUR)

    found = retraining.retraining_candidates(since=START, until=START + 10 * HOUR, include_reviews=True)

    assert automatic.pk not in {c.prediction_id for c in found}
    assert [(c.prediction_id, [o.label for o in c.outcomes], c.review) for c in found] == [
        (with_outcome.pk, [FRAUD], None),
        (sample.pk, [], ReportedLabel(LEGIT, START + 3 * HOUR)),
    ]
    assert found[1].review_reason == AUDIT
    assert found[1].inclusion_probability == 0.1


def test_the_read_takes_reviews_only_when_asked_and_only_the_window(active_model, make_user):
    features = {"amount": 1.0}
    low = stored(active_model, features=features, created_at=START, reason=LOW)
    reviewed(low, FRAUD, reviewer=make_user("analyst"), decided_at=START + HOUR)
    before = stored(active_model, features=features, created_at=START - HOUR)
    outcome_of(before, FRAUD, received_at=START)

    assert retraining.retraining_candidates(since=START, until=START + HOUR, include_reviews=False) == []
    found = retraining.retraining_candidates(since=START, until=START + HOUR, include_reviews=True)
    assert [c.prediction_id for c in found] == [low.pk]


# --- the command, end to end ------------------------------------------------------------------


def train(*args, **options) -> str:
    out = StringIO()
    call_command("train_model", *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def real_minimums(monkeypatch):
    for name, value in REAL_MINIMUMS.items():
        monkeypatch.setattr(retraining, name, value)


def test_train_model_from_outcomes_registers_a_staged_version_that_scores(
    active_model, make_user, transactions, real_minimums
):
    history(active_model, rows=400, reviewer=make_user("analyst"))
    since = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()

    output = train("--from-outcomes", "--since", since, "--include-reviews", "--seed", "4")

    version = ModelVersion.objects.get(version=active_model.version + 1)
    assert f"registered card-fraud v{version.version}" in output
    assert version.status == ModelVersion.Status.STAGED
    assert ModelVersion.objects.get(pk=active_model.pk).status == ModelVersion.Status.ACTIVE
    info = version.training_info
    assert info["source"] == "outcomes"
    assert info["include_reviews"] is True
    assert info["active_version"] == active_model.version
    assert info["since"] == f"{since}T00:00:00+00:00"
    assert info["training_rows"] + info["holdout_rows"] + info["excluded_late_labels"] == 400
    # Outcomes take a day: the training rows of the last day before the split had none yet.
    assert 20 <= info["excluded_late_labels"] <= 24
    assert info["holdout_rows"] == 80
    assert sum(info["training_labels"]["review"].values()) > 0
    assert version.metrics["roc_auc"] > 0.7
    scorer = registry.load_version(version)
    assert 0.0 <= scorer.score(transactions(3))[0].score <= 1.0


def test_train_model_from_outcomes_refuses_too_little_history(active_model, real_minimums):
    history(active_model, rows=30)

    with pytest.raises(CommandError, match=r"only \d+ labelled training rows: need at least 100"):
        train(from_outcomes=True)
    assert ModelVersion.objects.count() == 1


def test_train_model_from_outcomes_needs_an_active_version(register_model):
    register_model(activate=False)

    with pytest.raises(CommandError, match="no model version is active"):
        train(from_outcomes=True)


def test_train_model_from_outcomes_never_activates(db):
    with pytest.raises(CommandError, match="--from-outcomes never activates"):
        train(from_outcomes=True, activate=True)


def test_the_retraining_flags_need_from_outcomes(db):
    with pytest.raises(CommandError, match="--include-reviews goes with --from-outcomes"):
        train(include_reviews=True, rows=100)


def test_train_model_from_outcomes_refuses_a_bad_date(db):
    with pytest.raises(CommandError, match="not a date"):
        train("--from-outcomes", "--since", "last tuesday")


def test_train_model_from_outcomes_can_start_the_new_version_shadowing(active_model, real_minimums):
    history(active_model, rows=300)

    train(from_outcomes=True, shadow=True)

    version = ModelVersion.objects.get(version=active_model.version + 1)
    assert version.status == ModelVersion.Status.SHADOW
    assert version.shadow_periods.get().started_by.startswith("cli:")


def test_a_retrained_challenger_is_scored_on_what_it_never_trained_on(
    active_model, real_minimums, django_capture_on_commit_callbacks
):
    history(active_model, rows=300)

    with django_capture_on_commit_callbacks(execute=True):
        train(from_outcomes=True, shadow=True)

    version = ModelVersion.objects.get(version=active_model.version + 1)
    split_at = datetime.fromisoformat(version.training_info["split_at"])
    scored = Prediction.objects.filter(shadow_scores__model_version=version)
    assert scored.exists()
    assert not scored.filter(created_at__lt=split_at).exists()
    assert scored.count() == Prediction.objects.filter(created_at__gte=split_at).count()


# --- the model card ------------------------------------------------------------------------


def test_the_model_card_shows_where_the_labels_came_from(active_model, make_user, real_minimums):
    history(active_model, rows=400, reviewer=make_user("analyst"))
    train(from_outcomes=True, include_reviews=True)
    version = ModelVersion.objects.get(version=active_model.version + 1)
    info = version.training_info

    text = model_card.render(version)

    assert (
        "- Source: predictions stored by this service, labelled by their outcomes and analysts' reviews"
        in text
    )
    assert f"- Trained while v{active_model.version} was active" in text
    assert "## Labels" in text
    outcome_fraud = info["training_labels"]["outcome"][FRAUD]
    assert f"| Outcome | fraud | {outcome_fraud} |" in text
    assert f"{info['excluded_late_labels']} training predictions whose label arrived after" in text
    assert "audit samples weigh 1 / their inclusion probability" in text
