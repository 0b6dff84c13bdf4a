"""Demo data and training: seeded, time-ordered, measured on the newest rows."""

import json

import numpy as np
import pandas as pd
import pytest

from predictions import training

SCHEMA = training.DEMO_SCHEMA


def test_the_generator_is_seeded():
    first = training.generate_transactions(rows=500, seed=4)

    assert first.equals(training.generate_transactions(rows=500, seed=4))
    assert not first.equals(training.generate_transactions(rows=500, seed=5))


def test_demo_traffic_is_time_ordered_with_a_low_fraud_rate():
    frame = training.generate_transactions(rows=20_000, seed=1)

    assert frame["timestamp"].is_monotonic_increasing
    assert 0.01 <= frame["is_fraud"].mean() <= 0.03
    assert set(frame.columns) == {spec["name"] for spec in SCHEMA} | {"timestamp", "is_fraud"}


def test_records_are_plain_json_values():
    records = training.frame_to_records(training.generate_transactions(rows=20, seed=2), SCHEMA)

    assert json.loads(json.dumps(records)) == records
    assert type(records[0]["card_present"]) is bool
    assert type(records[0]["hour_of_day"]) is int
    assert type(records[0]["amount"]) is float


def test_training_reports_holdout_metrics(trained):
    metrics = trained.metrics

    assert metrics["holdout_rows"] == 4000
    for name in ("roc_auc", "pr_auc", "brier", "precision_at_0.5", "recall_at_0.5", "review_share"):
        assert 0.0 <= metrics[name] <= 1.0, name
    assert metrics["roc_auc"] > 0.75


def test_training_measures_on_the_newest_rows():
    frame = training.generate_transactions(rows=3000, seed=6)
    # Fraud only in the newest fifth: a shuffled split would put some of it in training.
    frame["is_fraud"] = np.arange(len(frame)) >= 2400
    frame.loc[:100, "is_fraud"] = True

    result = training.train(frame=frame, schema=SCHEMA, target="is_fraud", review_threshold=0.85)

    assert result.metrics["holdout_rows"] == 600
    assert result.metrics["holdout_fraud_rate"] == 1.0
    assert result.metrics["roc_auc"] is None


def test_training_needs_both_classes_in_the_training_rows():
    frame = training.generate_transactions(rows=1000, seed=6)
    frame["is_fraud"] = False

    with pytest.raises(ValueError, match="needs both classes"):
        training.train(frame=frame, schema=SCHEMA, target="is_fraud", review_threshold=0.85)


def test_the_reference_distribution_covers_every_feature_and_the_score(trained):
    reference = trained.reference

    assert set(reference["features"]) == {spec["name"] for spec in SCHEMA}
    for name, distribution in [*reference["features"].items(), ("score", reference["score"])]:
        assert sum(distribution["proportions"]) == pytest.approx(1.0, abs=1e-4), name
    channel = reference["features"]["channel"]
    assert channel["kind"] == "categorical"
    assert len(channel["proportions"]) == len(training.CHANNELS)
    assert len(reference["features"]["card_present"]["proportions"]) == 2
    amount = reference["features"]["amount"]
    assert amount["kind"] == "binned"
    assert len(amount["proportions"]) == len(amount["edges"]) + 1
    assert amount["edges"] == sorted(amount["edges"])


def test_it_records_the_library_versions(trained):
    assert {"python", "scikit-learn", "numpy", "joblib", "shap"} <= set(trained.library_versions)


# --- a user's own data ----------------------------------------------------------------


def test_it_infers_a_schema_from_a_users_data():
    frame = pd.DataFrame(
        {
            "amount": [1.5, 20.0, 7.25],
            "items": [1, 4, 2],
            "express": [True, False, True],
            "country": ["fr", "de", "fr"],
        }
    )

    assert training.infer_schema(frame) == [
        {"name": "amount", "type": "float", "min": 1.5, "max": 20.0, "description": "amount", "unit": ""},
        {"name": "items", "type": "int", "min": 1, "max": 4, "description": "items", "unit": ""},
        {"name": "express", "type": "bool", "description": "express", "unit": ""},
        {
            "name": "country",
            "type": "category",
            "choices": ["de", "fr"],
            "description": "country",
            "unit": "",
        },
    ]


def test_it_refuses_to_guess_a_category_with_too_many_values():
    frame = pd.DataFrame({"customer": [f"c{n}" for n in range(60)]})

    with pytest.raises(ValueError, match="'customer' has 60 distinct values"):
        training.infer_schema(frame)
