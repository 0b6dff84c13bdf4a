"""The read API of predictions with their reviews: the search and one prediction.

The search shares its address with scoring (POST /api/v1/predictions/), which predictions
owns: the view here extends predictions' with GET, so each app keeps its own half.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from predictions.api.permissions import CanReadPredictions, CanScore, CanSearchPredictions, caller_api_key
from predictions.api.views import COMMON_ERRORS, PredictionCreateView
from predictions.models import Prediction
from predictions.validators import REQUEST_ID_PATTERN
from reviewapp.roles import ADMIN, AUDITOR, has_role
from reviews import selectors
from reviews.api import serializers
from reviews.filtersets import PredictionFilterSet


class PredictionCursorPagination(CursorPagination):
    """Stable pages over millions of rows: no counting, no deep OFFSET."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    orderings = {"created_at", "-created_at", "score", "-score"}

    def get_ordering(
        self, request: Request, queryset: QuerySet[Prediction], view: APIView
    ) -> tuple[str, str]:
        requested = request.query_params.get("ordering", "-created_at")
        return (requested if requested in self.orderings else "-created_at", "-pk")


class PredictionListView(PredictionCreateView):
    """GET searches predictions (the audit API); POST scores one transaction."""

    def get_permissions(self) -> list[BasePermission]:
        return [CanSearchPredictions()] if self.request.method == "GET" else [CanScore()]

    @extend_schema(
        # A paginated answer is not a list to drf-spectacular: name it, or it clashes with detail.
        operation_id="v1_predictions_list",
        parameters=[OpenApiParameter("ordering", enum=["created_at", "-created_at", "score", "-score"])],
        filters=True,
        responses={
            200: inline_serializer(
                "PaginatedPredictionDetailList",
                {
                    "next": drf_serializers.URLField(allow_null=True),
                    "previous": drf_serializers.URLField(allow_null=True),
                    "results": serializers.PredictionDetailSerializer(many=True),
                },
            ),
            400: OpenApiResponse(description="Invalid filters, keyed by filter"),
            **COMMON_ERRORS,
        },
        summary="Search predictions with their explanations and reviews",
    )
    def get(self, request: Request) -> Response:
        visible = selectors.predictions_visible_to(api_key=caller_api_key(request))
        filterset = PredictionFilterSet(request.query_params, queryset=visible)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        paginator = PredictionCursorPagination()
        page: list[Prediction] | None = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(serializers.PredictionDetailSerializer(page, many=True).data)


class PredictionDetailView(APIView):
    permission_classes = [CanReadPredictions]

    @extend_schema(
        responses={
            200: serializers.PredictionDetailSerializer,
            404: OpenApiResponse(
                description="No prediction with this request_id visible to the caller (for an analyst, "
                "none whose blind review is still undecided)"
            ),
            **COMMON_ERRORS,
        },
        summary="A prediction with its explanation and review",
    )
    def get(self, request: Request, request_id: str) -> Response:
        api_key = caller_api_key(request)
        # An analyst may be the blind reviewer of this very prediction: until its blind review
        # is decided it is not found for them (auditors and admins, who may also review, see it).
        visible = selectors.predictions_visible_to(
            api_key=api_key, verdicts_of_blind=api_key is not None or has_role(request.user, ADMIN, AUDITOR)
        )
        if not REQUEST_ID_PATTERN.fullmatch(request_id):
            # No stored request_id breaks the pattern, and PostgreSQL refuses a NUL in a query.
            visible = visible.none()
        prediction = get_object_or_404(visible, request_id=request_id)
        return Response(serializers.PredictionDetailSerializer(prediction).data)
