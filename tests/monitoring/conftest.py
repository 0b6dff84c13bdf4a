import pytest

from predictions import services, switches
from predictions.models import ModelVersion


@pytest.fixture(autouse=True)
def fresh_switches():
    switches.forget()
    yield
    switches.forget()


@pytest.fixture
def sure_model(register_model) -> ModelVersion:
    """An active model whose review threshold is 0: by confidence alone nothing goes to review."""
    version = register_model(activate=False)
    ModelVersion.objects.filter(pk=version.pk).update(review_threshold=0.0)
    return services.model_version_activate(version=version.version, actor="test")


@pytest.fixture
def score():
    """score(records, prefix="txn"): store predictions the way the API does; returns them."""

    def make(records: list[dict], prefix: str = "txn") -> list:
        created, _ = services.predictions_create_batch(
            api_key=None,
            items=[{"request_id": f"{prefix}-{i}", "features": f} for i, f in enumerate(records)],
        )
        return created

    return make
