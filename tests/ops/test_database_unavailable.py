"""A request that cannot reach the database is answered 503 with Retry-After, never 500.

On PostgreSQL the test's connection is pointed at a port nothing listens on, as while the
server restarts; SQLite cannot be taken away from under an in-memory test database, so there
opening a cursor fails as it does when the file cannot be opened.
"""

import sqlite3

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client

from reviewapp import views


@pytest.fixture
def database_down(transactional_db, monkeypatch, closed_port):
    """down(): from now on every query of this thread fails to reach the database."""

    def down() -> None:
        if connection.vendor == "postgresql":
            connection.close()
            monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
            monkeypatch.setitem(connection.settings_dict, "PORT", str(closed_port))
        else:

            def refuse(name=None):
                raise sqlite3.OperationalError("unable to open database file")

            monkeypatch.setattr(connection, "create_cursor", refuse)

    yield down
    monkeypatch.undo()
    if connection.vendor == "postgresql":
        connection.close()  # reconnect to the real server for the flush


@pytest.fixture
def client() -> Client:
    # Django's test client raises what a view raised; the answer is what is checked here.
    return Client(raise_request_exception=False)


def assert_unavailable(response, settings) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.DATABASE_RETRY_AFTER_SECONDS)
    assert response.json() == {
        "detail": "The database cannot be reached for now; retry after the Retry-After header's seconds."
    }


def test_the_api_answers_503_with_retry_after(api_key_and_secret, client, database_down, settings):
    database_down()

    response = client.get("/api/v1/models/active/", HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}")

    assert_unavailable(response, settings)


def test_the_api_for_people_answers_503_too(make_user, client, database_down, settings):
    client.force_login(make_user("admin"))
    database_down()

    response = client.get("/api/v1/models/")

    assert_unavailable(response, settings)


@pytest.mark.parametrize("fast_path", [True, False], ids=["lean route", "full route"])
@pytest.mark.parametrize("key_cached", [False, True], ids=["key looked up", "key cached"])
def test_scoring_answers_503_either_way(
    active_model, api_key_and_secret, client, database_down, settings, transactions, fast_path, key_cached
):
    settings.SCORING_FAST_PATH = fast_path
    records = transactions(2)
    post = lambda record: client.post(  # noqa: E731
        "/api/v1/predictions/",
        {"features": record},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}",
    )
    if key_cached:  # the key is known, so the scoring service itself meets the outage
        settings.API_KEY_CACHE_SECONDS = 60
        assert post(records[0]).status_code == 201
    database_down()

    response = post(records[1])

    assert_unavailable(response, settings)


def test_a_page_answers_503_with_retry_after(make_user, client, database_down, settings):
    client.force_login(make_user("analyst"))
    database_down()  # the session and the user are read from the database

    response = client.get("/reviews/", HTTP_ACCEPT="text/html,application/xhtml+xml")

    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.DATABASE_RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    assert b"The database cannot be reached for now" in response.content


def test_readiness_names_the_database_and_liveness_does_not_care(
    active_model, client, database_down, settings
):
    settings.REDIS_URL = ""
    database_down()

    ready = client.get("/readyz")
    alive = client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["failed"][0] == "database"  # the model's check reads the database too
    assert ready.json()["checks"]["database"]["error"] == "OperationalError"
    assert alive.status_code == 200


def test_it_is_logged_as_an_error(api_key_and_secret, client, database_down, log_lines):
    database_down()

    client.get("/api/v1/models/active/", HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}")

    (line,) = [line for line in log_lines() if line["message"] == "database unavailable: answered 503"]
    assert line["level"] == "ERROR"
    assert "OperationalError" in line["exc_info"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (OperationalError("server closed the connection"), 503),
        (IntegrityError("a bug"), 500),
        (ValueError(), 500),
    ],
)
def test_other_uncaught_errors_stay_500(rf, error, status):
    try:
        raise error
    except Exception:
        response = views.server_error(rf.get("/reviews/"))

    assert response.status_code == status
    assert ("Retry-After" in response) is (status == 503)
