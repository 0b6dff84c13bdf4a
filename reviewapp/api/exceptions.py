"""Domain errors become HTTP answers in one place, so views stay thin."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from reviewapp import errors
from reviewapp.api.throttling import ip_failure_throttled

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if errors.database_unavailable(exc):
        # The scoring insert has retried a dropped connection once already (persistence.py).
        logger.error("database unavailable: answered 503", exc_info=exc)
        return Response(
            {"detail": errors.DATABASE_UNAVAILABLE}, status=503, headers=errors.database_retry_after()
        )
    if (code := errors.http_status(exc)) is not None:
        return Response(_body(exc), status=code)
    if isinstance(exc, (exceptions.AuthenticationFailed, exceptions.NotAuthenticated)):
        # Throttles run after authentication, so failed attempts are counted here, per IP.
        wait = ip_failure_throttled(context["request"], context["view"])
        if wait is not None:
            exc = exceptions.Throttled(wait)
    return drf_exception_handler(exc, context)


def _body(exc: Exception) -> Any:
    # Invalid input and conflicts answer with their field errors, the other kinds with a message.
    if isinstance(exc, errors.InvalidInput | errors.Conflict):
        return exc.errors
    return {"detail": str(exc)}
