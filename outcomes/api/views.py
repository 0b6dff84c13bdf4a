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
from outcomes import quality, selectors, services
from outcomes.api import serializers
from outcomes.api.permissions import CanReadOutcomes, CanReadQuality, CanReportOutcomes
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


# --- quality: the scorecard and the threshold what-if -------------------------------------

WINDOW_HELP = f"""
**Window.** Predictions *created* from `since` to `until`, both days included, in UTC. Defaults:
`until` today, `since` {quality.DEFAULT_DAYS - 1} days before it. At most {quality.MAX_DAYS} days.
A bad date, `since` after `until`, a longer window or an unknown `model_version` is a 400 naming
the field. The statistics are over the window's predictions that have an effective outcome (the
latest reported by occurred_at); recent weeks are barely labelled yet, which `weekly`,
`label_coverage` and `label_delay` show. An undefined ratio (nothing to divide by) is null.
"""

SCORECARD_HELP = (
    WINDOW_HELP
    + """
**model** counts the model's labels against the outcomes; **final** the final labels: a person's
where one decided, the model's for automatic decisions and for audit samples (an audit sample's
review measures the model and changes nothing), and the model's for a prediction whose review is
still pending (`pending_reviews` counts those). **reviewed_band**: predictions routed to review
(low confidence, or every prediction while the kill switch is on) that a person decided.
**false_positive_reduction** = (model FP - final FP) / model FP over the labelled predictions,
with a 95 % interval (MOVER-Wilson); null without model false positives. **audit_sample**: decided
audit samples; an error is the model's label differing from the outcome; each sample weighs
1 / inclusion_probability (Hájek's estimator, Wilson's interval at the design's effective size).
**blind** / **sighted**: reviewed-band decisions with the model's verdict hidden or shown (the
review item's `blind`); accuracy is the decision's label equal to the outcome, over the labelled
ones. **analysts**: every decision on the window's predictions, by reviewer; handling time from
the claim to the decision. **calibration**: ten equal score bins, ECE and Brier. **label_delay**:
median days from the prediction to its outcome's occurrence and to its receipt, over the labelled
ones (lower bounds while coverage is low). docs/quality.md explains every figure and its caveats.
"""
)

WHAT_IF_HELP = (
    WINDOW_HELP
    + f"""
One row per threshold 0.50-0.99: a prediction is reviewed when its confidence is below it.
**Volumes** count every prediction of the window: `review_share`, `reviews_per_day` (over the
window's elapsed days) and `analyst_hours_per_day` (reviews a day times the median handling
time). **False positives, missed frauds and cost** are totals over the window, estimated from the
labelled predictions and scaled to every prediction stratum by stratum (confidence bucket and
model label: each stratum's predictions times its labelled fraud rate; a stratum without outcomes
takes its label's overall rate, counted in `pooled_predictions`). A reviewed item is decided
right with the measured human accuracy of the reviewed band's decisions in the window, and takes
their median handling time; when the window has none, {quality.ASSUMED_HUMAN_ACCURACY} and
{quality.ASSUMED_MEDIAN_SECONDS:g} s are assumed and `assumptions` says so.
expected_cost = cost_false_positive x expected FP + cost_missed_fraud x expected missed. Defaults:
{quality.DEFAULT_ANALYST_HOURS_PER_DAY:g} analyst hours a day, {quality.DEFAULT_COST_FALSE_POSITIVE:g}
per false positive, {quality.DEFAULT_COST_MISSED_FRAUD:g} per missed fraud. **recommended** is the
cheapest threshold whose hours fit `analyst_hours_per_day` (ties to the lower). An admin applies
a threshold from the page /quality/thresholds/.
"""
)

QUALITY_ERRORS = {
    400: OpenApiResponse(description="An invalid parameter, keyed by its name"),
    401: COMMON_ERRORS[401],
    403: OpenApiResponse(description="Only auditors and admins; never an API key"),
    429: COMMON_ERRORS[429],
}


class QualityView(APIView):
    permission_classes = [CanReadQuality]

    @extend_schema(
        parameters=[serializers.QualityWindowQuerySerializer],
        responses={200: serializers.QualitySerializer, **QUALITY_ERRORS},
        summary="The scorecard: what human review is worth, over a window of predictions",
        description=SCORECARD_HELP,
    )
    def get(self, request: Request) -> Response:
        params = serializers.QualityWindowQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        window = quality.quality_window(**params.validated_data)
        return Response(serializers.QualitySerializer(quality.quality_scorecard(window=window)).data)


class ThresholdsView(APIView):
    permission_classes = [CanReadQuality]

    @extend_schema(
        parameters=[serializers.ThresholdsQuerySerializer],
        responses={200: serializers.WhatIfSerializer, **QUALITY_ERRORS},
        summary="The threshold what-if: reviews, hours, errors and cost at each review threshold",
        description=WHAT_IF_HELP,
    )
    def get(self, request: Request) -> Response:
        params = serializers.ThresholdsQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        costs = dict(params.validated_data)
        window = quality.quality_window(
            **{name: costs.pop(name) for name in ("since", "until", "model_version") if name in costs}
        )
        return Response(serializers.WhatIfSerializer(quality.quality_what_if(window=window, **costs)).data)
