"""Kinds of domain error: services raise their own exceptions, each a subclass of one kind, and
every surface answers a kind with the same status code (`http_status`): the API in
reviewapp/api/exceptions.py, the pages where they catch a service's refusal.

Importable by every app, since it imports none: an app names its errors after its own domain
(`NoActiveModel`, `Conflict`) and the kind says what the caller did wrong or what is missing.
The message (or `errors`) is shown to whoever made the request: keep secrets out of it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError


class DomainError(Exception):
    """A service refused or could not do what was asked; raise one of the kinds below."""


class _WithErrors(DomainError):
    """A kind whose answer is `errors`: DRF's field-error shape, or {"detail": message}."""

    def __init__(self, errors: dict[str, Any] | str) -> None:
        super().__init__(errors)
        self.errors: dict[str, Any] = {"detail": errors} if isinstance(errors, str) else errors


class InvalidInput(_WithErrors):
    """The request itself is wrong (400): it does not fit the schema or the rules."""


class Conflict(_WithErrors):
    """The request clashes with what is stored (409): a reused ID, a stale view, a race lost."""


class Forbidden(DomainError):
    """The caller may not do this (403)."""


class NotFound(DomainError):
    """What the request names does not exist (404)."""


class Unavailable(DomainError):
    """Something the service needs is missing or broken for now (503): no active model, say."""


# What each kind means over HTTP; the one place that says so.
HTTP_STATUS: dict[type[Exception], int] = {
    InvalidInput: HTTPStatus.BAD_REQUEST,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    Unavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


def kind_assign(error_class: type[Exception], *, kind: type[DomainError]) -> None:
    """Answer `error_class` as `kind`: for an exception that cannot subclass a kind because its
    module must import nothing of the project (predictions' pure scoring core)."""
    HTTP_STATUS[error_class] = HTTP_STATUS[kind]


def http_status(error: Exception) -> int | None:
    """The status code of the error's kind (the nearest in its classes); None when it has none."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return None


# --- the database out of reach --------------------------------------------------------------

DATABASE_UNAVAILABLE = "The database cannot be reached for now; retry after the Retry-After header's seconds."


def _connection_errors() -> tuple[type[BaseException], ...]:
    # Django wraps the driver's errors in its own classes; a raw psycopg cursor used outside
    # `connection.wrap_database_errors` would raise the driver's own, so both count.
    try:
        import psycopg
    except ImportError:  # SQLite only
        return (OperationalError, InterfaceError)
    return (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


_CONNECTION_ERRORS = _connection_errors()


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database is out of reach for now: refused or dropped
    connections, a server shutting down or starting up, a failover, a lock or statement
    timeout. DB-API's OperationalError and InterfaceError are the errors "not under the
    programmer's control"; a mistake in a query (ProgrammingError, IntegrityError, DataError)
    is not one of them and stays a 500. Every surface answers these 503 with Retry-After (the
    API's exception handler, `reviewapp.views.server_error` for the rest), never 500: the client
    may retry, and one answered 201 was stored.
    """
    return isinstance(error, _CONNECTION_ERRORS)


def database_retry_after() -> dict[str, str]:
    """The header every 503 for an unreachable database carries."""
    return {"Retry-After": str(settings.DATABASE_RETRY_AFTER_SECONDS)}
