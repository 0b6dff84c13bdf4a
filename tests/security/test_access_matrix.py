"""Every URL of the project against every kind of caller, with the status each one must get.

A URL pattern without a row here fails the test: a new door needs a decision about who may
open it. The Django admin counts as one family (its index and one changelist); its own
internal URLs are left to the admin's staff check.
"""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from predictions import services
from predictions.models import ModelVersion
from tests.reviews.factories import routed_items

CALLERS = ["anonymous", "api_key", "analyst", "auditor", "admin"]
ADMIN_PREFIX = "admin/"
LOGIN = 302  # a page sends a caller without a session (or without staff rights) to a login page
# POSTs carry an empty body: 400 means the caller got past authentication and permissions
# to input validation.
INVALID = 400

# route pattern (plus " METHOD" for a second method on one route)
#   -> (method, URL with the fixture objects filled in, statuses in CALLERS order:
#       anonymous, api_key, analyst, auditor, admin)
MATRIX: dict[str, tuple[str, str, tuple[int, int, int, int, int]]] = {
    "": ("GET", "/", (302, 302, 302, 302, 302)),  # home sends each caller where their work is
    "healthz": ("GET", "/healthz", (200, 200, 200, 200, 200)),
    "readyz": ("GET", "/readyz", (200, 200, 200, 200, 200)),
    # /metrics is for the local network (the test client is 127.0.0.1) or a bearer token.
    "metrics": ("GET", "/metrics", (200, 200, 200, 200, 200)),
    "accounts/login/": ("GET", "/accounts/login/", (200, 200, 200, 200, 200)),
    "api/schema/": ("GET", "/api/schema/", (401, 200, 200, 200, 200)),
    "api/docs/": ("GET", "/api/docs/", (401, 200, 200, 200, 200)),
    # --- the API --------------------------------------------------------------------------
    "api/v1/models/": ("GET", "/api/v1/models/", (401, 403, 403, 200, 200)),
    "api/v1/models/active/": ("GET", "/api/v1/models/active/", (401, 200, 200, 200, 200)),
    "api/v1/models/<int:version>/activate/": (
        "POST",
        "/api/v1/models/{version}/activate/",
        (401, 403, 403, 403, 200),
    ),
    "api/v1/predictions/": ("GET", "/api/v1/predictions/", (401, 200, 403, 200, 200)),
    "api/v1/predictions/ POST": ("POST", "/api/v1/predictions/", (401, INVALID, 403, 403, INVALID)),
    "api/v1/predictions/batch/": ("POST", "/api/v1/predictions/batch/", (401, INVALID, 403, 403, INVALID)),
    "api/v1/predictions/<str:request_id>/": (
        "GET",
        "/api/v1/predictions/{request_id}/",
        (401, 200, 200, 200, 200),
    ),
    # Outcomes: API keys report on (and read) their own predictions' outcomes, admins on any.
    "api/v1/outcomes/": ("GET", "/api/v1/outcomes/", (401, 200, 403, 200, 200)),
    "api/v1/outcomes/ POST": ("POST", "/api/v1/outcomes/", (401, INVALID, 403, 403, INVALID)),
    "api/v1/outcomes/batch/": ("POST", "/api/v1/outcomes/batch/", (401, INVALID, 403, 403, INVALID)),
    # The scorecard and the what-if: auditors and admins, never an API key.
    "api/v1/quality/": ("GET", "/api/v1/quality/", (401, 403, 403, 200, 200)),
    "api/v1/quality/thresholds/": ("GET", "/api/v1/quality/thresholds/", (401, 403, 403, 200, 200)),
    # --- the review queue -----------------------------------------------------------------
    "reviews/": ("GET", "/reviews/", (LOGIN, LOGIN, 200, 403, 200)),
    "reviews/mine/": ("GET", "/reviews/mine/", (LOGIN, LOGIN, 200, 403, 200)),
    "reviews/counts/": ("GET", "/reviews/counts/", (LOGIN, LOGIN, 200, 403, 200)),
    "reviews/items/<int:pk>/": ("GET", "/reviews/items/{pk}/", (LOGIN, LOGIN, 200, 403, 200)),
    "reviews/next/": ("POST", "/reviews/next/", (LOGIN, LOGIN, 302, 403, 302)),
    "reviews/items/<int:pk>/claim/": ("POST", "/reviews/items/{pk}/claim/", (LOGIN, LOGIN, 302, 403, 302)),
    "reviews/items/<int:pk>/release/": (
        "POST",
        "/reviews/items/{pk}/release/",
        (LOGIN, LOGIN, 302, 403, 302),
    ),
    "reviews/items/<int:pk>/decide/": (
        "POST",
        "/reviews/items/{pk}/decide/",
        (LOGIN, LOGIN, INVALID, 403, INVALID),
    ),
    # --- audit ----------------------------------------------------------------------------
    "audit/": ("GET", "/audit/", (LOGIN, LOGIN, 403, 200, 200)),
    "audit/export.csv": ("GET", "/audit/export.csv", (LOGIN, LOGIN, 403, 200, 200)),
    "audit/export.jsonl": ("GET", "/audit/export.jsonl", (LOGIN, LOGIN, 403, 200, 200)),
    "audit/events/": ("GET", "/audit/events/", (LOGIN, LOGIN, 403, 200, 200)),
    "audit/predictions/<str:request_id>/": (
        "GET",
        "/audit/predictions/{request_id}/",
        (LOGIN, LOGIN, 403, 200, 200),
    ),
    # --- monitoring -----------------------------------------------------------------------
    "monitoring/": ("GET", "/monitoring/", (LOGIN, LOGIN, 200, 200, 200)),
    # --- outcomes -------------------------------------------------------------------------
    "outcomes/upload/": ("GET", "/outcomes/upload/", (LOGIN, LOGIN, 403, 403, 200)),
    "outcomes/upload/ POST": ("POST", "/outcomes/upload/", (LOGIN, LOGIN, 403, 403, INVALID)),
    # --- quality: auditors and admins (admins apply a threshold through lifecycle's
    # models/threshold/, below) ------------------------------------------------------------
    "quality/": ("GET", "/quality/", (LOGIN, LOGIN, 403, 200, 200)),
    "quality/thresholds/": ("GET", "/quality/thresholds/", (LOGIN, LOGIN, 403, 200, 200)),
    # --- lifecycle: shadowing and the comparison (admins shadow; auditors read). {version} is
    # the active one, which cannot shadow itself: an admin's POST is refused (409, or a message).
    "api/v1/models/<int:version>/shadow/": (
        "POST",
        "/api/v1/models/{version}/shadow/",
        (401, 403, 403, 403, 409),
    ),
    "api/v1/models/<int:version>/comparison/": (
        "GET",
        "/api/v1/models/{version}/comparison/",
        (401, 403, 403, 200, 200),
    ),
    "models/": ("GET", "/models/", (LOGIN, LOGIN, 403, 200, 200)),
    "models/<int:version>/shadow/": ("POST", "/models/{version}/shadow/", (LOGIN, LOGIN, 403, 403, 302)),
    "models/<int:version>/comparison/": (
        "GET",
        "/models/{version}/comparison/",
        (LOGIN, LOGIN, 403, 200, 200),
    ),
    "models/<int:version>/card/": ("GET", "/models/{version}/card/", (LOGIN, LOGIN, 403, 200, 200)),
    # --- lifecycle: activation through the promotion gate and four eyes (admins write; auditors
    # read the changes). The fixture's {version} is the active one: activating it again is allowed
    # ("already_active"); {pk} names no proposal, so an admin's decision is 404 (API) or a message.
    "api/v1/models/<int:version>/threshold/": (
        "POST",
        "/api/v1/models/{version}/threshold/",
        (401, 403, 403, 403, INVALID),
    ),
    "api/v1/models/<int:version>/audit-sample-rate/": (
        "POST",
        "/api/v1/models/{version}/audit-sample-rate/",
        (401, 403, 403, 403, INVALID),
    ),
    "api/v1/changes/": ("GET", "/api/v1/changes/", (401, 403, 403, 200, 200)),
    "api/v1/changes/<int:pk>/approve/": ("POST", "/api/v1/changes/{pk}/approve/", (401, 403, 403, 403, 404)),
    "api/v1/changes/<int:pk>/reject/": ("POST", "/api/v1/changes/{pk}/reject/", (401, 403, 403, 403, 404)),
    "api/v1/changes/<int:pk>/withdraw/": (
        "POST",
        "/api/v1/changes/{pk}/withdraw/",
        (401, 403, 403, 403, 404),
    ),
    "models/<int:version>/activate/": ("GET", "/models/{version}/activate/", (LOGIN, LOGIN, 403, 403, 200)),
    "models/<int:version>/activate/ POST": (
        "POST",
        "/models/{version}/activate/",
        (LOGIN, LOGIN, 403, 403, 302),
    ),
    "models/changes/": ("GET", "/models/changes/", (LOGIN, LOGIN, 403, 200, 200)),
    "models/changes/<int:pk>/approve/": (
        "POST",
        "/models/changes/{pk}/approve/",
        (LOGIN, LOGIN, 403, 403, 302),
    ),
    "models/changes/<int:pk>/reject/": (
        "POST",
        "/models/changes/{pk}/reject/",
        (LOGIN, LOGIN, 403, 403, 302),
    ),
    "models/changes/<int:pk>/withdraw/": (
        "POST",
        "/models/changes/{pk}/withdraw/",
        (LOGIN, LOGIN, 403, 403, 302),
    ),
    "models/threshold/": ("POST", "/models/threshold/", (LOGIN, LOGIN, 403, 403, 302)),
    "models/audit-sample-rate/": ("POST", "/models/audit-sample-rate/", (LOGIN, LOGIN, 403, 403, 302)),
    # --- the Django admin: staff only; others are sent to the admin login -------------------
    "admin/": ("GET", "/admin/", (LOGIN, LOGIN, LOGIN, LOGIN, 200)),
    "admin/predictions/apikey/": ("GET", "/admin/predictions/apikey/", (LOGIN, LOGIN, LOGIN, LOGIN, 200)),
    # Last: it ends the session. It renders the "logged out" page.
    "accounts/logout/": ("POST", "/accounts/logout/", (200, 200, 200, 200, 200)),
}


