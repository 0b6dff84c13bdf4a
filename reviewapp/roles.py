"""The people roles. Groups carry them; superusers hold all of them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

ANALYST, AUDITOR, ADMIN = "analyst", "auditor", "admin"
ROLES = (ANALYST, AUDITOR, ADMIN)

_P = ParamSpec("_P")
_View = Callable[Concatenate[HttpRequest, _P], HttpResponseBase]


def has_role(user: User | AnonymousUser | None, *roles: str) -> bool:
    # At run time DRF's request.user may also be an ApiKey: authenticated, but without groups.
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "groups"):
        return False
    if user.is_superuser:
        return True
    return any(role in group_names(user) for role in roles)


def group_names(user: User | AnonymousUser) -> set[str]:
    """The user's groups, read once per request (the user object lives as long as the request)."""
    names: set[str] | None = getattr(user, "_group_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._group_names = names  # type: ignore[union-attr]  # a per-request cache of our own
    return names


def role_required(*roles: str) -> Callable[[_View[_P]], _View[_P]]:
    """View decorator: anonymous users go to the login page, users without the role get 403."""

    def decorator(view: _View[_P]) -> _View[_P]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: _P.args, **kwargs: _P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
