"""Domain errors become HTTP answers in one place, so views stay thin."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from reviewapp import errors
from reviewapp.api.throttling import ip_failure_throttled

# Each kind of domain error (reviewapp/errors.py) and its answer's status code.
STATUS_CODES: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: status.HTTP_400_BAD_REQUEST,
    errors.Forbidden: status.HTTP_403_FORBIDDEN,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.DomainError) and (code := _status_code(exc)) is not None:
        return Response(_body(exc), status=code)
    if isinstance(exc, (exceptions.AuthenticationFailed, exceptions.NotAuthenticated)):
        # Throttles run after authentication, so failed attempts are counted here, per IP.
        wait = ip_failure_throttled(context["request"], context["view"])
        if wait is not None:
            exc = exceptions.Throttled(wait)
    return drf_exception_handler(exc, context)


def _status_code(exc: errors.DomainError) -> int | None:
    # The nearest kind among the exception's classes: an app's error subclasses one of them.
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return None


def _body(exc: errors.DomainError) -> Any:
    # Invalid input and conflicts answer with their field errors, the other kinds with a message.
    if isinstance(exc, errors.InvalidInput | errors.Conflict):
        return exc.errors
    return {"detail": str(exc)}
