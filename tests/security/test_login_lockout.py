"""Login brute force: django-axes locks a username out after repeated failures, audited."""

from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent


def _login(client: Client, password: str):
    return client.post(reverse("login"), {"username": "analyst", "password": password})


def test_it_locks_out_a_user_after_repeated_failures(settings, make_user):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("analyst")
    client = Client()
    for _ in range(3):
        _login(client, "wrong")

    response = _login(client, "pw-for-tests-only")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_records_the_lockout_in_the_audit_log(settings, make_user):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("analyst")
    client = Client()
    for _ in range(3):
        _login(client, "wrong")

    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_LOCKED_OUT)
    assert event.actor == "login:analyst@127.0.0.1"
    assert event.object_type == "user"


def test_a_correct_password_before_the_limit_logs_in(settings, make_user):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("analyst")
    client = Client()
    _login(client, "wrong")

    response = _login(client, "pw-for-tests-only")

    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_LOCKED_OUT).exists()


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(settings, make_user):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("analyst")
    client = Client()
    for n in range(3):
        client.post(
            reverse("login"),
            {"username": "analyst", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    response = client.post(
        reverse("login"),
        {"username": "analyst", "password": "pw-for-tests-only"},
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )

    assert response.status_code == 429
