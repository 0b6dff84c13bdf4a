"""Shadowing a version and comparing it with the active model: admins shadow, auditors read."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_name
from lifecycle import gate, selectors, services
from lifecycle.api import serializers
from predictions.api.permissions import CanReadModelVersions, IsAdminPerson
from predictions.api.views import COMMON_ERRORS
from predictions.scoring import ArtifactError
from predictions.selectors import model_version_active
from reviewapp.api.parsers import JSONParser

if TYPE_CHECKING:
    from rest_framework.request import Request

COMPARISON_HELP = (
    "The version against the model that answered, on the predictions it shadow-scored in "
    "[since, until): agreement, the label confusion, the share each would send to review (the "
    "queue load), PSI of the scores (10 equal-width bins), and on those with an outcome precision, "
    "recall, false-positive rate (Wilson), ROC AUC (Hanley-McNeil) and Brier score (normal) with "
    "95 % intervals, their differences, and the promotion gate's verdict. docs/lifecycle.md."
)


class ShadowView(APIView):
    """POST makes the version the challenger; DELETE stops it shadowing."""

    permission_classes = [IsAdminPerson]
    parser_classes = [JSONParser]

    @extend_schema(
        request=serializers.ShadowStartSerializer,
        responses={
            201: serializers.ShadowPeriodSerializer,
            400: OpenApiResponse(description="Field errors, keyed by field"),
            404: OpenApiResponse(description="No such version"),
            409: OpenApiResponse(
                description="It is the active version, none is active, or its artifact is broken"
            ),
            **COMMON_ERRORS,
        },
        summary="Shadow live traffic with a staged version (it never answers); optional backfill",
    )
    def post(self, request: Request, version: int) -> Response:
        payload = serializers.ShadowStartSerializer(data=request.data or {})
        payload.is_valid(raise_exception=True)
        days = payload.validated_data.get("backfill_days")
        since = timezone.now() - timedelta(days=days) if days else None
        try:
            period = services.shadow_start(
                version=version, actor=actor_name(user=request.user), backfill_since=since
            )
        except ArtifactError as error:
            detail = f"Version {version} does not shadow; nothing changed. {error}"
            return Response({"detail": detail}, status=status.HTTP_409_CONFLICT)
        return Response(serializers.ShadowPeriodSerializer(period).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: serializers.ShadowPeriodSerializer,
            404: OpenApiResponse(description="No such version"),
            409: OpenApiResponse(description="The version is not shadowing"),
            **COMMON_ERRORS,
        },
        summary="Stop shadowing: the version goes back to staged, its shadow scores are kept",
    )
    def delete(self, request: Request, version: int) -> Response:
        period = services.shadow_stop(actor=actor_name(user=request.user), version=version)
        return Response(serializers.ShadowPeriodSerializer(period).data)


class ComparisonView(APIView):
    permission_classes = [CanReadModelVersions]

    @extend_schema(
        parameters=[serializers.ComparisonQuerySerializer],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description=COMPARISON_HELP),
            400: OpenApiResponse(description="since or until unparseable, or since not before until"),
            404: OpenApiResponse(description="No such version"),
            **COMMON_ERRORS,
        },
        summary="Compare a shadowing (or once shadowing) version with the active model",
        description=COMPARISON_HELP,
    )
    def get(self, request: Request, version: int) -> Response:
        params = serializers.ComparisonQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        result = selectors.model_version_comparison(version=version, **params.validated_data)
        return Response({**result.as_dict(), "gate": _gate(version)})


def _gate(version: int) -> dict[str, Any]:
    """The promotion gate's verdict on this version now (whatever the window asked for)."""
    candidate = selectors.model_version_by_number(version=version)
    return gate.promotion_gate_check(candidate=candidate, active=model_version_active()).as_dict()
