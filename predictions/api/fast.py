"""The scoring endpoint's lean route: `POST /api/v1/predictions/` from an upstream system.

A scoring request with an API key needs none of what a browser page does: sessions, CSRF,
messages, login lockouts, URL resolution or DRF's per-request machinery (content negotiation,
request wrapping, the permission and throttle loops, the response's template of headers), nor
Django's request signals, whose receivers (connection and cache housekeeping) cost more than
all the middleware this route skips (bench/README.md). So the web server's application is
`ScoringFront`, a WSGI application in front of Django's: it answers such a request itself, and
hands everything else to Django untouched.

It answers with the same steps in the same order as the DRF view (authenticate the key,
rate-limit, parse, validate, score, store, answer), through the same pieces where they decide
an answer (the key authentication, the throttle, the parser, the input check, the service, the
exception handler, the JSON renderer), wrapped in the middleware whose work shows in the answer
or around it (security headers, the request ID, the access line, the request metrics), so every
answer is the one the full route gives, byte for byte: tests/predictions/test_fast_path.py
sends a corpus of good and bad requests both ways and compares them.

Anything it is not sure to answer identically (no or another kind of credentials, another
media type or Accept, an oversized body, a Host not allowed, plain HTTP where HTTPS is
required, a key that fails to authenticate, which must be counted against the client IP, a
database that cannot be asked) goes to Django before any side effect, and the full route
answers it. SCORING_FAST_PATH=0 sends everything the full way.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.urls import resolve, set_script_prefix
from django.utils.log import log_response
from rest_framework import exceptions, status

from audit.actors import actor_name
from predictions import persistence, services
from predictions.api import serializers
from predictions.api.authentication import KEYWORD, ApiKeyAuthentication
from predictions.models import ApiKey
from reviewapp.api.exceptions import exception_handler
from reviewapp.api.parsers import JSONParser
from reviewapp.api.renderers import JSONRenderer
from reviewapp.api.throttling import CallerRateThrottle
from reviewapp.logs import request_id_var
from reviewapp.middleware import ContentSecurityPolicyMiddleware, RequestTelemetryMiddleware

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    StartResponse = Callable[..., Any]
    WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

SCORING_PATH = "/api/v1/predictions/"
_KEYWORD_PREFIX = KEYWORD.lower() + " "
# Media types the JSON parser and renderer take without negotiation: anything else (a charset
# other than UTF-8, text/html in Accept, ...) is the full route's to answer or refuse.
_JSON_TYPES = frozenset(
    {"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"}
)
_ANY_ACCEPT = frozenset({"", "*/*", "application/json"})


class _Caller:
    """What DRF's throttle and exception handler read of a request: its caller and its META."""

    def __init__(self, request: HttpRequest, api_key: ApiKey) -> None:
        self._request = request
        self.META = request.META
        self.user = self.auth = api_key


class ScoringFront:
    """The WSGI application the web server runs: the lean route for scoring, Django for the rest."""

    def __init__(self, django: WSGIApplication) -> None:
        self.django = django
        # The middleware of the full route that acts on this answer, in the full route's order,
        # each wrapped as Django's handler wraps it, so an exception becomes the same answer.
        answer: Any = convert_exception_to_response(self._answer)
        for middleware in (RequestTelemetryMiddleware, SecurityMiddleware):
            answer = convert_exception_to_response(middleware(answer))
        # Synchronous all the way, and every answer an HttpResponse (ours, or an error page).
        self._respond: Callable[[HttpRequest], HttpResponse] = answer
        # What Django's request signals do for a request, all this route needs of them: give back
        # a connection that broke or outlived DATABASE_CONN_MAX_AGE, forget the request ID.
        # Only the default connection, the one this route uses (Django's signals tidy any other
        # after the requests that use it): walking every alias cost three times as much.
        # Tests, whose requests run inside a transaction, put nothing here (as Django's test
        # client disconnects close_old_connections).
        self.connections_tidy: Callable[[], None] = _connection_tidy
        self._resolved: Any = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not (settings.SCORING_FAST_PATH and _eligible(environ)):
            return self.django(environ, start_response)
        set_script_prefix(get_script_name(environ))  # as Django's handler does first
        request = WSGIRequest(environ)
        api_key = _caller_key(request)
        if api_key is None:
            return self.django(environ, start_response)
        request.scoring_api_key = api_key  # type: ignore[attr-defined]  # for _answer
        try:
            with persistence.group_commit_expected():  # its commit group's leader waits for its row
                response = self._respond(request)
            if response.status_code >= 400:  # logged as Django's handler logs it
                log_response(
                    "%s: %s", response.reason_phrase, request.path, response=response, request=request
                )
            start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
            # The body itself, not the response: closing a response sends request_finished.
            return [response.content]
        finally:
            self.connections_tidy()
            request_id_var.set("")

    def _answer(self, request: HttpRequest) -> HttpResponse:
        # The route as the full way names it (metrics, the access line) and its Allow header.
        if self._resolved is None:
            match = resolve(SCORING_PATH)
            view = match.func.view_class(**match.func.view_initkwargs)  # type: ignore[attr-defined]
            view.setup(request)  # as Django would: it adds HEAD where there is GET
            self._resolved = (match, ", ".join(view.allowed_methods))
        request.resolver_match, allowed = self._resolved
        api_key: ApiKey = request.scoring_api_key  # type: ignore[attr-defined]
        caller = _Caller(request, api_key)
        try:
            data, code = _score(request, caller, api_key)
            headers: dict[str, str] = {}
        except Exception as error:  # answered as the DRF view would, or raised on as it would be
            response = exception_handler(error, {"request": caller, "view": None})
            if response is None:
                raise
            # Its own headers (Retry-After, ...), not the Content-Type it was made with.
            headers = {name: value for name, value in response.items() if name.lower() != "content-type"}
            data, code = response.data, response.status_code
        answer = HttpResponse(JSONRenderer().render(data), status=code, content_type="application/json")
        answer["Allow"] = allowed
        for name, value in headers.items():
            answer[name] = value
        # What the middleware this route skips would add: the clickjacking header, the API's
        # content security policy, and the body's length.
        answer["X-Frame-Options"] = settings.X_FRAME_OPTIONS
        answer["Content-Security-Policy"] = ContentSecurityPolicyMiddleware.API_POLICY
        answer["Content-Length"] = str(len(answer.content))
        return answer


