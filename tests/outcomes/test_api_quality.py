"""GET /api/v1/quality/ and /api/v1/quality/thresholds/: who may read them, what they check,
the shape they answer in (strict JSON, null where undefined), and their place in the schema."""

import json

import pytest
import yaml
from rest_framework.test import APIClient

from outcomes import quality
from tests.outcomes.quality_factories import FRAUD, LEGIT, LOW, WINDOW, decide, model_version, prediction

SCORECARD_URL = "/api/v1/quality/"
THRESHOLDS_URL = "/api/v1/quality/thresholds/"
URLS = [SCORECARD_URL, THRESHOLDS_URL]


@pytest.fixture
def reviewed(db, make_user):
    """Three labelled predictions, one of them reviewed."""
    version = model_version(1)
    prediction(version=version, score=0.9, outcome=FRAUD)
    prediction(version=version, score=0.1, outcome=LEGIT)
    decide(
        prediction(version=version, score=0.7, outcome=LEGIT, reason=LOW),
        reviewer=make_user("analyst", "ana"),
        label=LEGIT,
        seconds=90,
    )
    return version


# --- who ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", URLS)
def test_it_needs_credentials(db, url):
    response = APIClient().get(url)

    assert response.status_code == 401


@pytest.mark.parametrize("url", URLS)
def test_api_keys_may_not_read_it(api_client, url):
    assert api_client.get(url).status_code == 403


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("role", ["analyst", None])
def test_analysts_and_people_without_a_role_may_not_read_it(staff_client, url, role):
    assert staff_client(role).get(url).status_code == 403


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_read_it(staff_client, reviewed, url, role):
    assert staff_client(role).get(url, WINDOW).status_code == 200


# --- the answers ------------------------------------------------------------------------


def test_the_scorecard_answers_in_the_documented_shape(staff_client, reviewed):
    response = staff_client("auditor").get(SCORECARD_URL, WINDOW)

    assert response.status_code == 200
    answer = json.loads(response.content)  # strict JSON: no NaN anywhere
    assert list(answer) == [
        "window",
        "predictions",
        "labelled",
        "label_coverage",
        "pending_reviews",
        "label_delay",
        "weekly",
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
    assert answer["window"] == {
        "since": "2026-01-12",
        "until": "2026-01-25",
        "days": 14,
        "timezone": "UTC",
        "model_version": None,
    }
    assert (answer["predictions"], answer["labelled"]) == (3, 3)
    assert answer["model"]["false_positives"] == 1 and answer["final"]["false_positives"] == 0
    assert answer["false_positive_reduction"]["value"] == 1.0
    assert answer["audit_sample"]["model_error_rate"] is None
    assert answer["analysts"] == [
        {
            "reviewer": "ana",
            "decisions": 1,
            "labelled": 1,
            "accuracy": 1.0,
            "overrides": 1,
            "override_precision": 1.0,
            "median_seconds": 90.0,
        }
    ]
    assert len(answer["calibration"]["bins"]) == 10


def test_the_what_if_answers_in_the_documented_shape(staff_client, reviewed):
    params = {
        **WINDOW,
        "analyst_hours_per_day": "2.5",
        "cost_false_positive": "3",
        "cost_missed_fraud": "250",
    }
    response = staff_client("admin").get(THRESHOLDS_URL, params)

    assert response.status_code == 200
    answer = json.loads(response.content)
    assert set(answer) == {
        "window",
        "parameters",
        "assumptions",
        "active_model",
        "thresholds",
        "recommended",
        "predictions",
        "labelled",
        "pooled_predictions",
    }
    assert answer["parameters"] == {
        "analyst_hours_per_day": 2.5,
        "cost_false_positive": 3.0,
        "cost_missed_fraud": 250.0,
    }
    assert answer["window"]["elapsed_days"] == 14.0
    assert [row["threshold"] for row in answer["thresholds"]] == [round(0.5 + i / 100, 2) for i in range(50)]
    assert set(answer["thresholds"][0]) == {
        "threshold",
        "review_share",
        "reviews_per_day",
        "analyst_hours_per_day",
        "model_false_positives",
        "expected_false_positives",
        "expected_missed_fraud",
        "expected_cost",
    }
    assert (
        answer["assumptions"]["median_seconds"] == 90.0 and answer["assumptions"]["median_seconds_measured"]
    )
    assert answer["active_model"] == {"version": 1, "review_threshold": 0.85}


def test_the_what_if_uses_the_documented_defaults(staff_client, reviewed):
    answer = staff_client("auditor").get(THRESHOLDS_URL, WINDOW).json()

    assert answer["parameters"] == {
        "analyst_hours_per_day": quality.DEFAULT_ANALYST_HOURS_PER_DAY,
        "cost_false_positive": quality.DEFAULT_COST_FALSE_POSITIVE,
        "cost_missed_fraud": quality.DEFAULT_COST_MISSED_FRAUD,
    }


# --- what it checks ---------------------------------------------------------------------


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "2026-02-30"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-02-02", "until": "2026-02-01"}, "since"),
        ({"since": "2020-01-01", "until": "2026-01-01"}, "since"),
        ({"model_version": "9"}, "model_version"),
        ({"model_version": "v1"}, "model_version"),
        ({"since": "9999-12-30", "until": "9999-12-31"}, "until"),
    ],
)
def test_a_bad_window_is_a_400_naming_the_field(staff_client, reviewed, url, params, field):
    response = staff_client("auditor").get(url, params)

    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"analyst_hours_per_day": "-1"}, "analyst_hours_per_day"),
        ({"analyst_hours_per_day": "nan"}, "analyst_hours_per_day"),
        ({"cost_false_positive": "inf"}, "cost_false_positive"),
        ({"cost_missed_fraud": "lots"}, "cost_missed_fraud"),
        ({"cost_missed_fraud": "1e12"}, "cost_missed_fraud"),
    ],
)
def test_a_bad_number_is_a_400_naming_the_field(staff_client, reviewed, params, field):
    response = staff_client("auditor").get(THRESHOLDS_URL, {**WINDOW, **params})

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_the_window_defaults_to_the_last_ninety_days(staff_client, reviewed):
    window = staff_client("auditor").get(SCORECARD_URL).json()["window"]

    assert window["days"] == 90 and window["model_version"] is None


# --- the schema -------------------------------------------------------------------------


def test_the_schema_documents_both_endpoints_their_parameters_and_answers(staff_client):
    response = staff_client("auditor").get("/api/schema/")

    schema = yaml.safe_load(response.content)
    scorecard_get = schema["paths"]["/api/v1/quality/"]["get"]
    thresholds_get = schema["paths"]["/api/v1/quality/thresholds/"]["get"]
    assert {p["name"] for p in scorecard_get["parameters"]} == {"since", "until", "model_version"}
    assert {p["name"] for p in thresholds_get["parameters"]} == {
        "since",
        "until",
        "model_version",
        "analyst_hours_per_day",
        "cost_false_positive",
        "cost_missed_fraud",
    }
    for operation in (scorecard_get, thresholds_get):
        assert set(operation["responses"]) >= {"200", "400", "401", "403", "429"}
        assert "UTC" in operation["description"]
    assert "1 / inclusion_probability" in scorecard_get["description"]
    assert "stratum" in thresholds_get["description"]
