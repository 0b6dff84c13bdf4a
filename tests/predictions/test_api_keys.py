"""API keys: prefix, expiry, revocation, last use, and each key sees only its own predictions."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
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


def test_create_api_key_sets_a_rate_limit(db):
    call_command("create_api_key", "payments", "--rate-limit", "20000/min", stdout=StringIO())

    assert ApiKey.objects.get(name="payments").rate_limit == "20000/min"


def test_create_api_key_refuses_a_malformed_rate_limit(db):
    with pytest.raises(CommandError, match="rate_limit"):
        call_command("create_api_key", "payments", "--rate-limit", "lots", stdout=StringIO())

    assert not ApiKey.objects.exists()


def test_changing_a_key_in_the_admin_is_audited_with_its_secret_masked(db, client, make_user):
    api_key, _ = services.api_key_create(name="checkout")
    client.force_login(make_user("admin"))

    response = client.post(
        f"/admin/predictions/apikey/{api_key.pk}/change/",
        {
            "name": "checkout",
            "rate_limit": "20000/min",
            "callback_url": "https://checkout.example/hooks",
            "callback_secret": "s3cret-value",
        },
    )

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.rate_limit == "20000/min"
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_CHANGED)
    assert event.actor == "user:admin"
    assert event.before == {"rate_limit": "", "callback_url": "", "callback_secret": ""}
    assert event.after == {
        "rate_limit": "20000/min",
        "callback_url": "https://checkout.example/hooks",
        "callback_secret": "(set)",
    }
    assert "s3cret-value" not in str(event.after)


def test_the_admin_never_shows_the_callback_secret_and_keeps_it_when_left_empty(db, client, make_user):
    api_key, _ = services.api_key_create(name="checkout", callback_secret="s3cret-value")
    client.force_login(make_user("admin"))

    page = client.get(f"/admin/predictions/apikey/{api_key.pk}/change/").content.decode()
    response = client.post(
        f"/admin/predictions/apikey/{api_key.pk}/change/",
        {"name": "checkout", "rate_limit": "20000/min", "callback_secret": ""},
    )

    assert 'type="password"' in page
    assert "s3cret-value" not in page
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert (api_key.callback_secret, api_key.rate_limit) == ("s3cret-value", "20000/min")
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_CHANGED)
    assert event.after == {"rate_limit": "20000/min"}


def test_the_admin_refuses_a_malformed_rate_limit(db, client, make_user):
    api_key, _ = services.api_key_create(name="checkout")
    client.force_login(make_user("admin"))

    response = client.post(
        f"/admin/predictions/apikey/{api_key.pk}/change/", {"name": "checkout", "rate_limit": "fast"}
    )

    assert response.status_code == 200
    assert "is not a rate" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.rate_limit == ""
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.API_KEY_CHANGED).exists()


def test_a_change_that_changes_nothing_records_nothing(db):
    api_key, _ = services.api_key_create(name="checkout", rate_limit="10/min")

    services.api_key_update(api_key=api_key, actor="user:admin", rate_limit="10/min")

    assert not AuditEvent.objects.filter(action=AuditEvent.Action.API_KEY_CHANGED).exists()
