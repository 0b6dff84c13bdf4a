"""The scoring endpoint's lean route: `POST /api/v1/predictions/` from an upstream system.

A scoring request with an API key needs none of what a browser page does: sessions, CSRF,
messages, login lockouts, URL resolution or DRF's per-request machinery (content negotiation,
request wrapping, the permission and throttle loops, the response's template of headers). This
middleware answers such a request itself, early in the chain, with the same steps in the same
order as the DRF view (authenticate the key, rate-limit, parse, validate, score, store, answer)
and the same pieces where they decide an answer (the key authentication, the throttle, the
parser, the input check, the service, the exception handler, the JSON renderer), so every
answer is the one the full route gives, byte for byte: tests/predictions/test_fast_path.py
sends a corpus of good and bad requests both ways and compares them.

Anything it is not sure to answer identically (no or another kind of credentials, another
media type or Accept, an oversized body, a key that fails to authenticate, which must be
counted against the client IP) passes down the chain unchanged before any side effect, and the
full route answers it. SCORING_FAST_PATH=0 sends everything the full way.

What it saves is measured in bench/README.md.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from rest_framework import exceptions, status

from audit.actors import actor_name
from predictions import services
from predictions.api import serializers
from predictions.api.authentication import KEYWORD, ApiKeyAuthentication
from predictions.models import ApiKey
from reviewapp.api.exceptions import exception_handler
from reviewapp.api.parsers import JSONParser
from reviewapp.api.renderers import JSONRenderer
from reviewapp.api.throttling import CallerRateThrottle
from reviewapp.middleware import ContentSecurityPolicyMiddleware

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http.response import HttpResponseBase

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


class ScoringFastPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self._resolved: Any = None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not (settings.SCORING_FAST_PATH and _eligible(request)):
            return self.get_response(request)
        request.get_host()  # ALLOWED_HOSTS, as the common middleware this route skips checks it
        try:
            api_key = ApiKeyAuthentication().authenticate(request)  # type: ignore[arg-type]  # reads META only
        except exceptions.AuthenticationFailed:
            api_key = None
        if api_key is None:  # the full route answers 401 and counts the failure against the IP
            return self.get_response(request)
        return self._answer(request, api_key[0])

    def _answer(self, request: HttpRequest, api_key: ApiKey) -> HttpResponse:
        # The route as the full way names it (metrics, the access line) and its Allow header.
        if self._resolved is None:
            match = resolve(SCORING_PATH)
            view = match.func.view_class(**match.func.view_initkwargs)  # type: ignore[attr-defined]
            view.setup(request)  # as Django would: it adds HEAD where there is GET
            self._resolved = (match, ", ".join(view.allowed_methods))
        request.resolver_match, allowed = self._resolved
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


def _eligible(request: HttpRequest) -> bool:
    meta = request.META
    if request.method != "POST" or request.path_info != SCORING_PATH or settings.DISALLOWED_USER_AGENTS:
        return False
    if not meta.get("HTTP_AUTHORIZATION", "").lower().startswith(_KEYWORD_PREFIX):
        return False
    if meta.get("CONTENT_TYPE", "").lower() not in _JSON_TYPES:
        return False
    if meta.get("HTTP_ACCEPT", "") not in _ANY_ACCEPT:
        return False
    try:
        return 0 < int(meta.get("CONTENT_LENGTH") or 0) <= settings.MAX_REQUEST_BODY_BYTES
    except ValueError:
        return False


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
    return serializers.PredictionSerializer(prediction).data, code
