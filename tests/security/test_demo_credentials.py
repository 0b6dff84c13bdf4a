"""The demo users and key that `make run` prints work only in demo mode (DEBUG=1, DEMO_MODE=1).

A database seeded as a demo and later served with DEBUG off keeps its rows, not their access.
"""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

ACTIVE_URL = "/api/v1/models/active/"


@pytest.fixture
def demo(db, settings):
    """Seed as `make run` does; return the printed passwords and API key."""
    settings.DEBUG = settings.DEMO_MODE = True
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", transactions=5, training_rows=3000, stdout=out)
    lines = out.getvalue().splitlines()
    passwords = {line.split()[2]: line.split()[4] for line in lines if line.startswith("demo user")}
    key = next(line.split(": ")[1] for line in lines if line.startswith("demo API key"))
    return passwords, key


def _logs_in(client, username: str, password: str) -> bool:
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_demo_users_sign_in_in_demo_mode(demo, client):
    passwords, _ = demo

    assert _logs_in(client, "analyst", passwords["analyst"])


@pytest.mark.parametrize("username", ["analyst", "auditor", "admin"])
def test_demo_users_are_refused_with_debug_off(demo, client, settings, username):
    passwords, _ = demo
    settings.DEBUG = False

    assert not _logs_in(client, username, passwords[username])


def test_a_demo_session_ends_when_demo_mode_is_off(demo, client, settings):
    client.force_login(User.objects.get(username="auditor"))
    assert client.get("/audit/").status_code == 200

    settings.DEMO_MODE = False

    assert client.get("/audit/").status_code == 302  # back to the login page


def test_the_demo_api_key_is_refused_with_debug_off(demo, settings):
    _, key = demo
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get(ACTIVE_URL).status_code == 200

    settings.DEBUG = False
    response = client.get(ACTIVE_URL)

    assert response.status_code == 401
    assert "demo mode" in response.json()["detail"]


def test_other_users_are_not_affected(db, client, settings, make_user):
    settings.DEBUG = settings.DEMO_MODE = False
    user = make_user("analyst", username="maria")
    user.set_password("a long passphrase")
    user.save()

    assert _logs_in(client, "maria", "a long passphrase")
