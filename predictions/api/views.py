from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_name
from predictions import registry, services
from predictions.api import serializers
from predictions.api.permissions import (
    CanReadModelVersions,
    CanReadPredictions,
    CanScore,
    caller_api_key,
)
from predictions.models import ModelVersion
from reviewapp.api.concurrency import Slots
from reviewapp.api.parsers import JSONParser

if TYPE_CHECKING:
    from rest_framework.request import Request

# Every operation can answer these; documented so clients (and the fuzz test) expect them.
COMMON_ERRORS = {
    401: OpenApiResponse(description="No credentials, or an invalid, revoked or expired API key"),
    403: OpenApiResponse(description="The caller's role may not use this operation"),
    429: OpenApiResponse(description="Rate limited; retry after the Retry-After header's seconds"),
}


@functools.cache
def _batch_slots(limit: int, wait_seconds: float) -> Slots:
    # One per process and setting (tests change the settings).
    return Slots(kind="batch", limit=limit, wait_seconds=wait_seconds)


class ActiveModelView(APIView):
    permission_classes = [CanReadPredictions]

    @extend_schema(
        responses={200: serializers.ModelVersionSerializer, **COMMON_ERRORS},
        summary="The active model and its input schema",
    )
    def get(self, request: Request) -> Response:
        return Response(serializers.ModelVersionSerializer(registry.get_active_model().version).data)


class ModelVersionListView(APIView):
    permission_classes = [CanReadModelVersions]

    @extend_schema(
        responses={200: serializers.ModelVersionSummarySerializer(many=True), **COMMON_ERRORS},
        summary="Every registered model version, newest first",
    )
    def get(self, request: Request) -> Response:
        versions = ModelVersion.objects.order_by("-version")
        return Response(serializers.ModelVersionSummarySerializer(versions, many=True).data)


class PredictionCreateView(APIView):
    """POST scores one transaction (reviews.api adds the search on the same address)."""

    permission_classes = [CanScore]
    parser_classes = [JSONParser]

    @extend_schema(
        request=serializers.PredictionInputSerializer,
        responses={
            201: serializers.PredictionSerializer,
            200: OpenApiResponse(serializers.PredictionSerializer, "A repeat of a stored request_id"),
            400: OpenApiResponse(description="Field errors, keyed by field"),
            409: OpenApiResponse(description="The request_id is in use with other features"),
            **COMMON_ERRORS,
        },
        summary="Score one transaction",
    )
    def post(self, request: Request) -> Response:
        request_id, features = serializers.prediction_input(request.data)
        prediction, created = services.prediction_create(
            api_key=caller_api_key(request),
            request_id=request_id,
            features=features,
            actor=actor_name(api_key=caller_api_key(request), user=request.user),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(serializers.prediction_representation(prediction), status=code)


class PredictionBatchView(APIView):
    permission_classes = [CanScore]
    parser_classes = [JSONParser]

    @extend_schema(
        request=serializers.PredictionBatchInputSerializer,
        responses={
            201: serializers.PredictionBatchSerializer,
            200: OpenApiResponse(serializers.PredictionBatchSerializer, "Every item was a repeat"),
            400: OpenApiResponse(description="Field errors, keyed by item index"),
            409: OpenApiResponse(description="Some request_ids are in use with other features"),
            503: OpenApiResponse(
                description="The server is working on as many batches as it takes at once "
                "(BATCH_CONCURRENCY) and none finished within BATCH_WAIT_SECONDS; retry after "
                "the Retry-After header's seconds"
            ),
            **COMMON_ERRORS,
        },
        summary="Score up to BATCH_MAX_ITEMS transactions, all or nothing",
    )
    def post(self, request: Request) -> Response:
        # Before the body is parsed: a batch waiting for its turn holds no rows in memory.
        with _batch_slots(settings.BATCH_CONCURRENCY, settings.BATCH_WAIT_SECONDS).slot():
            results, created = services.predictions_create_batch(
                api_key=caller_api_key(request),
                items=serializers.prediction_batch_input(request.data),
                actor=actor_name(api_key=caller_api_key(request), user=request.user),
            )
            code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
            # Plain dictionaries, no serializer holding the predictions: the request's objects end
            # in reference cycles, and what they hold waits for the collector's full passes.
            data = {"results": [serializers.prediction_representation(p) for p in results]}
        return Response(data, status=code)
