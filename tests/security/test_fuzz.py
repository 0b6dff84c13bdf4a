"""Schemathesis fuzzes every API operation in-process: no 5xx, and answers match the schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from predictions import selectors

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def keep_the_test_connection():
    """Like Django's test client: the test's transaction must survive each request's end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def key_headers(api_key_and_secret) -> dict:
    selectors.api_key_cache_clear()
    return {"Authorization": f"Api-Key {api_key_and_secret[1]}"}


@pytest.fixture
def api_schema(settings, key_headers, keep_the_test_connection):
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]  # schemathesis calls the app as localhost
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), headers=key_headers)


def test_the_api_survives_fuzzing_and_keeps_to_its_schema(active_model, key_headers, api_schema):
    failures = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6

    for operation in operations:

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def fuzz(case):
            case.call_and_validate(headers=key_headers, checks=CHECKS)

        try:
            fuzz()
        except BaseException as error:  # collect every failing operation, not only the first
            failures.append(f"{operation.label}: {error}")

    assert not failures, "\n\n".join(failures)
