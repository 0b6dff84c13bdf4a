"""The comparison's statistics, each on data whose answer is worked out by hand."""

import math
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from lifecycle import comparison
from lifecycle import selectors as lifecycle_selectors
from lifecycle.selectors import UnknownVersion, model_version_comparison
from tests.lifecycle.evidence import labelled_evidence, scored_pair, shadow_period_open


def test_a_share_has_wilsons_interval():
    # p = 0.5, n = 10: centre 0.5, half-width 1.96·√(0.025 + 1.96²/400) / (1 + 1.96²/10) = 0.2634.
    result = comparison.share(successes=5, trials=10)

    assert result.value == 0.5
    assert result.ci_low == pytest.approx(0.2366, abs=1e-4)
    assert result.ci_high == pytest.approx(0.7634, abs=1e-4)


def test_a_share_of_nothing_is_none_with_a_reason():
    result = comparison.share(successes=0, trials=0)

    assert (result.value, result.ci_low, result.reason) == (None, None, "no predictions")


def test_roc_auc_counts_pairs_ranked_right_with_hanley_mcneils_interval():
    # Frauds 0.35 and 0.8, legits 0.1 and 0.4: 3 of the 4 fraud-legit pairs are ranked right.
    # Hanley-McNeil: Q1 = 0.6, Q2 = 0.6429, variance = (0.1875 + 0.0375 + 0.0804) / 4 = 0.0763.
    result = comparison.roc_auc(scores=[0.1, 0.4, 0.35, 0.8], actual=[False, False, True, True])

    assert result.value == pytest.approx(0.75)
    assert result.ci_low == pytest.approx(0.75 - 1.96 * math.sqrt(0.305357 / 4), abs=1e-4)
    assert result.ci_high == 1.0  # clipped


def test_roc_auc_counts_a_tie_as_half():
    assert comparison.roc_auc(scores=[0.5] * 4, actual=[True, False, True, False]).value == 0.5
    assert comparison.roc_auc(scores=[0.9, 0.1], actual=[True, False]).value == 1.0


def test_roc_auc_needs_both_classes():
    result = comparison.roc_auc(scores=[0.9, 0.8], actual=[True, True])

    assert result.value is None
    assert "both" in result.reason


def test_brier_is_the_mean_squared_error_with_a_normal_interval():
    # Errors 0.01 and 0.04: mean 0.025; sd 0.0212, se 0.015, half-width 0.0294.
    result = comparison.brier(scores=[0.9, 0.2], actual=[True, False])

    assert result.value == pytest.approx(0.025)
    assert result.ci_low == 0.0  # 0.025 - 0.0294 clipped at 0
    assert result.ci_high == pytest.approx(0.025 + 1.96 * 0.015, abs=1e-6)


def test_brier_of_nothing_or_one_prediction():
    assert comparison.brier(scores=[], actual=[]).value is None
    one = comparison.brier(scores=[0.5], actual=[True])
    assert (one.value, one.ci_low, one.ci_high) == (0.25, None, None)
    assert one.reason


def test_psi_of_identical_distributions_is_zero():
    assert comparison.psi(active=[0.05, 0.5, 0.95], challenger=[0.05, 0.5, 0.95]).value == 0.0


def test_psi_moves_with_the_shares_of_equal_width_bins():
    # Active: half in [0, 0.1), half in [0.1, 0.2); challenger: a quarter and three quarters.
    # (0.25 - 0.5)·ln(0.5) + (0.75 - 0.5)·ln(1.5) = 0.1733 + 0.1014.
    result = comparison.psi(active=[0.05, 0.05, 0.15, 0.15], challenger=[0.05, 0.15, 0.15, 0.15])

    assert result.value == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert result.active_shares[:2] == [0.5, 0.5]
    assert result.challenger_shares[:2] == [0.25, 0.75]


def test_psi_takes_an_empty_bins_share_as_epsilon_and_puts_one_in_the_last_bin():
    # Everything moved from the first bin to the last: 2 · (1 - 1e-4) · ln(1 / 1e-4).
    result = comparison.psi(active=[0.0, 0.05], challenger=[1.0, 0.95])

    assert result.value == pytest.approx(2 * (1 - 1e-4) * math.log(1e4))
    assert result.challenger_shares[-1] == 1.0


def test_psi_without_scores_is_none():
    assert comparison.psi(active=[], challenger=[]).reason == "no predictions"


def test_compare_counts_agreement_labels_queue_load_and_labelled_figures():
    result = comparison.compare(
        active_scores=[0.9, 0.1, 0.8, 0.3],
        challenger_scores=[0.8, 0.2, 0.4, 0.6],
        active_fraud=[True, False, True, False],
        challenger_fraud=[True, False, False, True],
        active_review=[False, False, True, False],
        challenger_review=[False, True, True, True],
        outcomes=[True, False, None, False],
    )

    assert result.n == 4
    assert result.agreement.value == 0.5
    assert result.labels == {"fraud→fraud": 1, "fraud→legit": 1, "legit→fraud": 1, "legit→legit": 1}
    assert (result.active_review_count, result.challenger_review_count) == (1, 3)
    assert result.challenger_review.value == 0.75
    labelled = result.labelled
    assert (labelled.n, labelled.frauds) == (3, 1)
    assert labelled.active.recall.value == 1.0
    assert labelled.challenger.false_positive_rate.value == 0.5  # 0.6 on a legit
    assert labelled.differences()["false_positive_rate"] == 0.5
    assert result.as_dict()["review_volume"]["challenger"]["count"] == 3


