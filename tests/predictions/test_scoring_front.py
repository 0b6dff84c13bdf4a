"""The scoring front: the application the web server runs, before Django's handler.

What Django's handler would do around a request, the front does for the ones it answers: it
gives back a database connection that outlived its age, forgets the request ID, and hands
every request it does not answer to Django unchanged. (That its answers are the full route's,
byte for byte, is test_fast_path.py's; that nothing behind them drops out, test_fast_path_features.py's.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.test import RequestFactory

from predictions.api.fast import ScoringFront
from predictions.models import Prediction
from reviewapp.logs import request_id_var
from tests.predictions.helpers import PREDICT_URL
from tests.servers import PROJECT_DIR, web_environment


def never_django(environ, start_response):
    raise AssertionError("Django was asked")


def scoring_environ(secret: str, features: dict, **extra) -> dict:
    body = json.dumps({"features": features})
    return (
        RequestFactory()
        .post(
            PREDICT_URL,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {secret}",
            **extra,
        )
        .environ
    )


def call(front: ScoringFront, environ: dict) -> tuple[str, dict, bytes]:
    started: dict = {}
    body = front(
        environ, lambda status, headers, exc_info=None: started.update(status=status, headers=headers)
    )
    return started["status"], dict(started["headers"]), b"".join(body)


def test_the_web_servers_application_is_the_front_before_djangos_handler(tmp_path):
    program = (
        "import reviewapp.wsgi as w; print(type(w.application).__name__, type(w.application.django).__name__)"
    )
    env = web_environment(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path=tmp_path)

    result = subprocess.run(
        [sys.executable, "-c", program], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ScoringFront", "WSGIHandler"]


def test_it_answers_a_scoring_request_without_django(active_model, api_key_and_secret, features):
    front = ScoringFront(never_django)
    front.connections_tidy = lambda: None  # the test's transaction stays open

    status, headers, body = call(front, scoring_environ(api_key_and_secret[1], features))

    assert status == "201 Created"
    assert headers["Content-Length"] == str(len(body))
    assert Prediction.objects.filter(request_id=json.loads(body)["request_id"]).exists()


def test_it_forgets_the_request_id_once_answered(active_model, api_key_and_secret, features):
    front = ScoringFront(never_django)
    front.connections_tidy = lambda: None

    status, headers, _ = call(
        front, scoring_environ(api_key_and_secret[1], features, HTTP_X_REQUEST_ID="req-7")
    )

    assert (status, headers["X-Request-ID"]) == ("201 Created", "req-7")
    assert request_id_var.get() == ""


@pytest.mark.postgres  # Django never closes SQLite's in-memory test database
def test_it_gives_back_a_connection_that_outlived_its_age(
    transactional_db, active_model, api_key_and_secret, features
):
    front = ScoringFront(never_django)
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1  # DATABASE_CONN_MAX_AGE has passed

    status, _, _ = call(front, scoring_environ(api_key_and_secret[1], features))

    assert status == "201 Created"
    assert connection.connection is None


@pytest.mark.parametrize(
    "change",
    [
        {"REQUEST_METHOD": "GET"},
        {"PATH_INFO": "/api/v1/predictions/batch/"},
        {"HTTP_AUTHORIZATION": "Bearer something"},
        {"CONTENT_TYPE": "text/plain"},
        {"HTTP_HOST": "evil.example"},
        {"HTTP_AUTHORIZATION": "Api-Key ra_nope.nope"},
    ],
    ids=lambda change: next(f"{k}={v}" for k, v in change.items()),
)
def test_what_it_does_not_answer_reaches_django_unchanged(change, active_model, api_key_and_secret, features):
    environ = {**scoring_environ(api_key_and_secret[1], features), **change}
    seen = []

    def django(environ, start_response):
        seen.append(environ)
        start_response("418 I'm a teapot", [])
        return [b"django"]

    status, _, body = call(ScoringFront(django), environ)

    assert (status, body) == ("418 I'm a teapot", b"django")
    assert seen == [environ]
    assert environ["wsgi.input"].read() != b""  # the body is Django's to read
    assert not Prediction.objects.exists()


def teapot(environ, start_response):
    start_response("418 I'm a teapot", [])
    return [b"django"]


def test_a_host_it_refused_is_answered_once_allowed_hosts_has_it(
    settings, active_model, api_key_and_secret, features
):
    front = ScoringFront(teapot)
    front.connections_tidy = lambda: None
    secret = api_key_and_secret[1]

    assert call(front, scoring_environ(secret, features))[0] == "201 Created"
    for _ in range(2):  # its verdict is remembered, the other Host's too
        assert (
            call(front, scoring_environ(secret, features, HTTP_HOST="evil.example"))[0] == "418 I'm a teapot"
        )
        assert call(front, scoring_environ(secret, features))[0] == "201 Created"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]

    assert call(front, scoring_environ(secret, features, HTTP_HOST="evil.example"))[0] == "201 Created"
