import pytest
from rest_framework.test import APIClient

from predictions import registry, services
from predictions.models import ModelVersion


@pytest.fixture
def features(transactions) -> dict:
    """One valid demo transaction."""
    return transactions(1)[0]


@pytest.fixture
def features_by_confidence(active_model, transactions):
    """Demo transactions the active model is sure about, and ones it is not."""
    rows = transactions(400, seed=21)
    results = registry.get_active_model().scorer.score(rows)
    threshold = active_model.review_threshold
    sure = [row for row, result in zip(rows, results) if result.confidence >= threshold]
    unsure = [row for row, result in zip(rows, results) if result.confidence < threshold]
    assert sure and unsure, "the demo model should be sure of most traffic but not all"
    return {"sure": sure, "unsure": unsure}


@pytest.fixture
def sure_features(features_by_confidence) -> dict:
    return features_by_confidence["sure"][0]


@pytest.fixture
def unsure_features(features_by_confidence) -> dict:
    return features_by_confidence["unsure"][0]


@pytest.fixture
def other_api_client(db) -> APIClient:
    """A second upstream system with its own key."""
    _, secret = services.api_key_create(name="other-checkout")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def activate_with_threshold(register_model):
    """Register a model version with its own review threshold and activate it."""

    def activate(threshold: float) -> ModelVersion:
        version = register_model(activate=False)
        ModelVersion.objects.filter(pk=version.pk).update(review_threshold=threshold)
        return services.model_version_activate(version=version.version, actor="test")

    return activate
