"""Browser security: deploy settings pass Django's checks, forms refuse a missing CSRF token."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.test import Client
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parents[2]
# Overrides the tests set for themselves must not leak into the production check.
_TEST_OVERRIDES = (
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
    # The browser tests set it for their own process; deployment must not.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def _production_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _TEST_OVERRIDES}
    env.update(
        DJANGO_SETTINGS_MODULE="reviewapp.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="reviewapp.example.com",
    )
    return env


def _settings_in_a_fresh_process(code: str, *, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `code` after django.setup() in a new interpreter, where settings read `env` afresh."""
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_passes_the_deploy_check_with_debug_off():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_is_secure_by_default_with_debug_off():
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.X_FRAME_OPTIONS, s.SESSION_COOKIE_SAMESITE)"
    )
    result = _settings_in_a_fresh_process(code, env=_production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "DENY", "Lax"]


def test_each_setting_can_be_overridden_by_the_environment():
    env = {
        **_production_env(),
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    }
    code = "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER)"
    result = _settings_in_a_fresh_process(code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ('HTTP_X_FORWARDED_PROTO', 'https')"


def test_it_exempts_health_checks_from_the_ssl_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get(reverse("login")).status_code == 301


def test_it_denies_framing(client):
    response = client.get(reverse("login"))

    assert response.headers["X-Frame-Options"] == "DENY"


def test_it_refuses_a_form_post_without_the_csrf_token(make_user, active_model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("analyst"))

    response = client.post(reverse("reviews:next"))

    assert response.status_code == 403


def test_pages_carry_a_policy_without_inline_scripts(client):
    policy = client.get(reverse("login")).headers["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_json_api_answers_carry_a_policy_that_allows_nothing(api_client, active_model):
    response = api_client.get("/api/v1/models/active/")

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
