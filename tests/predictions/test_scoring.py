"""The pure scoring core: schema checks, encoding, scores with explanations that add up."""

import copy
import json
import math

import numpy as np
import pytest

from predictions import scoring, training
from predictions.scoring import ArtifactError, ExplanationError, Scorer

SCHEMA = training.DEMO_SCHEMA


@pytest.fixture(scope="module")
def scorer(trained) -> Scorer:
    return Scorer({"estimator": trained.estimator, "schema": trained.schema, "decision_threshold": 0.5})


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    frame = training.generate_transactions(rows=300, seed=8)
    return training.frame_to_records(frame, SCHEMA)


# --- validation -----------------------------------------------------------------------


def test_a_demo_transaction_is_valid(rows):
    assert scoring.validate_features(SCHEMA, rows[0]) == {}


def test_every_generated_transaction_fits_the_demo_schema():
    frame = training.generate_transactions(rows=5000, seed=3)
    records = training.frame_to_records(frame, SCHEMA)

    assert [scoring.validate_features(SCHEMA, record) for record in records] == [{}] * len(records)


VALUE_PROBLEMS = [
    ("amount", None, "This feature is required."),
    ("amount", "12", "Must be a number."),
    ("amount", True, "Must be a number."),
    ("amount", math.nan, "Must be a finite number."),
    ("amount", -math.inf, "Must be a finite number."),
    ("amount", 10**400, "Is too large."),
    ("amount", 0.0, "Must be at least 0.01."),
    ("amount", 50000.01, "Must be at most 50000."),
    ("hour_of_day", False, "Must be an integer."),
    ("hour_of_day", 1.5, "Must be an integer."),
    ("hour_of_day", -1, "Must be at least 0."),
    ("card_present", 0, "Must be true or false."),
    ("card_present", "true", "Must be true or false."),
    ("channel", ["pos"], "Must be a string."),
    ("channel", "POS", "'POS' is not one of pos, web, mobile_app, phone."),
]


@pytest.mark.parametrize(("name", "value", "message"), VALUE_PROBLEMS)
def test_it_names_the_feature_and_what_is_wrong(rows, name, value, message):
    features = {**rows[0], name: value}
    assert scoring.validate_features(SCHEMA, features) == {name: [message]}


def test_it_accepts_the_ends_of_a_range_and_whole_floats_for_integers(rows):
    features = {**rows[0], "amount": 0.01, "hour_of_day": 23.0, "ip_risk_score": 1}
    assert scoring.validate_features(SCHEMA, features) == {}


def test_it_reports_unknown_and_missing_features_together(rows):
    features = {**rows[0], "colour": "red"}
    del features["channel"]

    assert scoring.validate_features(SCHEMA, features) == {
        "colour": ["Unknown feature."],
        "channel": ["This feature is required."],
    }


def test_it_shortens_a_long_value_in_its_message(rows):
    errors = scoring.validate_features(SCHEMA, {**rows[0], "channel": "x" * 10_000})
    assert len(errors["channel"][0]) < 200


# --- checked and normal in one pass (FeatureSchema) -----------------------------------------

FEATURES = scoring.FeatureSchema(SCHEMA)


def _the_long_way(features: dict) -> tuple[dict, dict]:
    errors = scoring.validate_features(SCHEMA, features)
    if errors:
        return {}, errors
    return {spec["name"]: scoring.normal_value(spec, features[spec["name"]]) for spec in SCHEMA}, {}


def test_valid_features_come_back_in_normal_form_and_schema_order(rows):
    features = dict(reversed({**rows[0], "amount": 10, "hour_of_day": 23.0, "ip_risk_score": 1}.items()))

    normal, errors = FEATURES.normalised(features)

    assert errors == {}
    assert list(normal) == [spec["name"] for spec in SCHEMA]
    assert (normal["amount"], normal["hour_of_day"], normal["ip_risk_score"]) == (10.0, 23, 1.0)
    assert (type(normal["amount"]), type(normal["hour_of_day"]), type(normal["ip_risk_score"])) == (
        float,
        int,
        float,
    )


def test_one_pass_gives_what_checking_then_normalising_gives():
    records = training.frame_to_records(training.generate_transactions(rows=2000, seed=5), SCHEMA)
    unusual = [
        {**records[0], "amount": 12, "hour_of_day": 4.0},  # whole numbers either way
        {**records[0], "amount": 0.01, "ip_risk_score": 1, "chargebacks_12m": 100},  # the ends
        {**records[0], "amount": 10**400},  # beyond a float, no schema maximum needed to refuse it
        {**records[0], "amount_to_avg_30d": -0.0},
    ]
    broken = [{**records[1], name: value} for name, value, _ in VALUE_PROBLEMS]
    missing = {name: value for name, value in records[2].items() if name != "channel"}
    unknown_instead = {**missing, "colour": "red"}  # as many features as the schema, one not in it

    for features in [*records, *unusual, *broken, missing, unknown_instead, {}]:
        assert repr(FEATURES.normalised(features)) == repr(_the_long_way(features)), features


