import io

import pytest
from django.core.management import CommandError, call_command

from predictions import registry
from predictions.models import ModelArtifact, ModelVersion
from tests.predictions.helpers import artifact_remove


def run_ensure_model(**options) -> str:
    out = io.StringIO()
    call_command("ensure_model", stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_it_trains_and_activates_a_model_when_none_is_active():
    run_ensure_model(rows=5_000)

    active = ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE)
    assert active.version == 1
    assert ModelArtifact.objects.filter(model_version=active).exists()


def test_it_leaves_an_active_model_alone(active_model):
    output = run_ensure_model(rows=5_000)

    assert "nothing to do" in output
    assert list(ModelVersion.objects.values_list("version", "status")) == [(1, "active")]


def test_it_refuses_when_the_active_artifact_is_missing(active_model):
    path = registry.artifact_full_path(active_model)
    artifact_remove(active_model)

    with pytest.raises(CommandError, match=str(path)):
        run_ensure_model()
    assert ModelVersion.objects.count() == 1
