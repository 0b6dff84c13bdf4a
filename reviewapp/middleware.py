from __future__ import annotations

import ipaddress
import logging
import time
from typing import TYPE_CHECKING, Any

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.http.request import split_domain_port
from django.utils.functional import empty

from reviewapp import logs, metrics, views
from reviewapp.roles import ADMIN, has_role

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http.response import HttpResponseBase
    from rest_framework.request import Request

    GetResponse = Callable[[HttpRequest], HttpResponseBase]

access_logger = logging.getLogger("reviewapp.access")
# Probes and scrapes arrive every few seconds: counted in the metrics, not logged.
UNLOGGED_ROUTES = frozenset({"healthz", "readyz", "metrics"})


class RequestTelemetryMiddleware:
    """Give each request an ID, then log one access line for it and count it in the metrics.

    The ID is the client's `X-Request-ID` when valid, else a new one; it is in every log line
    written while the request runs (and in the Celery tasks it enqueues), and in the response.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # From META, where the server put it: request.headers builds a dict of every header.
        request_id = logs.request_id_from_header(request.META.get(logs.REQUEST_ID_META))
        # Cleared by the request_finished signal (reviewapp.logs) or, for the requests it
        # answers, the scoring front, not here: 4xx/5xx answers are logged ("django.request")
        # after the middleware has returned.
        logs.request_id_var.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]  # ours: audit reads it
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route = metrics.route_name(request)
        metrics.request_observe(
            route=route, method=request.method or "", status=response.status_code, seconds=seconds
        )
        if route not in UNLOGGED_ROUTES:
            _log_access(request, response, route=route, seconds=seconds)
        response[logs.REQUEST_ID_HEADER] = request_id
        return response


def _log_access(request: HttpRequest, response: HttpResponseBase, *, route: str, seconds: float) -> None:
    duration_ms = round(seconds * 1000, 1)
    access_logger.info(
        "%s %s %s %.1f ms",
        request.method,
        request.path,
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            **_caller(request),
        },
    )


def access_log_api_key_set(*, request: HttpRequest | Request, name: str) -> None:
    """Name the API key that made the request in its access line (its authentication calls this)."""
    # On the HttpRequest this middleware holds: DRF passes its own Request, which wraps it.
    http_request: Any = getattr(request, "_request", request)
    http_request.api_key_name = name


def _caller(request: HttpRequest) -> dict[str, str]:
    """Who made the request, as far as is known without a database query of its own."""
    api_key_name = getattr(request, "api_key_name", None)
    if api_key_name is not None:
        return {"api_key": api_key_name}
    user: Any = request.__dict__.get("user")
    # The session user is lazy: name it only if the request already looked it up.
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is not empty and getattr(wrapped, "is_authenticated", False):
        return {"user": wrapped.get_username()}
    return {}


class ProbeMiddleware:
    """Answer the probes and the scrape (`/healthz`, `/readyz`, `/metrics`) whatever the Host.

    Kubelet's probes and Prometheus' Kubernetes discovery address a pod by its IP
    (`Host: 10.1.2.3:8000`), which ALLOWED_HOSTS cannot list in advance; further down, Django's
    Host check (the common middleware) answers them 400 and every probe fails. So they are
    answered here, before it, and before sessions, CSRF and authentication, which they do not
    use. Every other path (and any other method) passes on and is checked as before.

    /healthz and /readyz answer any Host: nothing in their answers depends on it or needs
    hiding. /metrics, which trusts private client addresses, takes any IP address as Host but a
    name only if ALLOWED_HOSTS has it: otherwise a web page that points its own name at a
    private address (DNS rebinding) could have a browser inside the network read it.
    """

    VIEWS = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}
    ANY_HOST = frozenset({"/healthz", "/readyz"})

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        view = self.VIEWS.get(request.path_info)
        if view is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if request.path_info not in self.ANY_HOST and not _host_is_an_address(request):
            request.get_host()  # raises DisallowedHost, answered 400, for a name not allowed
        response = view(request)
        # What the common middleware, skipped here, would add: the length, so it is not chunked.
        response.headers.setdefault("Content-Length", str(len(response.content)))
        return response


def _host_is_an_address(request: HttpRequest) -> bool:
    domain, _port = split_domain_port(request.META.get("HTTP_HOST", ""))
    try:
        ipaddress.ip_address(domain.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True


class BodySizeLimitMiddleware:
    """Answer 413 for an oversized body before anything reads it.

    The upload pages (UPLOAD_PATHS) take a larger body, but only from a signed-in admin: the
    CSRF check reads a POST's body before any view runs, so without this an anonymous request
    could have Django spool MAX_UPLOAD_BODY_BYTES to a temporary file. It therefore sits after
    the authentication middleware and before any view.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
        limit = settings.MAX_REQUEST_BODY_BYTES
        if request.path_info in settings.UPLOAD_PATHS and has_role(request.user, ADMIN):
            limit = settings.MAX_UPLOAD_BODY_BYTES
        if length > limit:
            return JsonResponse(
                {"detail": f"Request body is {length} bytes; the limit is {limit} bytes."},
                status=413,
            )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp for pages; the JSON API gets a fixed policy that forbids everything.

    django-csp builds its header anew for every response (nonces, per-view changes), which
    cost the scoring endpoint ~0.15 ms a request; a JSON answer needs no sources at all.
    """

    API_PREFIX = "/api/v1/"
    API_POLICY = "default-src 'none'; frame-ancestors 'none'"

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if request.path_info.startswith(self.API_PREFIX) and response.get("Content-Type", "").startswith(
            "application/json"
        ):
            response.headers.setdefault(HEADER, self.API_POLICY)
            return response
        return super().process_response(request, response)