def _connection_tidy() -> None:
    connection.close_if_unusable_or_obsolete()  # the calling thread's connection


def _eligible(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != SCORING_PATH:
        return False
    if settings.DISALLOWED_USER_AGENTS:
        return False
    if not environ.get("HTTP_AUTHORIZATION", "").lower().startswith(_KEYWORD_PREFIX):
        return False
    if environ.get("CONTENT_TYPE", "").lower() not in _JSON_TYPES:
        return False
    if environ.get("HTTP_ACCEPT", "") not in _ANY_ACCEPT:
        return False
    try:
        return 0 < int(environ.get("CONTENT_LENGTH") or 0) <= settings.MAX_REQUEST_BODY_BYTES
    except ValueError:
        return False


def _caller_key(request: WSGIRequest) -> ApiKey | None:
    """The request's API key, if this route can answer it; None sends it the full way."""
    if not _host_allowed(request):  # ALLOWED_HOSTS, as the common middleware this route skips checks it
        return None
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():  # the full route redirects it
        return None
    try:
        api_key = ApiKeyAuthentication().authenticate(request)  # type: ignore[arg-type]  # reads META only
    except Exception:  # a key refused (answered 401 and counted against the IP), or no database
        return None
    return api_key[0] if api_key else None


# Host headers checked against ALLOWED_HOSTS, and the verdicts: an upstream system sends the
# same one every time, and the check parsed and matched it again on each request. Bounded, as
# anyone can send any Host; forgotten when a setting it depends on changes (tests).
_hosts_checked: dict[tuple[str | None, ...], bool] = {}
_HOSTS_CHECKED_MAX = 256
_HOST_SETTINGS = frozenset({"ALLOWED_HOSTS", "DEBUG", "USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT"})


def _host_allowed(request: WSGIRequest) -> bool:
    """Whether `request.get_host()` accepts the request's Host."""
    meta = request.META
    # Everything get_host reads of a request, whatever the settings.
    raw_host = (
        meta.get("HTTP_X_FORWARDED_HOST"),
        meta.get("HTTP_HOST"),
        meta.get("SERVER_NAME"),
        meta.get("SERVER_PORT"),
        meta.get("HTTP_X_FORWARDED_PORT"),
    )
    allowed = _hosts_checked.get(raw_host)
    if allowed is None:
        try:
            request.get_host()
            allowed = True
        except DisallowedHost:
            allowed = False
        if len(_hosts_checked) >= _HOSTS_CHECKED_MAX:
            _hosts_checked.clear()
        _hosts_checked[raw_host] = allowed
    return allowed


@receiver(setting_changed)
def _hosts_forget(*, setting: str, **_: Any) -> None:
    if setting in _HOST_SETTINGS:
        _hosts_checked.clear()


def _score(request: HttpRequest, caller: _Caller, api_key: ApiKey) -> tuple[Any, int]:
    throttle = CallerRateThrottle()
    if not throttle.allow_request(caller, None):  # type: ignore[arg-type]  # reads auth, user, META
        raise exceptions.Throttled(throttle.wait())
    data = JSONParser().parse(io.BytesIO(request.body), "application/json", {"request": caller})
    request_id, features = serializers.prediction_input(data)
    prediction, created = services.prediction_create(
        api_key=api_key, request_id=request_id, features=features, actor=actor_name(api_key=api_key)
    )
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return serializers.prediction_representation(prediction), code
