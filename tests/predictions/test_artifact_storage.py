"""Artifacts live in the database, so processes share no volume; older versions keep their file."""

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from predictions import registry, services
from predictions.models import ModelArtifact, ModelVersion
from predictions.scoring import ArtifactError
from tests.predictions.helpers import artifact_tamper


@pytest.fixture
def another_pod(settings, tmp_path):
    """Switch to a process on another host: an empty MODEL_ARTIFACT_DIR, nothing loaded yet."""

    def switch():
        settings.MODEL_ARTIFACT_DIR = tmp_path / "another-pod" / "models"
        registry.forget()

    return switch


def legacy(version: ModelVersion) -> ModelVersion:
    """Make `version` look registered before the database held artifacts: its file only."""
    ModelArtifact.objects.filter(pk=version.pk).delete()
    return version


def scores_with(version: ModelVersion, features: dict) -> float:
    return registry.load_version(version).score([features])[0].score


# --- registering ---------------------------------------------------------------------------


def test_registering_stores_the_artifact_bytes_with_the_version(register_model):
    version = register_model(activate=False)

    stored = ModelArtifact.objects.get(model_version=version)
    assert hashlib.sha256(bytes(stored.data)).hexdigest() == version.sha256
    assert stored.size == len(stored.data)


def test_registering_also_writes_the_file_where_the_directory_can_be_written(register_model):
    version = register_model(activate=False)

    path = registry.artifact_full_path(version)
    assert path.read_bytes() == bytes(ModelArtifact.objects.get(model_version=version).data)


def test_registering_works_where_the_artifact_directory_cannot_be_written(register_model, settings, tmp_path):
    not_a_directory = tmp_path / "read-only"
    not_a_directory.write_text("")
    settings.MODEL_ARTIFACT_DIR = not_a_directory / "models"

    version = register_model()

    assert not registry.artifact_full_path(version).exists()
    assert registry.get_active_model().version.pk == version.pk


# --- loading in another process --------------------------------------------------------------


def test_a_version_registered_in_one_pod_loads_in_another_with_an_empty_artifact_dir(
    register_model, another_pod, api_client, features
):
    version = register_model(activate=False)
    another_pod()

    call_command("activate_model", str(version.version), stdout=StringIO())
    response = api_client.post("/api/v1/predictions/", {"features": features}, format="json")

    assert not registry.artifact_full_path(version).exists()
    assert response.status_code == 201, response.content
    assert response.json()["model_version"] == version.version


def test_activation_and_rollback_work_in_a_pod_without_the_files(register_model, another_pod):
    first = register_model()
    second = register_model()
    another_pod()

    services.model_version_activate(version=first.version, actor="test")
    assert registry.get_active_model().version.version == first.version
    services.model_version_activate(version=second.version, actor="test")
    assert registry.get_active_model().version.version == second.version


def test_a_tampered_database_copy_is_refused_even_beside_an_intact_file(register_model):
    version = register_model(activate=False)
    artifact_tamper(version)

    with pytest.raises(ArtifactError, match=r"stored in the database.* refusing to load it"):
        registry.load_version(version)


# --- versions registered before: a file only ----------------------------------------------------


def test_a_version_with_only_its_file_still_loads(register_model, features):
    version = legacy(register_model(activate=False))

    assert 0.0 <= scores_with(version, features) <= 1.0


def test_a_version_with_only_a_tampered_file_is_refused(register_model):
    version = legacy(register_model(activate=False))
    path = registry.artifact_full_path(version)
    path.write_bytes(path.read_bytes() + b"tampered")

    with pytest.raises(ArtifactError, match=f"{path} has sha256"):
        registry.load_version(version)


def test_a_version_with_neither_copy_is_refused_naming_the_file(register_model, another_pod):
    version = legacy(register_model(activate=False))
    another_pod()

    with pytest.raises(ArtifactError, match="is missing, and the database holds no copy"):
        registry.load_version(version)


def test_store_artifacts_copies_intact_files_in_and_reports_the_rest(register_model, features):
    intact = legacy(register_model(activate=False))
    gone = legacy(register_model(activate=False))
    registry.artifact_full_path(gone).unlink()
    altered = legacy(register_model(activate=False))
    path = registry.artifact_full_path(altered)
    path.write_bytes(path.read_bytes() + b"tampered")
    already = register_model(activate=False)
    out = StringIO()

    call_command("store_artifacts", stdout=out)

    assert out.getvalue().splitlines() == [
        f"v{intact.version}: copied into the database",
        f"v{gone.version}: no file: still not loadable here",
        f"v{altered.version}: file differs from the registered sha256: not copied",
    ]
    assert set(ModelArtifact.objects.values_list("pk", flat=True)) == {intact.pk, already.pk}
    registry.artifact_full_path(intact).unlink()
    assert 0.0 <= scores_with(intact, features) <= 1.0


def test_store_artifacts_has_nothing_to_do_when_every_artifact_is_stored(register_model):
    register_model(activate=False)
    out = StringIO()

    call_command("store_artifacts", stdout=out)

    assert "nothing to do" in out.getvalue()


# --- the upgrade: migrate copies the files in ----------------------------------------------------

BEFORE_THE_TABLE_IS_FILLED = ("predictions", "0011_model_artifact")


@pytest.mark.django_db(transaction=True)
def test_migrate_copies_intact_artifact_files_into_the_database(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    settings.MODEL_ARTIFACT_DIR.mkdir()
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE_THE_TABLE_IS_FILLED])
    old = executor.loader.project_state([BEFORE_THE_TABLE_IS_FILLED]).apps
    files = {"intact": b"intact bytes", "altered": b"altered bytes", "missing": None}
    for number, (name, data) in enumerate(files.items(), start=1):
        if data is not None:
            (settings.MODEL_ARTIFACT_DIR / f"{name}.joblib").write_bytes(data)
        old.get_model("predictions", "ModelVersion").objects.create(
            name=name,
            version=number,
            artifact_path=f"{name}.joblib",
            sha256=hashlib.sha256(b"intact bytes" if name != "missing" else b"").hexdigest(),
            feature_schema=[],
            review_threshold=0.85,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(leaves)

    stored = {artifact.model_version.name: bytes(artifact.data) for artifact in ModelArtifact.objects.all()}
    assert stored == {"intact": b"intact bytes"}
    assert ModelArtifact.objects.get().size == len(b"intact bytes")
    assert ModelVersion.objects.count() == 3
