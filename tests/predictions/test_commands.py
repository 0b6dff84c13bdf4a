"""The management commands an operator runs: train, activate, keys, sweep, demo seed."""

import json
from datetime import timedelta
from io import StringIO

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from predictions import registry, scoring, selectors, services, training
from predictions.models import ApiKey, ModelVersion, Prediction
from reviews.models import ReviewItem
from tests.predictions.helpers import PREDICT_URL, post_json

CSV_COLUMNS = ["timestamp", "amount", "merchant_category", "card_present", "txn_count_1h", "is_fraud"]


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def csv_path(tmp_path):
    """A user's CSV: a few columns, a 0/1 label, newest rows last."""
    frame = training.generate_transactions(rows=3000, seed=9)[CSV_COLUMNS]
    frame["is_fraud"] = frame["is_fraud"].astype(int)
    path = tmp_path / "transactions.csv"
    frame.to_csv(path, index=False)
    return path


# --- train_model ----------------------------------------------------------------------


@pytest.mark.django_db
def test_train_model_registers_a_staged_version_with_everything_needed_to_audit_it():
    output = run("train_model", rows=3000, seed=3)

    version = ModelVersion.objects.get()
    assert f"registered card-fraud v{version.version}" in output
    assert version.status == ModelVersion.Status.STAGED
    assert version.feature_schema == training.DEMO_SCHEMA
    for metric in ("roc_auc", "pr_auc", "brier", "precision_at_0.5", "recall_at_0.5"):
        assert 0.0 <= version.metrics[metric] <= 1.0, metric
    assert set(version.reference["features"]) == {spec["name"] for spec in training.DEMO_SCHEMA}
    assert version.reference["score"]["proportions"]
    assert {"scikit-learn", "shap", "numpy"} <= set(version.library_versions)
    assert version.training_info == {"source": "demo generator", "rows": 3000, "seed": 3}
    assert version.sha256 == scoring.file_sha256(registry.artifact_full_path(version))


@pytest.mark.django_db
def test_train_model_activate_makes_the_api_score_with_it(api_client, features):
    run("train_model", rows=3000, activate=True)
    version = ModelVersion.objects.get()
    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert version.status == ModelVersion.Status.ACTIVE
    assert response.status_code == 201
    assert response.json()["model_version"] == version.version


@pytest.mark.django_db
def test_train_model_numbers_versions_upwards():
    run("train_model", rows=2000)
    run("train_model", rows=2000)

    assert list(ModelVersion.objects.values_list("version", flat=True)) == [2, 1]


@pytest.mark.django_db
def test_train_model_on_a_csv_infers_the_schema(csv_path, tmp_path):
    schema_path = tmp_path / "schema.json"
    run("train_model", csv=csv_path, target="is_fraud", write_schema=schema_path)

    version = ModelVersion.objects.get()
    types = {spec["name"]: spec["type"] for spec in version.feature_schema}
    assert types == {
        "timestamp": "float",
        "amount": "float",
        "merchant_category": "category",
        "card_present": "bool",
        "txn_count_1h": "int",
    }
    assert json.loads(schema_path.read_text()) == version.feature_schema
    assert version.training_info["source"] == str(csv_path)
    assert version.training_info["target"] == "is_fraud"


@pytest.mark.django_db
def test_train_model_leaves_the_time_column_out_of_the_features(csv_path):
    run("train_model", csv=csv_path, target="is_fraud", time_column="timestamp")

    names = [spec["name"] for spec in ModelVersion.objects.get().feature_schema]
    assert names == ["amount", "merchant_category", "card_present", "txn_count_1h"]


@pytest.mark.django_db
def test_train_model_uses_an_edited_schema(csv_path, tmp_path):
    schema_path = tmp_path / "schema.json"
    run("train_model", csv=csv_path, target="is_fraud", time_column="timestamp", write_schema=schema_path)
    edited = [spec for spec in json.loads(schema_path.read_text()) if spec["name"] != "card_present"]
    edited[0].update(max=100_000.0, description="Order total", unit="EUR")
    schema_path.write_text(json.dumps(edited))

    run("train_model", csv=csv_path, target="is_fraud", time_column="timestamp", schema=schema_path)

    newest = ModelVersion.objects.first()
    assert newest.feature_schema == edited
    assert newest.feature_schema[0]["unit"] == "EUR"


@pytest.mark.django_db
def test_a_model_trained_on_a_csv_scores_through_the_api(csv_path, api_client):
    run("train_model", csv=csv_path, target="is_fraud", time_column="timestamp", activate=True)
    features = {"amount": 42.0, "merchant_category": "grocery", "card_present": True, "txn_count_1h": 1}
    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert response.status_code == 201
    assert {code["feature"] for code in response.json()["reason_codes"]} <= set(features)


@pytest.mark.django_db
def test_train_model_refuses_a_missing_target_column(csv_path):
    with pytest.raises(CommandError, match="column 'label' is not in"):
        run("train_model", csv=csv_path, target="label")

    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_train_model_needs_a_target_with_a_csv(csv_path):
    with pytest.raises(CommandError, match="--csv needs --target"):
        run("train_model", csv=csv_path)


