"""API keys: prefix, expiry, revocation, last use, and each key sees only its own predictions."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from predictions import services
from predictions.models import ApiKey
from tests.predictions.helpers import PREDICT_URL, detail_url, post_json

ACTIVE_URL = "/api/v1/models/active/"


def client_for(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def test_an_expired_key_is_refused_as_expired(active_model):
    api_key, secret = services.api_key_create(name="old")
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client_for(secret).get(ACTIVE_URL)

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_key_expiring_later_is_accepted(active_model):
    api_key, secret = services.api_key_create(name="soon")
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() + timedelta(days=1))

    assert client_for(secret).get(ACTIVE_URL).status_code == 200


def test_create_api_key_sets_an_expiry_in_days(active_model):
    out = StringIO()
    call_command("create_api_key", "payments", "--expires-in-days", "30", stdout=out)

    api_key = ApiKey.objects.get(name="payments")
    expected = timezone.now() + timedelta(days=30)
    assert abs((api_key.expires_at - expected).total_seconds()) < 60
    assert client_for(out.getvalue().strip()).get(ACTIVE_URL).status_code == 200


def test_create_api_key_has_no_expiry_by_default(db):
    call_command("create_api_key", "payments", stdout=StringIO())

    assert ApiKey.objects.get(name="payments").expires_at is None


def test_a_revoked_key_is_refused(active_model):
    api_key, secret = services.api_key_create(name="leaked")
    client = client_for(secret)
    assert client.get(ACTIVE_URL).status_code == 200

    services.api_key_revoke(api_key=api_key, actor="test")
    response = client.get(ACTIVE_URL)

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_the_admin_revokes_selected_keys(active_model, client, make_user):
    api_key, secret = services.api_key_create(name="leaked")
    client.force_login(make_user("admin"))

    response = client.post(
        "/admin/predictions/apikey/",
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert client_for(secret).get(ACTIVE_URL).status_code == 401


def test_the_admin_lists_prefix_and_expiry_but_not_the_secret(db, client, make_user):
    api_key, secret = services.api_key_create(name="listed")
    client.force_login(make_user("admin"))

    listing = client.get("/admin/predictions/apikey/").content.decode()
    change = client.get(f"/admin/predictions/apikey/{api_key.pk}/change/").content.decode()

    assert api_key.prefix in listing
    assert "Expires at" in listing
    assert "expires_at" in change
    assert secret not in listing + change
    assert api_key.key_hash not in listing + change


def test_it_records_when_a_key_was_last_used(active_model):
    api_key, secret = services.api_key_create(name="busy")
    assert api_key.last_used_at is None

    before = timezone.now()
    client_for(secret).get(ACTIVE_URL)

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    assert api_key.last_used_at >= before


def test_a_key_gets_404_for_another_keys_prediction(active_model, api_client, other_api_client, features):
    post_json(api_client, PREDICT_URL, {"request_id": "order-1", "features": features})

    assert other_api_client.get(detail_url("order-1")).status_code == 404
    assert api_client.get(detail_url("order-1")).status_code == 200
