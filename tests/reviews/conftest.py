import pytest

from predictions import services
from predictions.models import ModelVersion
from tests.reviews.factories import routed_items


@pytest.fixture
def review_model(register_model) -> ModelVersion:
    """An active model whose review threshold is 1.0, so every prediction goes to review."""
    version = register_model(activate=False)
    ModelVersion.objects.filter(pk=version.pk).update(review_threshold=1.0)
    return services.model_version_activate(version=version.version, actor="test")


@pytest.fixture
def make_items(review_model, transactions):
    """make_items(count, api_key=None, seed=5): routed review items, highest priority first."""

    def make(count: int, *, api_key=None, seed: int = 5):
        return routed_items(records=transactions(count, seed=seed), api_key=api_key)

    return make


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", "alice")


@pytest.fixture
def other_analyst(make_user):
    return make_user("analyst", "bob")


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture
def sampling_model(register_model):
    """sampling_model(rate, review_threshold=0.5): an active model drawing an audit sample at `rate`.

    With a threshold of 0.5 no prediction is unsure (confidence is at least 0.5), so every
    prediction that reaches the queue is an audit sample.
    """

    def activate(rate: float, *, review_threshold: float = 0.5) -> ModelVersion:
        version = register_model(activate=False)
        ModelVersion.objects.filter(pk=version.pk).update(
            audit_sample_rate=rate, review_threshold=review_threshold
        )
        return services.model_version_activate(version=version.version, actor="test")

    return activate


@pytest.fixture
def make_samples(sampling_model, transactions):
    """make_samples(count, api_key=None, seed=5): audit samples routed to the queue as blind items."""

    def make(count: int, *, api_key=None, seed: int = 5):
        sampling_model(1.0)
        return routed_items(records=transactions(count, seed=seed), api_key=api_key)

    return make
