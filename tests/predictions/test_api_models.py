"""The model registry API: list versions, activate one (the rollback), for admins only."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from predictions import registry
from predictions.models import ModelVersion
from tests.predictions.helpers import PREDICT_URL, artifact_remove, artifact_tamper, post_json

LIST_URL = "/api/v1/models/"


def activate_url(version: int) -> str:
    return f"/api/v1/models/{version}/activate/"


@pytest.fixture
def two_versions(register_model) -> tuple[ModelVersion, ModelVersion]:
    """v1 retired, v2 active: the situation a rollback starts from."""
    first = register_model()
    second = register_model()
    first.refresh_from_db()
    return first, second


@pytest.fixture
def admin_client(make_user) -> APIClient:
    client = APIClient()
    client.force_login(make_user("admin", "root"))
    return client


def test_an_admin_rolls_back_to_an_earlier_version(admin_client, two_versions):
    first, second = two_versions

    response = admin_client.post(activate_url(first.version))

    assert response.status_code == 200
    assert response.json()["version"] == first.version
    assert response.json()["status"] == "active"
    assert response.json()["activated_by"] == "user:root"
    statuses = dict(ModelVersion.objects.values_list("version", "status"))
    assert statuses == {first.version: "active", second.version: "retired"}
    event = AuditEvent.objects.filter(object_type="model_version").latest("id")
    assert (event.action, event.actor) == (AuditEvent.Action.MODEL_ROLLED_BACK, "user:root")
    assert (event.before, event.after) == ({"active_version": 2}, {"active_version": 1})


def test_the_next_prediction_is_scored_by_the_activated_version(
    admin_client, two_versions, api_client, features, settings
):
    first, _ = two_versions
    settings.MODEL_REFRESH_SECONDS = 3600  # no waiting for a refresh: the activation tells the cache
    assert post_json(api_client, PREDICT_URL, {"features": features}).json()["model_version"] == 2

    admin_client.post(activate_url(first.version))
    response = post_json(api_client, PREDICT_URL, {"features": features})

    assert response.status_code == 201
    assert response.json()["model_version"] == first.version


def test_other_processes_switch_within_the_refresh_period(two_versions, settings):
    settings.MODEL_REFRESH_SECONDS = 0
    assert registry.get_active_model().version.version == 2
    # Another process activates v1: this one's cache is not told, it asks the database.
    ModelVersion.objects.filter(version=2).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.filter(version=1).update(status=ModelVersion.Status.ACTIVE)

    assert registry.get_active_model().version.version == 1


def test_an_unknown_version_is_404_and_nothing_changes(admin_client, two_versions):
    response = admin_client.post(activate_url(99))

    assert response.status_code == 404
    assert response.json() == {"detail": "There is no model version 99."}
    assert ModelVersion.objects.get(status="active").version == 2


def test_a_tampered_artifact_is_refused_with_409_and_the_active_model_stays(admin_client, two_versions):
    first, _ = two_versions
    artifact_tamper(first)

    response = admin_client.post(activate_url(first.version))

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith("Version 1 was not activated; the active model is unchanged.")
    assert "refusing to load it" in detail
    assert ModelVersion.objects.get(status="active").version == 2
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MODEL_ROLLED_BACK).exists()


def test_a_missing_artifact_is_refused_with_409(admin_client, two_versions):
    first, _ = two_versions
    artifact_remove(first)

    response = admin_client.post(activate_url(first.version))

    assert response.status_code == 409
    assert "is missing" in response.json()["detail"]


def test_api_keys_cannot_activate_or_list_versions(api_client, two_versions):
    first, _ = two_versions

    assert api_client.post(activate_url(first.version)).status_code == 403
    assert api_client.get(LIST_URL).status_code == 403
    assert ModelVersion.objects.get(status="active").version == 2


@pytest.mark.parametrize("role", ["analyst", "auditor", None])
def test_only_admins_activate(client, make_user, two_versions, role):
    client.force_login(make_user(role))

    response = client.post(activate_url(1))

    assert response.status_code == 403
    assert ModelVersion.objects.get(status="active").version == 2


def test_anonymous_requests_are_refused(client, two_versions):
    assert client.post(activate_url(1)).status_code == 401
    assert client.get(LIST_URL).status_code == 401


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_list_every_version_newest_first(client, make_user, two_versions, role):
    client.force_login(make_user(role))

    response = client.get(LIST_URL)

    assert response.status_code == 200
    listed = response.json()
    assert [(v["version"], v["status"]) for v in listed] == [(2, "active"), (1, "retired")]
    assert {"metrics", "sha256", "threshold", "activated_at", "activated_by"} <= set(listed[0])


def test_analysts_do_not_list_versions(client, make_user, two_versions):
    client.force_login(make_user("analyst"))

    assert client.get(LIST_URL).status_code == 403