def test_a_schema_without_ranges_still_refuses_what_a_float_cannot_hold():
    features = scoring.FeatureSchema([{"name": "n", "type": "int"}, {"name": "x", "type": "float"}])

    assert features.normalised({"n": 10**400, "x": 1}) == ({}, {"n": ["Is too large."]})
    assert features.normalised({"n": 2, "x": math.inf}) == ({}, {"x": ["Must be a finite number."]})
    assert features.normalised({"n": -(10**30), "x": -1e300}) == ({"n": -(10**30), "x": -1e300}, {})


def test_validating_and_encoding_leave_the_input_alone(rows):
    before = copy.deepcopy(rows[:5])

    scoring.validate_features(SCHEMA, rows[0])
    scoring.encode_rows(SCHEMA, rows[:5])

    assert rows[:5] == before


def test_encoding_follows_the_schema_order_and_category_positions(rows):
    row = {**rows[0], "merchant_category": "travel", "card_present": True, "amount": 12.5}
    shuffled = dict(reversed(list(row.items())))

    matrix = scoring.encode_rows(SCHEMA, [shuffled])

    names = [spec["name"] for spec in SCHEMA]
    assert matrix.shape == (1, len(SCHEMA))
    assert matrix[0, names.index("merchant_category")] == training.MERCHANT_CATEGORIES.index("travel")
    assert matrix[0, names.index("card_present")] == 1.0
    assert matrix[0, names.index("amount")] == 12.5


# --- scoring and explanation ----------------------------------------------------------


def test_shap_values_add_up_to_the_models_log_odds(scorer, trained, rows):
    results = scorer.score(rows)
    raw = trained.estimator.decision_function(scoring.encode_rows(SCHEMA, rows))

    assert len(results) == len(rows) == 300
    for result, expected in zip(results, raw):
        assert result.base_value + sum(result.contributions.values()) == pytest.approx(expected, abs=1e-6)
        assert result.raw_output == pytest.approx(expected, abs=1e-12)


def test_scores_are_the_models_fraud_probabilities(scorer, trained, rows):
    results = scorer.score(rows)
    probabilities = trained.estimator.predict_proba(scoring.encode_rows(SCHEMA, rows))[:, 1]

    assert [r.score for r in results] == pytest.approx(probabilities.tolist(), abs=1e-9)
    for result in results:
        assert result.confidence == max(result.score, 1 - result.score)
        assert result.label == ("fraud" if result.score >= 0.5 else "legit")


def test_it_refuses_explanations_that_do_not_add_up(trained, rows):
    shifted = Scorer({"estimator": trained.estimator, "schema": trained.schema})
    shifted.base_value += 1e-3

    with pytest.raises(ExplanationError, match="miss the model output"):
        shifted.score(rows[:10])


def test_a_gap_within_the_tolerance_is_accepted(trained, rows):
    nudged = Scorer({"estimator": trained.estimator, "schema": trained.schema})
    nudged.base_value += scoring.ADDITIVITY_TOLERANCE / 100

    assert len(nudged.score(rows[:10])) == 10


def test_a_row_scores_the_same_alone_and_in_a_batch(scorer, rows):
    batch = scorer.score(rows[:20])
    alone = scorer.score([rows[7]])[0]

    assert alone.score == pytest.approx(batch[7].score, abs=1e-12)
    assert alone.contributions == pytest.approx(batch[7].contributions, abs=1e-9)


def test_reason_codes_are_the_three_largest_contributions_by_size():
    result = scoring.Scored(
        score=0.7,
        label="fraud",
        confidence=0.7,
        raw_output=0.85,
        base_value=-3.0,
        contributions={"a": 0.5, "b": -2.0, "c": 0.1, "d": 1.25, "e": -0.75},
    )
    features = {"a": 1, "b": "web", "c": True, "d": 2.5, "e": 0}

    assert result.reason_codes(features) == [
        {"feature": "b", "value": "web", "contribution": -2.0},
        {"feature": "d", "value": 2.5, "contribution": 1.25},
        {"feature": "e", "value": 0, "contribution": -0.75},
    ]


def test_the_decision_threshold_comes_from_the_bundle(trained, rows):
    strict = Scorer({"estimator": trained.estimator, "schema": trained.schema, "decision_threshold": 0.0})
    assert {result.label for result in strict.score(rows[:20])} == {"fraud"}


# --- artifacts ------------------------------------------------------------------------


