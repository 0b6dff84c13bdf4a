"""Demo credentials: created by `seed_demo` for `make run`, refused anywhere else.

Their passwords and key are printed to a terminal, so a database that began as a demo must
not carry working credentials into a deployment with DEBUG off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from reviewapp.roles import ROLES, group_names

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

DEMO_GROUP = "demo"
DEMO_KEY_NAME = "demo"


def demo_enabled() -> bool:
    return bool(settings.DEMO_MODE and settings.DEBUG)


def is_demo_user(user: User | AnonymousUser) -> bool:
    # seed_demo names its users after the roles: anyone else is spared the query.
    return user.get_username() in ROLES and DEMO_GROUP in group_names(user)


class DemoAwareModelBackend(ModelBackend):
    """Django's password backend, except that demo users sign in only in demo mode.

    Also applied to sessions: a demo user's existing session ends once demo mode is off.
    """

    def user_can_authenticate(self, user: User | AnonymousUser | None) -> bool:
        # Django passes the user it found; ModelBackend's own check would let None through.
        if user is None or not super().user_can_authenticate(user):
            return False
        return demo_enabled() or not is_demo_user(user)