def test_compare_without_predictions_says_so_everywhere():
    result = comparison.compare(
        active_scores=[],
        challenger_scores=[],
        active_fraud=[],
        challenger_fraud=[],
        active_review=[],
        challenger_review=[],
        outcomes=[],
    )

    data = result.as_dict()
    assert data["n"] == 0
    assert data["agreement"]["value"] is None
    assert data["psi"]["value"] is None
    assert data["labelled"]["reason"] == "no labelled predictions yet"
    assert data["labelled"]["differences"]["roc_auc"] is None


def test_compare_refuses_inputs_of_different_lengths():
    with pytest.raises(ValueError, match="challenger_scores"):
        comparison.compare(
            active_scores=[0.1],
            challenger_scores=[],
            active_fraud=[False],
            challenger_fraud=[False],
            active_review=[False],
            challenger_review=[False],
            outcomes=[None],
        )


# --- the selector -----------------------------------------------------------------------


@pytest.fixture
def candidate(active_model, register_model):
    version = register_model(activate=False)
    shadow_period_open(candidate=version, active=active_model)
    return version


def test_the_selector_compares_the_shadowed_predictions(active_model, candidate):
    labelled_evidence(active=active_model, candidate=candidate, missed_frauds=2)
    scored_pair(active=active_model, candidate=candidate, active_score=0.2, candidate_score=0.2)

    result = model_version_comparison(version=candidate.version)

    assert result.n == 21
    assert result.labelled.n == 20
    assert result.labelled.challenger.recall.value == 0.8
    assert result.extra["active_versions"] == [active_model.version]


def test_the_selector_reads_in_chunks_and_gets_the_same_figures(active_model, candidate, monkeypatch):
    labelled_evidence(active=active_model, candidate=candidate, missed_frauds=2)
    scored_pair(active=active_model, candidate=candidate, active_score=0.2, candidate_score=0.7)
    whole = model_version_comparison(version=candidate.version)

    monkeypatch.setattr(lifecycle_selectors, "COMPARISON_CHUNK_ROWS", 4)  # 21 rows: 5 full chunks and 1
    in_chunks = model_version_comparison(version=candidate.version)

    assert in_chunks.as_dict() == whole.as_dict()
    assert in_chunks.n == 21


def test_the_selector_keeps_to_the_window(active_model, candidate):
    now = timezone.now()
    scored_pair(
        active=active_model,
        candidate=candidate,
        active_score=0.9,
        candidate_score=0.9,
        created_at=now - timedelta(days=3),
    )
    scored_pair(active=active_model, candidate=candidate, active_score=0.9, candidate_score=0.1)

    old = model_version_comparison(version=candidate.version, since=now - timedelta(days=4), until=now)
    recent = model_version_comparison(version=candidate.version, since=now - timedelta(hours=1), until=None)

    assert (old.n, old.agreement.value) == (1, 1.0)
    assert (recent.n, recent.agreement.value) == (1, 0.0)


def test_the_selector_refuses_an_unknown_version(db):
    with pytest.raises(UnknownVersion):
        model_version_comparison(version=99)


# --- the API ----------------------------------------------------------------------------


def comparison_url(version: int) -> str:
    return f"/api/v1/models/{version}/comparison/"


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_read_the_comparison(client, make_user, active_model, candidate, role):
    labelled_evidence(active=active_model, candidate=candidate, missed_frauds=3)
    client.force_login(make_user(role))

    response = client.get(comparison_url(candidate.version))

    assert response.status_code == 200
    data = response.json()
    assert (data["version"], data["n"]) == (candidate.version, 20)
    assert data["labelled"]["challenger"]["recall"]["value"] == pytest.approx(0.7)
    assert data["labelled"]["active"]["roc_auc"]["value"] == 1.0
    assert data["gate"]["allowed"] is False
    assert len(data["gate"]["reasons"]) == 2


def test_the_window_is_taken_from_the_query(client, make_user, active_model, candidate):
    scored_pair(
        active=active_model,
        candidate=candidate,
        active_score=0.9,
        candidate_score=0.9,
        created_at=timezone.now() - timedelta(days=3),
    )
    client.force_login(make_user("auditor"))
    since = (timezone.now() - timedelta(days=4)).isoformat()
    until = (timezone.now() - timedelta(days=2)).isoformat()

    response = client.get(comparison_url(candidate.version), {"since": since, "until": until})

    assert response.json()["n"] == 1
    assert client.get(comparison_url(candidate.version), {"since": until}).json()["n"] == 0
    assert client.get(comparison_url(candidate.version)).json()["n"] == 1  # default: all it scored


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "since"),
        ({"since": "2026-11-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "since"),
    ],
)
def test_a_bad_window_is_400_naming_the_field(client, make_user, candidate, query, field):
    client.force_login(make_user("auditor"))

    response = client.get(comparison_url(candidate.version), query)

    assert response.status_code == 400
    assert field in response.json()


def test_an_unknown_version_is_404(client, make_user, db):
    client.force_login(make_user("auditor"))

    assert client.get(comparison_url(99)).status_code == 404


def test_analysts_and_api_keys_may_not_read_it(client, make_user, api_client, candidate):
    client.force_login(make_user("analyst"))

    assert client.get(comparison_url(candidate.version)).status_code == 403
    assert api_client.get(comparison_url(candidate.version)).status_code == 403


def test_average_ranks_share_ties_as_scipy_does():
    assert comparison.average_ranks(np.array([0.3, 0.1, 0.3, 0.9, 0.1, 0.3])).tolist() == [
        4.0,
        1.5,
        4.0,
        6.0,
        1.5,
        4.0,
    ]
    assert comparison.average_ranks(np.array([], dtype=np.float64)).tolist() == []
