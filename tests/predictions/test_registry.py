"""The model registry: checksummed artifacts, one active version, activation and rollback."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from predictions import registry, services
from predictions.models import ModelVersion, Prediction
from predictions.scoring import ArtifactError
from tests.predictions.helpers import PREDICT_URL, artifact_remove, artifact_tamper, post_json


def scored_with(client, features: dict) -> int:
    response = post_json(client, PREDICT_URL, {"features": features})
    assert response.status_code == 201, response.content
    return response.json()["model_version"]


# --- refusing a broken artifact -------------------------------------------------------


def test_loading_refuses_a_tampered_artifact_naming_it(register_model):
    version = register_model(activate=False)
    artifact_tamper(version)

    with pytest.raises(ArtifactError) as refused:
        registry.load_version(version)

    assert f"{version.artifact_path} (stored in the database)" in str(refused.value)
    assert "sha256" in str(refused.value)


def test_loading_refuses_a_missing_artifact_naming_the_file(register_model):
    version = register_model(activate=False)
    artifact_remove(version)

    with pytest.raises(ArtifactError) as refused:
        registry.load_version(version)

    assert str(registry.artifact_full_path(version)) in str(refused.value)
    assert "missing" in str(refused.value)


@pytest.mark.parametrize("damage", [artifact_tamper, artifact_remove])
def test_activation_refuses_a_broken_artifact_and_changes_nothing(register_model, damage):
    current = register_model()
    candidate = register_model(activate=False)
    damage(candidate)

    with pytest.raises(CommandError) as refused:
        # Forced past the promotion gate (it never shadowed), so the artifact check is reached.
        call_command("activate_model", str(candidate.version), "--force", "--reason", "test")

    assert registry.artifact_full_path(candidate).name in str(refused.value)
    candidate.refresh_from_db()
    current.refresh_from_db()
    assert candidate.status == ModelVersion.Status.STAGED
    assert candidate.activated_at is None
    assert current.status == ModelVersion.Status.ACTIVE


def test_the_api_answers_503_when_the_active_artifact_was_tampered_with(active_model, api_client, features):
    artifact_tamper(active_model)
    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert response.status_code == 503
    assert registry.artifact_full_path(active_model).name in response.json()["detail"]
    assert Prediction.objects.count() == 0


def test_the_api_answers_503_when_the_active_artifact_is_missing(active_model, api_client, features):
    artifact_remove(active_model)
    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert response.status_code == 503
    assert "is missing" in response.json()["detail"]
    assert Prediction.objects.count() == 0


# --- exactly one active version -------------------------------------------------------


def test_the_database_allows_only_one_active_version(register_model):
    register_model()
    second = register_model(activate=False)

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(status=ModelVersion.Status.ACTIVE)

    assert ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).count() == 1


def test_activation_retires_the_previous_version(register_model):
    first = register_model()
    second = register_model()

    first.refresh_from_db()
    assert first.status == ModelVersion.Status.RETIRED
    assert second.status == ModelVersion.Status.ACTIVE
    assert second.activated_by == "test" and second.activated_at is not None


def test_it_answers_503_when_no_version_is_active(register_model, api_client, features):
    register_model(activate=False)
    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert response.status_code == 503
    assert response.json()["detail"].startswith("no model version is active")
    assert Prediction.objects.count() == 0
    assert api_client.get("/api/v1/models/active/").status_code == 503


# --- switching what the API scores with -----------------------------------------------


def test_activate_model_switches_the_api_and_activating_the_old_one_rolls_back(
    register_model, api_client, features
):
    first = register_model()
    second = register_model(activate=False)
    assert scored_with(api_client, features) == first.version

    # It never shadowed: the promotion gate (lifecycle) refuses it unless forced with a reason.
    call_command("activate_model", str(second.version), "--force", "--reason", "test", stdout=StringIO())
    assert scored_with(api_client, features) == second.version

    call_command("activate_model", str(first.version), stdout=StringIO())
    assert scored_with(api_client, features) == first.version
    assert api_client.get("/api/v1/models/active/").json()["version"] == first.version
    second.refresh_from_db()
    assert second.status == ModelVersion.Status.RETIRED


def test_it_picks_up_an_activation_made_by_another_process(register_model, api_client, features):
    first = register_model()
    second = register_model(activate=False)
    assert scored_with(api_client, features) == first.version

    # Another process switches versions: this process's cache is not told.
    ModelVersion.objects.filter(pk=first.pk).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.filter(pk=second.pk).update(status=ModelVersion.Status.ACTIVE)

    assert scored_with(api_client, features) == second.version


def test_it_asks_the_database_at_most_once_per_refresh_interval(
    register_model, api_client, features, settings
):
    settings.MODEL_REFRESH_SECONDS = 3600
    first = register_model()
    second = register_model(activate=False)
    assert scored_with(api_client, features) == first.version

    ModelVersion.objects.filter(pk=first.pk).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.filter(pk=second.pk).update(status=ModelVersion.Status.ACTIVE)

    assert scored_with(api_client, features) == first.version


def test_it_loads_the_active_model_once_per_process(active_model, api_client, features, monkeypatch):
    loads = []
    real_load = registry.load_version
    monkeypatch.setattr(registry, "load_version", lambda version: loads.append(version) or real_load(version))

    for _ in range(3):
        scored_with(api_client, features)

    assert len(loads) == 1
    assert registry.get_active_model() is registry.get_active_model()


def test_activate_model_rejects_an_unknown_version(active_model):
    with pytest.raises(CommandError, match="no model version 99"):
        call_command("activate_model", "99")


def test_activate_model_reports_what_it_activated(register_model):
    version = register_model(activate=False)
    out = StringIO()
    call_command("activate_model", str(version.version), stdout=out)

    assert f"activated card-fraud v{version.version} (active)" in out.getvalue()
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.activated_by.startswith("cli:")


def test_service_activation_refuses_a_tampered_artifact(register_model):
    version = register_model(activate=False)
    artifact_tamper(version)

    with pytest.raises(ArtifactError):
        services.model_version_activate(version=version.version, actor="test")

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.STAGED
