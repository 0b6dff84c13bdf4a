from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

from predictions.models import ApiKey
from reviewapp.roles import ADMIN, ANALYST, AUDITOR, has_role

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


def is_api_client(request: Request) -> bool:
    return isinstance(request.auth, ApiKey)


def caller_api_key(request: Request) -> ApiKey | None:
    """The API key that made the request; None for a signed-in person."""
    return request.auth if isinstance(request.auth, ApiKey) else None


class CanScore(BasePermission):
    """Upstream systems score; so may admins, from the API docs page."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_api_client(request) or has_role(request.user, ADMIN)


class CanReadPredictions(BasePermission):
    """API clients read their own predictions; staff roles read all of them."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_api_client(request) or has_role(request.user, ADMIN, AUDITOR, ANALYST)


class CanSearchPredictions(BasePermission):
    """The prediction search: auditors and admins see all; API clients see their own."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_api_client(request) or has_role(request.user, ADMIN, AUDITOR)


class IsAdminPerson(BasePermission):
    """Operations on the model registry: a signed-in admin, never an API key."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return not is_api_client(request) and has_role(request.user, ADMIN)


class CanReadModelVersions(BasePermission):
    """The registry's history: admins, and auditors who check what decided when."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return not is_api_client(request) and has_role(request.user, ADMIN, AUDITOR)