def test_a_saved_artifact_loads_with_its_checksum(trained, tmp_path):
    path = tmp_path / "model.joblib"
    sha256 = scoring.save_artifact(bundle={"estimator": trained.estimator, "schema": SCHEMA}, path=path)

    bundle = scoring.load_artifact(path=path, expected_sha256=sha256)

    assert sha256 == scoring.file_sha256(path)
    assert bundle["schema"] == SCHEMA
    assert bundle["format"] == scoring.ARTIFACT_FORMAT


def test_it_refuses_an_artifact_with_another_checksum_naming_the_file(trained, tmp_path):
    path = tmp_path / "model.joblib"
    scoring.save_artifact(bundle={"estimator": trained.estimator, "schema": SCHEMA}, path=path)

    with pytest.raises(ArtifactError, match=f"{path} has sha256 .* refusing to load it"):
        scoring.load_artifact(path=path, expected_sha256="0" * 64)


def test_it_refuses_a_missing_artifact_naming_the_file(tmp_path):
    path = tmp_path / "gone.joblib"
    with pytest.raises(ArtifactError, match=f"{path} is missing"):
        scoring.load_artifact(path=path, expected_sha256="0" * 64)


def test_it_refuses_a_file_that_is_not_one_of_our_bundles(tmp_path):
    import joblib

    path = tmp_path / "foreign.joblib"
    joblib.dump(np.arange(3), path)

    with pytest.raises(ArtifactError, match="not a reviewapp model bundle"):
        scoring.load_artifact(path=path, expected_sha256=scoring.file_sha256(path))


# --- serving without the scientific stack ---------------------------------------------


def _bundle(trained) -> dict:
    return {
        "estimator": trained.estimator,
        "trees": trained.trees,
        "schema": trained.schema,
        "self_check": trained.self_check,
    }


def test_its_shap_values_are_shaps_tree_explainer_values(trained, rows):
    import shap

    matrix = scoring.encode_rows(SCHEMA, rows)
    expected = shap.TreeExplainer(trained.estimator).shap_values(matrix)

    results = Scorer(_bundle(trained)).score(rows)

    assert np.array([list(r.contributions.values()) for r in results]) == pytest.approx(expected, abs=1e-12)


def test_an_artifact_scores_without_importing_shap_numba_scikit_learn_or_pandas(trained, rows, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "model.joblib"
    sha256 = scoring.save_artifact(bundle=_bundle(trained), path=path)
    program = f"""
import json, sys
from predictions import scoring
scorer = scoring.Scorer(scoring.load_artifact(path={str(path)!r}, expected_sha256={sha256!r}))
result = scorer.score([json.loads({json.dumps(rows[0])!r})])[0]
heavy = sorted({{"shap", "numba", "llvmlite", "sklearn", "pandas", "scipy"}} & set(sys.modules))
print(json.dumps({{"score": result.score, "heavy": heavy}}))
"""
    output = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout

    answer = json.loads(output)
    assert answer["heavy"] == []
    assert answer["score"] == pytest.approx(
        trained.estimator.predict_proba(scoring.encode_rows(SCHEMA, rows[:1]))[0, 1]
    )


def test_an_artifact_whose_trees_do_not_give_the_recorded_outputs_is_refused(trained):
    bundle = copy.deepcopy(_bundle(trained))
    bundle["trees"]["thresholds"][0, 0] += 50.0

    with pytest.raises(ArtifactError, match="do not reproduce"):
        Scorer(bundle)


def test_an_artifact_whose_trees_do_not_give_the_recorded_shap_values_is_refused(trained):
    bundle = copy.deepcopy(_bundle(trained))
    bundle["self_check"]["shap_values"][3, 2] += 1e-3

    with pytest.raises(ArtifactError, match="recorded SHAP values"):
        Scorer(bundle)


def test_a_format_1_artifact_without_trees_still_scores_the_same(trained, rows, tmp_path):
    import joblib

    path = tmp_path / "v1.joblib"
    joblib.dump({"format": 1, "estimator": trained.estimator, "schema": trained.schema}, path)
    old = Scorer(scoring.load_artifact(path=path, expected_sha256=scoring.file_sha256(path)))

    current = Scorer(_bundle(trained))

    def values(scorer):
        return [list(result.contributions.values()) for result in scorer.score(rows[:5])]

    assert np.array(values(old)) == pytest.approx(np.array(values(current)), abs=1e-12)


def test_the_scoring_core_imports_neither_django_nor_the_project():
    import subprocess
    import sys

    program = """
import json, sys
from predictions import scoring, training, treeshap
print(json.dumps(sorted({"django", "celery", "rest_framework", "reviewapp", "audit"} & set(sys.modules))))
"""
    output = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout

    assert json.loads(output) == []
