import pytest
from rest_framework.test import APIClient

from predictions import services
from predictions.models import Prediction
from tests.outcomes.factories import predictions_made


@pytest.fixture
def make_predictions(active_model, transactions, api_key_and_secret):
    """make_predictions(count, api_key=<the api_client's key>): scored predictions."""
    default_key = api_key_and_secret[0]

    def make(count: int = 1, *, api_key=default_key, seed: int = 5) -> list[Prediction]:
        return predictions_made(records=transactions(count, seed=seed), api_key=api_key)

    return make


@pytest.fixture
def prediction(make_predictions) -> Prediction:
    """One prediction made with the api_client's key."""
    return make_predictions(1)[0]


@pytest.fixture
def other_key_and_secret(db):
    return services.api_key_create(name="other-checkout")


@pytest.fixture
def other_key_prediction(make_predictions, other_key_and_secret) -> Prediction:
    """A prediction another upstream system made with its own key."""
    return make_predictions(1, api_key=other_key_and_secret[0], seed=6)[0]


@pytest.fixture
def other_api_client(other_key_and_secret) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key_and_secret[1]}")
    return client


@pytest.fixture
def staff_client(make_user):
    """staff_client(role): an API client signed in as a person with that role."""

    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_login(make_user(role))
        return client

    return make
