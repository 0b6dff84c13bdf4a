from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_name
from predictions import registry, selectors, services
from predictions.api import serializers
from predictions.api.permissions import (
    CanReadModelVersions,
    CanReadPredictions,
    CanScore,
    CanSearchPredictions,
    IsAdminPerson,
    is_api_client,
)
from predictions.filtersets import PredictionFilterSet
from predictions.models import ModelVersion
from predictions.scoring import ArtifactError
from reviewapp.api.parsers import JSONParser

# Every operation can answer these; documented so clients (and the fuzz test) expect them.
COMMON_ERRORS = {
    401: OpenApiResponse(description="No credentials, or an invalid, revoked or expired API key"),
    403: OpenApiResponse(description="The caller's role may not use this operation"),
    429: OpenApiResponse(description="Rate limited; retry after the Retry-After header's seconds"),
}


def _api_key(request):
    return request.auth if is_api_client(request) else None


class ActiveModelView(APIView):
    permission_classes = [CanReadPredictions]

    @extend_schema(
        responses={200: serializers.ModelVersionSerializer, **COMMON_ERRORS},
        summary="The active model and its input schema",
    )
    def get(self, request):
        return Response(serializers.ModelVersionSerializer(registry.get_active_model().version).data)


class ModelVersionListView(APIView):
    permission_classes = [CanReadModelVersions]

    @extend_schema(
        responses={200: serializers.ModelVersionSummarySerializer(many=True), **COMMON_ERRORS},
        summary="Every registered model version, newest first",
    )
    def get(self, request):
        versions = ModelVersion.objects.order_by("-version")
        return Response(serializers.ModelVersionSummarySerializer(versions, many=True).data)


class ModelVersionActivateView(APIView):
    """Make a version the active one: a rollout, or a rollback to an earlier version."""

    permission_classes = [IsAdminPerson]

    @extend_schema(
        request=None,
        responses={
            200: serializers.ModelVersionSummarySerializer,
            404: OpenApiResponse(description="No such version"),
            409: OpenApiResponse(
                description="Its artifact is missing or fails its checksum; nothing changed"
            ),
            **COMMON_ERRORS,
        },
        summary="Activate a model version (rollback included); every process follows within seconds",
    )
    def post(self, request, version: int):
        try:
            activated = services.model_version_activate(version=version, actor=actor_name(user=request.user))
        except ModelVersion.DoesNotExist:
            raise NotFound(f"There is no model version {version}.") from None
        except ArtifactError as error:
            detail = f"Version {version} was not activated; the active model is unchanged. {error}"
            return Response({"detail": detail}, status=status.HTTP_409_CONFLICT)
        return Response(serializers.ModelVersionSummarySerializer(activated).data)


class PredictionCursorPagination(CursorPagination):
    """Stable pages over millions of rows: no counting, no deep OFFSET."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    orderings = {"created_at", "-created_at", "score", "-score"}

    def get_ordering(self, request, queryset, view):
        requested = request.query_params.get("ordering", "-created_at")
        return (requested if requested in self.orderings else "-created_at", "-pk")


class PredictionListView(APIView):
    """GET searches predictions (the audit API); POST scores one transaction."""

    parser_classes = [JSONParser]

    def get_permissions(self):
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
    def get(self, request):
        visible = selectors.predictions_visible_to(api_key=_api_key(request))
        filterset = PredictionFilterSet(request.query_params, queryset=visible)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        paginator = PredictionCursorPagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(serializers.PredictionDetailSerializer(page, many=True).data)

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
    def post(self, request):
        request_id, features = serializers.prediction_input(request.data)
        prediction, created = services.prediction_create(
            api_key=_api_key(request),
            request_id=request_id,
            features=features,
            actor=actor_name(api_key=_api_key(request), user=request.user),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(serializers.PredictionSerializer(prediction).data, status=code)


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
            **COMMON_ERRORS,
        },
        summary="Score up to BATCH_MAX_ITEMS transactions, all or nothing",
    )
    def post(self, request):
        payload = serializers.PredictionBatchInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        results, created = services.predictions_create_batch(
            api_key=_api_key(request),
            items=payload.validated_data["items"],
            actor=actor_name(api_key=_api_key(request), user=request.user),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        data = {"results": serializers.PredictionSerializer(results, many=True).data}
        return Response(data, status=code)


class PredictionDetailView(APIView):
    permission_classes = [CanReadPredictions]

    @extend_schema(
        responses={
            200: serializers.PredictionDetailSerializer,
            404: OpenApiResponse(description="No prediction with this request_id visible to the caller"),
            **COMMON_ERRORS,
        },
        summary="A prediction with its explanation and review",
    )
    def get(self, request, request_id: str):
        visible = selectors.predictions_visible_to(api_key=_api_key(request))
        if not serializers.request_id_validator.regex.fullmatch(request_id):
            # No stored request_id breaks the pattern, and PostgreSQL refuses a NUL in a query.
            visible = visible.none()
        prediction = get_object_or_404(visible, request_id=request_id)
        return Response(serializers.PredictionDetailSerializer(prediction).data)