def url_patterns(patterns=None, prefix: str = "") -> list[str]:
    """Every route of the project as its pattern string, e.g. "reviews/items/<int:pk>/"."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(url_patterns(entry.url_patterns, route))
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def test_every_url_pattern_has_a_row():
    routes = url_patterns()
    rows = {row.split(" ")[0] for row in MATRIX}
    missing = [route for route in routes if route not in rows and not route.startswith(ADMIN_PREFIX)]

    assert not missing, f"URL patterns without a row in the access matrix: {missing}"
    assert not rows - set(routes) - {"admin/predictions/apikey/"}, "rows for URLs that are gone"


@pytest.fixture
def objects(review_model, transactions, api_key_and_secret) -> dict:
    """A review item whose prediction the API key made, so every parameter has an object."""
    item = routed_items(records=transactions(1), api_key=api_key_and_secret[0])[0]
    return {
        "pk": item.pk,
        "request_id": item.prediction.request_id,
        "version": ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).version,
    }


@pytest.fixture
def review_model(register_model) -> ModelVersion:
    """An active model that sends every prediction to review."""
    version = register_model(activate=False)
    ModelVersion.objects.filter(pk=version.pk).update(review_threshold=1.0)
    return services.model_version_activate(version=version.version, actor="test")


def caller_client(caller: str, api_key_and_secret, make_user) -> Client:
    if caller == "api_key":
        return Client(HTTP_AUTHORIZATION=f"Api-Key {api_key_and_secret[1]}")
    client = Client()
    if caller != "anonymous":
        user: User = make_user(caller)
        client.force_login(user)
    return client


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_gets_the_expected_status_everywhere(caller, objects, api_key_and_secret, make_user):
    client = caller_client(caller, api_key_and_secret, make_user)
    column = CALLERS.index(caller)
    wrong = []
    for method, url, statuses in MATRIX.values():
        url = url.format(**objects)
        if method == "GET":
            response = client.get(url)
        elif url.startswith("/api/"):
            response = client.post(url, "{}", content_type="application/json")
        else:
            response = client.post(url)
        if response.status_code != statuses[column]:
            wrong.append(f"{method} {url} as {caller}: {response.status_code}, expected {statuses[column]}")

    assert not wrong, "\n".join(wrong)
