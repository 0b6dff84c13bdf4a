import hmac
import ipaddress
import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from reviewapp import metrics as app_metrics
from reviewapp.readiness import Probe, readiness_checks
from reviewapp.roles import ADMIN, ANALYST, AUDITOR, has_role

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 1.0


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so it is always fast."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, the broker answers, and each app's checks pass (the
    active model is loaded: predictions' check).

    200 with each check's result, or 503 naming the checks that failed.
    """
    checks = {
        "database": _check("database", _database),
        "broker": _check("broker", _broker),
        **{name: _check(name, probe) for name, probe in readiness_checks().items()},
    }
    failed = [name for name, check in checks.items() if check["status"] == "fail"]
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


def _check(name: str, probe: Probe) -> dict[str, Any]:
    """Run one probe: its own details with "ok", or "fail" and the error, and how long it took."""
    started = time.perf_counter()
    try:
        result = {"status": "ok", **probe()}
    except Exception as exc:  # any failure means not ready
        # The answer is public: it names the error; the log line has the details.
        logger.warning("readiness check %s failed: %s", name, exc, exc_info=True)
        result = {"status": "fail", "error": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _broker() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"status": "skipped", "detail": "in-process tasks"}
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
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
