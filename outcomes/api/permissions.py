from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

from predictions.api.permissions import is_api_client
from reviewapp.roles import ADMIN, AUDITOR, has_role

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class CanReportOutcomes(BasePermission):
    """Upstream systems report outcomes of their own predictions; admins of any."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_api_client(request) or has_role(request.user, ADMIN)


class CanReadOutcomes(BasePermission):
    """Auditors and admins read every outcome; API clients those of their own predictions."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_api_client(request) or has_role(request.user, ADMIN, AUDITOR)


class CanReadQuality(BasePermission):
    """The scorecard and the what-if: auditors and admins. Not API keys: upstream systems report
    outcomes, they do not read how the reviewers are doing; not analysts, who are its subject."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, ADMIN, AUDITOR)
