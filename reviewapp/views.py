import functools
import hmac
import ipaddress
import logging
import sys
import time
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views import defaults
from django.views.decorators.cache import never_cache

from reviewapp import errors
from reviewapp import metrics as app_metrics
from reviewapp.readiness import Probe, readiness_checks
from reviewapp.roles import ADMIN, ANALYST, AUDITOR, has_role

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 1.0
# Reported only, the broker must not hold the probe past kubelet's 1 s default timeout when
# Redis does not answer at all (a dropped route): Redis answers in a millisecond or not at all.
OPTIONAL_BROKER_TIMEOUT_SECONDS = 0.25


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so it is always fast."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: what a web process needs to serve. The database answers and each app's checks
    pass (the active model is loaded: predictions' check).

    The broker is reported but does not fail the probe: scoring goes on without it (the routing
    outbox and its sweeper catch up, rate limits fail open), so a Redis blip must not take every
    web process out of the load balancer. `?broker=1` makes it required, for whoever wants to
    know that everything answers. 200 with each check's result, or 503 naming the required
    checks that failed; `degraded` names the optional ones that failed.
    """
    broker_required = request.GET.get("broker", "").lower() in {"1", "true", "yes"}
    required = {"database": _database, **readiness_checks()}
    checks = {name: _check(name, probe, required=True) for name, probe in required.items()}
    timeout = BROKER_TIMEOUT_SECONDS if broker_required else OPTIONAL_BROKER_TIMEOUT_SECONDS
    checks["broker"] = _check("broker", functools.partial(_broker, timeout=timeout), required=broker_required)
    failed = [name for name, check in checks.items() if check["status"] == "fail" and check["required"]]
    degraded = [name for name, check in checks.items() if check["status"] == "fail" and not check["required"]]
    status = "fail" if failed else "degraded" if degraded else "ok"
    body = {"status": status, "failed": failed, "degraded": degraded, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


def _check(name: str, probe: Probe, *, required: bool) -> dict[str, Any]:
    """Run one probe: its own details with "ok", or "fail" and the error, whether it gates
    readiness, and how long it took."""
    started = time.perf_counter()
    try:
        result = {"status": "ok", **probe()}
    except Exception as exc:  # any failure means not ready
        # The answer is public: it names the error; the log line has the details.
        logger.warning("readiness check %s failed: %s", name, exc, exc_info=True)
        result = {"status": "fail", "error": type(exc).__name__}
    result["required"] = required
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _broker(*, timeout: float) -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"status": "skipped", "detail": "in-process tasks"}
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry_on_timeout=False,
    )
    try:
        client.ping()
    finally:
        client.close()
    return {}


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for the local network or a caller with the bearer token."""
    if not _may_scrape(request):
        return JsonResponse(
            {"detail": "Metrics are served to private networks or with 'Authorization: Bearer <token>'."},
            status=403,
        )
    if (problem := app_metrics.exposition_problem()) is not None:
        # Wrong figures would look right on every dashboard: refuse, so the scrape fails and
        # Prometheus' `up` says so.
        logger.error("/metrics refused: %s", problem)
        return HttpResponse(problem, status=500, content_type="text/plain; charset=utf-8")
    body, content_type = app_metrics.exposition()
    return HttpResponse(body, content_type=content_type)


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
    if token and scheme.lower() == "bearer":
        # Constant-time, so response timing does not reveal how much of a guess was right.
        return hmac.compare_digest(presented.strip().encode(), token.encode())
    # A forwarding header means a proxy relayed the request: its REMOTE_ADDR is the proxy's.
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return address.is_private or address.is_loopback


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each person to where their work is."""
    if has_role(request.user, ANALYST, ADMIN):
        return redirect("reviews:queue")
    if has_role(request.user, AUDITOR):
        return redirect("audit:search")
    return redirect("api-docs")


_UNAVAILABLE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service unavailable</title></head>
<body><h1>Service unavailable</h1><p>The database cannot be reached for now.
Please try again in a few seconds.</p></body></html>
"""


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: what any exception nobody caught becomes, in a view or in a middleware.

    An unreachable database is answered 503 with Retry-After (JSON for the API, a short page
    otherwise), so clients and load balancers retry instead of counting a failure; anything else
    is Django's 500. Django calls this while handling the exception, so it is still at hand.
    Nothing here may touch the database.
    """
    error = sys.exc_info()[1]
    if error is None or not errors.database_unavailable(error):
        return defaults.server_error(request)
    headers = errors.database_retry_after()
    if request.path_info.startswith("/api/") or "text/html" not in request.headers.get("Accept", ""):
        return JsonResponse({"detail": errors.DATABASE_UNAVAILABLE}, status=503, headers=headers)
    return HttpResponse(_UNAVAILABLE_PAGE, status=503, headers=headers)