@pytest.mark.django_db
def test_train_model_refuses_a_schema_naming_columns_the_csv_lacks(csv_path, tmp_path):
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps([{"name": "shoe_size", "type": "int", "min": 1, "max": 60}]))

    with pytest.raises(CommandError, match="missing from the CSV: shoe_size"):
        run("train_model", csv=csv_path, target="is_fraud", schema=schema_path)


@pytest.mark.django_db
def test_train_model_refuses_a_csv_with_missing_values_naming_the_columns(csv_path):
    frame = pd.read_csv(csv_path)
    frame.loc[5, "amount"] = None
    frame.loc[[7, 8], "merchant_category"] = None
    frame.to_csv(csv_path, index=False)

    with pytest.raises(CommandError) as refused:
        run("train_model", csv=csv_path, target="is_fraud")

    assert "missing values in amount (1 rows), merchant_category (2 rows)" in str(refused.value)
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_train_model_refuses_an_unreadable_csv(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run("train_model", csv=tmp_path / "nowhere.csv", target="is_fraud")


# --- create_api_key -------------------------------------------------------------------


def test_create_api_key_prints_a_key_that_authenticates(active_model):
    secret = run("create_api_key", "payments").strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    response = client.get("/api/v1/models/active/")

    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="payments")
    assert secret.startswith(f"ra_{api_key.prefix}.")
    assert secret not in {api_key.key_hash, api_key.prefix}


def test_create_api_key_refuses_a_name_in_use(db):
    run("create_api_key", "payments")

    with pytest.raises(CommandError, match="'payments' already exists"):
        run("create_api_key", "payments")


# --- sweep_routing --------------------------------------------------------------------


def test_sweep_routing_routes_predictions_waiting_past_the_cutoff(
    active_model, api_client, features_by_confidence
):
    unsure = features_by_confidence["unsure"]
    for n in range(3):
        post_json(api_client, PREDICT_URL, {"request_id": f"order-{n}", "features": unsure[n]})
    waited = timezone.now() - timedelta(seconds=120)
    Prediction.objects.filter(request_id__in=["order-0", "order-1"]).update(routing_enqueued_at=waited)

    output = run("sweep_routing", older_than=60)

    assert output.strip() == "re-enqueued 2 predictions"
    routed = ReviewItem.objects.values_list("prediction__request_id", flat=True)
    assert sorted(routed) == ["order-0", "order-1"]
    assert Prediction.objects.get(request_id="order-2").routing_state == Prediction.RoutingState.PENDING
    assert run("sweep_routing", older_than=60).strip() == "re-enqueued 0 predictions"


def test_sweep_routing_uses_the_configured_cutoff(active_model, api_client, unsure_features, settings):
    settings.ROUTING_SWEEP_AFTER_SECONDS = 300
    post_json(api_client, PREDICT_URL, {"features": unsure_features})
    Prediction.objects.update(routing_enqueued_at=timezone.now() - timedelta(seconds=120))

    assert run("sweep_routing").strip() == "re-enqueued 0 predictions"
    assert not ReviewItem.objects.exists()


# --- seed_demo ------------------------------------------------------------------------


@pytest.mark.parametrize(("debug", "demo_mode"), [(False, True), (True, False), (False, False)])
def test_seed_demo_refuses_outside_debug_demo_mode(db, settings, debug, demo_mode):
    settings.DEBUG, settings.DEMO_MODE = debug, demo_mode

    with pytest.raises(CommandError, match="only with DEBUG=1 and DEMO_MODE=1"):
        run("seed_demo")

    assert not ApiKey.objects.exists()
    assert not ModelVersion.objects.exists()


def test_seed_demo_sets_up_a_model_users_a_key_and_traffic(db, settings):
    settings.DEBUG = settings.DEMO_MODE = True

    output = run("seed_demo", transactions=30, training_rows=3000)

    assert "demo API key: ra_" in output
    assert ModelVersion.objects.get().status == ModelVersion.Status.ACTIVE
    assert set(User.objects.values_list("username", flat=True)) == {"analyst", "auditor", "admin"}
    assert Prediction.objects.filter(request_id__startswith="demo-").count() == 30
    secret = output.split("demo API key: ")[1].split()[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert client.get("/api/v1/models/active/").status_code == 200


def test_seed_demo_run_twice_adds_nothing_but_a_fresh_key(db, settings):
    settings.DEBUG = settings.DEMO_MODE = True
    run("seed_demo", transactions=30, training_rows=3000)

    output = run("seed_demo", transactions=30, training_rows=3000)

    assert "password" not in output
    assert ModelVersion.objects.count() == 1
    assert Prediction.objects.count() == 30
    assert ApiKey.objects.count() == 1


def test_rotate_api_key_prints_a_new_secret_and_the_old_one_stops_working(db):
    _, old_secret = services.api_key_create(name="rotating")
    out = StringIO()
    call_command("rotate_api_key", "rotating", stdout=out)
    new_secret = out.getvalue().strip()

    assert new_secret != old_secret
    assert selectors.api_key_for_secret(secret=new_secret).name == "rotating"
    assert selectors.api_key_for_secret(secret=old_secret) is None


def test_rotate_api_key_refuses_an_unknown_name(db):
    with pytest.raises(CommandError, match="no live API key named 'nobody'"):
        call_command("rotate_api_key", "nobody")
