"""The promotion gate decides on constructed evidence."""

import pytest
from django.utils import timezone

from lifecycle.gate import GateResult, promotion_gate_check
from predictions.models import ModelVersion
from tests.lifecycle.evidence import labelled_evidence, scored_pair, shadow_period_open


@pytest.fixture
def candidate(active_model, register_model):
    return register_model(activate=False)


@pytest.fixture
def shadowed(active_model, candidate):
    shadow_period_open(candidate=candidate, active=active_model)
    return candidate


def test_the_first_version_is_allowed(register_model):
    first = register_model(activate=False)

    result = promotion_gate_check(candidate=first, active=None)

    assert (result.allowed, result.kind) == (True, "first")


def test_the_active_version_is_already_active(active_model):
    result = promotion_gate_check(candidate=active_model, active=active_model)

    assert (result.allowed, result.kind) == (True, "already_active")


def test_a_rollback_is_always_allowed(active_model, candidate):
    ModelVersion.objects.filter(pk=candidate.pk).update(activated_at=timezone.now())
    candidate.refresh_from_db()

    result = promotion_gate_check(candidate=candidate, active=active_model)

    assert (result.allowed, result.kind) == (True, "rollback")


def test_a_version_that_never_shadowed_is_refused(active_model, candidate):
    result = promotion_gate_check(candidate=candidate, active=active_model)

    assert (result.allowed, result.kind) == (False, "never_shadowed")
    assert "shadow it first" in result.reasons[0]
    assert "force" in result.reasons[0]


def test_a_shadowed_version_without_labelled_predictions_is_refused(active_model, shadowed):
    scored_pair(active=active_model, candidate=shadowed, active_score=0.9, candidate_score=0.9)

    result = promotion_gate_check(candidate=shadowed, active=active_model)

    assert (result.allowed, result.kind) == (False, "shadowed")
    assert result.reasons[0].startswith("no labelled predictions yet")
    assert result.evidence["shadowed_predictions"] == 1


def test_a_version_as_good_as_the_active_one_is_allowed(active_model, shadowed):
    labelled_evidence(active=active_model, candidate=shadowed)

    result = promotion_gate_check(candidate=shadowed, active=active_model)

    assert (result.allowed, result.kind) == (True, "shadowed")
    assert result.evidence["labelled"]["n"] == 20
    assert result.evidence["tolerance"] == 0.02  # settings.PROMOTION_TOLERANCE


def test_missed_frauds_refuse_it_on_recall_and_brier_with_both_values(active_model, shadowed):
    # Three frauds scored 0.3: still ranked above every legit (ROC AUC 1.0 both), none wrongly
    # flagged (false-positive rate 0 both); recall 0.7 against 1.0, Brier 0.082 against 0.01.
    labelled_evidence(active=active_model, candidate=shadowed, missed_frauds=3)

    result = promotion_gate_check(candidate=shadowed, active=active_model)

    assert (result.allowed, result.kind) == (False, "shadowed")
    assert len(result.reasons) == 2
    brier, recall = result.reasons
    assert brier.startswith("Brier score 0.0820 (v2) is higher than 0.0100 (v1)")
    assert recall.startswith("recall 0.7000 (v2) is lower than 1.0000 (v1)")
    assert "tolerance 0.02" in recall
    differences = result.evidence["labelled"]["differences"]
    assert differences["recall"] == pytest.approx(-0.3)


def test_false_alarms_refuse_it_on_the_false_positive_rate(active_model, shadowed):
    labelled_evidence(active=active_model, candidate=shadowed, false_alarms=2)

    result = promotion_gate_check(candidate=shadowed, active=active_model)

    assert not result.allowed
    assert any(reason.startswith("false-positive rate 0.2000 (v2)") for reason in result.reasons)
    assert not any(reason.startswith("recall") for reason in result.reasons)


def test_a_wide_enough_tolerance_lets_it_through(active_model, shadowed, settings):
    labelled_evidence(active=active_model, candidate=shadowed, missed_frauds=1)

    assert not promotion_gate_check(candidate=shadowed, active=active_model).allowed
    assert promotion_gate_check(candidate=shadowed, active=active_model, tolerance=0.2).allowed
    settings.PROMOTION_TOLERANCE = 0.2
    assert promotion_gate_check(candidate=shadowed, active=active_model).allowed


def test_only_predictions_answered_by_the_active_version_count(active_model, shadowed, register_model):
    older = register_model(activate=False)
    # A poor record against another version says nothing of this comparison.
    labelled_evidence(active=older, candidate=shadowed, missed_frauds=5)
    labelled_evidence(active=active_model, candidate=shadowed)

    result = promotion_gate_check(candidate=shadowed, active=active_model)

    assert result.allowed
    assert result.evidence["labelled"]["n"] == 20


def test_a_metric_that_cannot_be_computed_is_said_not_compared(active_model, shadowed):
    # Only frauds have an outcome: no false-positive rate, no ROC AUC for either model.
    for _ in range(5):
        scored_pair(
            active=active_model, candidate=shadowed, active_score=0.9, candidate_score=0.9, outcome=True
        )

    result = promotion_gate_check(candidate=shadowed, active=active_model)

    assert result.allowed
    assert set(result.evidence["not_compared"]) == {"roc_auc", "false_positive_rate"}


def test_the_result_is_json_ready(active_model, candidate):
    result = promotion_gate_check(candidate=candidate, active=active_model)

    assert isinstance(result, GateResult)
    assert result.as_dict() == {
        "allowed": False,
        "reasons": result.reasons,
        "kind": "never_shadowed",
        "evidence": {},
    }
