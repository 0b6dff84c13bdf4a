"""The people roles. Groups carry them; superusers hold all of them."""

from functools import wraps

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

ANALYST, AUDITOR, ADMIN = "analyst", "auditor", "admin"
ROLES = (ANALYST, AUDITOR, ADMIN)


def has_role(user: AbstractBaseUser | AnonymousUser | None, *roles: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "groups"):
        return False
    if user.is_superuser:
        return True
    return any(role in group_names(user) for role in roles)


def group_names(user: AbstractBaseUser) -> set[str]:
    """The user's groups, read once per request (the user object lives as long as the request)."""
    names = getattr(user, "_group_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._group_names = names
    return names


def role_required(*roles: str):
    """View decorator: anonymous users go to the login page, users without the role get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
