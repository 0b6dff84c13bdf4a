"""The people roles. Groups carry them; superusers hold all of them."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

ANALYST, AUDITOR, ADMIN = "analyst", "auditor", "admin"
ROLES = (ANALYST, AUDITOR, ADMIN)


def has_role(user: AbstractBaseUser | AnonymousUser | None, *roles: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "groups"):
        return False
    if user.is_superuser:
        return True
    names = getattr(user, "_role_names", None)
    if names is None:
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._role_names = names
    return any(role in names for role in roles)
