"""Outcomes in: upstream reports what became of its transactions, one at a time or in batches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_name
from outcomes import selectors, services
from outcomes.api import serializers
from outcomes.api.permissions import CanReadOutcomes, CanReportOutcomes
from outcomes.filtersets import OutcomeFilterSet
from predictions.api.permissions import caller_api_key
from predictions.api.views import COMMON_ERRORS
from reviewapp.api.parsers import JSONParser

if TYPE_CHECKING:
    from rest_framework.permissions import BasePermission
    from rest_framework.request import Request

    from outcomes.models import Outcome


class OutcomeCursorPagination(CursorPagination):
    """Newest first, in stable pages however many outcomes there are."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = "-id"


class OutcomeListView(APIView):
    """POST records an outcome; GET lists the outcomes the caller may see."""

    parser_classes = [JSONParser]

    def get_permissions(self) -> list[BasePermission]:
        return [CanReadOutcomes()] if self.request.method == "GET" else [CanReportOutcomes()]

    @extend_schema(
        request=serializers.OutcomeInputSerializer,
        responses={
            201: serializers.OutcomeSerializer,
            200: OpenApiResponse(serializers.OutcomeSerializer, "A repeat of a stored outcome"),
            400: OpenApiResponse(
                description="Field errors, keyed by field; an unknown request_id, or another key's"
            ),
            409: OpenApiResponse(description="The outcome is recorded with another label or time"),
            **COMMON_ERRORS,
        },
        summary="Report an outcome of a prediction (idempotent on request_id, source and reference)",
    )
    def post(self, request: Request) -> Response:
        payload = serializers.OutcomeInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        api_key = caller_api_key(request)
        outcome, created = services.outcome_record(
            api_key=api_key, actor=actor_name(api_key=api_key, user=request.user), **payload.validated_data
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(serializers.OutcomeSerializer(outcome).data, status=code)

    @extend_schema(
        operation_id="v1_outcomes_list",
        filters=True,
        responses={
            200: inline_serializer(
                "PaginatedOutcomeList",
                {
                    "next": drf_serializers.URLField(allow_null=True),
                    "previous": drf_serializers.URLField(allow_null=True),
                    "results": serializers.OutcomeSerializer(many=True),
                },
            ),
            400: OpenApiResponse(description="Invalid filters, keyed by filter"),
            **COMMON_ERRORS,
        },
        summary="List outcomes, newest first (an API key sees those of its own predictions)",
    )
    def get(self, request: Request) -> Response:
        visible = selectors.outcomes_visible_to(api_key=caller_api_key(request))
        filterset = OutcomeFilterSet(request.query_params, queryset=visible)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        paginator = OutcomeCursorPagination()
        page: list[Outcome] | None = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(serializers.OutcomeSerializer(page, many=True).data)


class OutcomeBatchView(APIView):
    permission_classes = [CanReportOutcomes]
    parser_classes = [JSONParser]

    @extend_schema(
        request=serializers.OutcomeBatchInputSerializer,
        responses={
            201: serializers.OutcomeBatchSerializer,
            200: OpenApiResponse(serializers.OutcomeBatchSerializer, "Every item was a repeat"),
            400: OpenApiResponse(description="Field errors, keyed by item index"),
            409: OpenApiResponse(description="Some outcomes are recorded with another label or time"),
            **COMMON_ERRORS,
        },
        summary="Report up to BATCH_MAX_ITEMS outcomes, all or nothing",
    )
    def post(self, request: Request) -> Response:
        payload = serializers.OutcomeBatchInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        api_key = caller_api_key(request)
        results, created = services.outcomes_record_batch(
            api_key=api_key,
            actor=actor_name(api_key=api_key, user=request.user),
            reports=[services.OutcomeReport(**item) for item in payload.validated_data["items"]],
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response({"results": serializers.OutcomeSerializer(results, many=True).data}, status=code)
