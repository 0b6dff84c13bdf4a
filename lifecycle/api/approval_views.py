"""Activating a version through the promotion gate, its review threshold and audit sample
rate, and the change proposals a second admin approves (REQUIRE_SECOND_APPROVER).

Each view validates, calls one service of lifecycle/approvals.py and serialises; refusals are
domain errors answered by reviewapp/api/exceptions.py (409 with the gate's reasons, 403, 400).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_name
from lifecycle import approval_selectors, approvals
from lifecycle.api import approval_serializers as serializers
from predictions.api.permissions import CanReadModelVersions, IsAdminPerson
from predictions.api.views import COMMON_ERRORS

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.request import Request

    from lifecycle.models import ChangeProposal

FOUR_EYES = (
    "With REQUIRE_SECOND_APPROVER on, nothing changes yet: the answer is 202 with the proposal, "
    "which another admin approves at POST /api/v1/changes/{id}/approve/."
)
PENDING = OpenApiResponse(serializers.PendingSerializer, "Proposed; waiting for a second admin")
ADMIN_ERRORS = {
    **COMMON_ERRORS,
    403: OpenApiResponse(
        description="Only admins (never an API key); with four eyes on, the proposer may not approve"
    ),
}


def _pending(proposal: ChangeProposal) -> Response:
    detail = f"Proposed as change #{proposal.pk}: it takes effect once another admin approves it."
    body = {
        "status": "pending",
        "detail": detail,
        "proposal": serializers.ChangeProposalSerializer(proposal).data,
    }
    return Response(body, status=status.HTTP_202_ACCEPTED)


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAdminPerson: a signed-in person


class ModelVersionActivateView(APIView):
    """Make a version the active one, if the promotion gate allows it (a rollback always)."""

    permission_classes = [IsAdminPerson]

    @extend_schema(
        request=serializers.ActivateInputSerializer,
        responses={
            200: serializers.ActivatedSerializer,
            202: PENDING,
            400: OpenApiResponse(description="force without a reason, or a malformed body, keyed by field"),
            404: OpenApiResponse(description="No such version"),
            409: OpenApiResponse(
                serializers.RefusedSerializer,
                "The promotion gate refused it (with its reasons), or its artifact is missing or "
                "fails its checksum; nothing changed",
            ),
            **ADMIN_ERRORS,
        },
        summary="Activate a model version through the promotion gate (rollback always allowed)",
        description=(
            "The gate compares the version with the active one on the labelled predictions it "
            "shadowed (docs/lifecycle.md); a version that never shadowed is refused too. "
            "`force` with a `reason` overrides a refusal, audited as model.promotion_forced. " + FOUR_EYES
        ),
    )
    def post(self, request: Request, version: int) -> Response:
        payload = serializers.ActivateInputSerializer(data=request.data or {})
        payload.is_valid(raise_exception=True)
        result = approvals.model_version_promote(
            version=version,
            actor=actor_name(user=request.user),
            user=_user(request),
            **payload.validated_data,
        )
        if result.proposal is not None:
            return _pending(result.proposal)
        context = {"gate": result.gate.as_dict(), "forced": result.forced}
        return Response(serializers.ActivatedSerializer(result.version, context=context).data)


class _SettingView(APIView):
    permission_classes = [IsAdminPerson]
    input_serializer: type[drf_serializers.Serializer]

    def _changed(self, result: approvals.ChangeResult) -> Response:
        if result.proposal is not None:
            return _pending(result.proposal)
        model = serializers.ModelSettingsSerializer(result.version).data
        return Response({"status": result.status, "model": model})


SETTING_RESPONSES = {
    200: serializers.SettingChangedSerializer,
    202: PENDING,
    400: OpenApiResponse(description="Out of range or not a number, keyed by field"),
    404: OpenApiResponse(description="No such version"),
    409: OpenApiResponse(description="The same change is already pending"),
    **ADMIN_ERRORS,
}


class ThresholdView(_SettingView):
    @extend_schema(
        request=serializers.ThresholdInputSerializer,
        responses=SETTING_RESPONSES,
        summary="Set a version's review threshold (every process follows within seconds)",
        description="Audited as model.threshold_changed. " + FOUR_EYES,
    )
    def post(self, request: Request, version: int) -> Response:
        payload = serializers.ThresholdInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._changed(
            approvals.threshold_change_propose(
                version=version,
                threshold=payload.validated_data["review_threshold"],
                actor=actor_name(user=request.user),
                user=_user(request),
            )
        )


class AuditSampleRateView(_SettingView):
    @extend_schema(
        request=serializers.AuditSampleRateInputSerializer,
        responses=SETTING_RESPONSES,
        summary="Set a version's audit sample rate (every process follows within seconds)",
        description="Audited as model.audit_sample_rate_changed. " + FOUR_EYES,
    )
    def post(self, request: Request, version: int) -> Response:
        payload = serializers.AuditSampleRateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._changed(
            approvals.audit_sample_rate_change_propose(
                version=version,
                rate=payload.validated_data["audit_sample_rate"],
                actor=actor_name(user=request.user),
                user=_user(request),
            )
        )


# --- change proposals ---------------------------------------------------------------------


class ChangeCursorPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-id"


class ChangeListView(APIView):
    """Proposals newest first: admins act on them, auditors check who approved what."""

    permission_classes = [CanReadModelVersions]

    @extend_schema(
        operation_id="v1_changes_list",
        parameters=[serializers.ChangeListQuerySerializer],
        responses={
            200: inline_serializer(
                "PaginatedChangeProposalList",
                {
                    "next": drf_serializers.URLField(allow_null=True),
                    "previous": drf_serializers.URLField(allow_null=True),
                    "results": serializers.ChangeProposalSerializer(many=True),
                },
            ),
            400: OpenApiResponse(description="An unknown status"),
            **COMMON_ERRORS,
        },
        summary="Change proposals (activations, thresholds, audit sample rates), newest first",
    )
    def get(self, request: Request) -> Response:
        params = serializers.ChangeListQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        proposals = approval_selectors.change_proposals(status=params.validated_data.get("status"))
        paginator = ChangeCursorPagination()
        page = paginator.paginate_queryset(proposals, request, view=self)
        return paginator.get_paginated_response(serializers.ChangeProposalSerializer(page, many=True).data)


DECISION_RESPONSES = {
    200: serializers.ChangeProposalSerializer,
    404: OpenApiResponse(description="No such proposal"),
    409: OpenApiResponse(
        description="Not pending any more, or stale: what it changes changed since it was proposed "
        "(or the promotion gate now refuses the activation, with its reasons)"
    ),
    **ADMIN_ERRORS,
}


class ChangeApproveView(APIView):
    permission_classes = [IsAdminPerson]

    @extend_schema(
        request=None,
        responses=DECISION_RESPONSES,
        summary="Approve a pending change: it is applied now (never by the admin who proposed it)",
    )
    def post(self, request: Request, pk: int) -> Response:
        proposal = approvals.change_approve(
            proposal_id=pk, actor=actor_name(user=request.user), user=_user(request)
        )
        return Response(serializers.ChangeProposalSerializer(proposal).data)


class ChangeRejectView(APIView):
    permission_classes = [IsAdminPerson]

    @extend_schema(
        request=serializers.RejectInputSerializer,
        responses=DECISION_RESPONSES,
        summary="Turn a pending change down (another admin; the proposer withdraws it instead)",
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = serializers.RejectInputSerializer(data=request.data or {})
        payload.is_valid(raise_exception=True)
        proposal = approvals.change_reject(
            proposal_id=pk, actor=actor_name(user=request.user), user=_user(request), **payload.validated_data
        )
        return Response(serializers.ChangeProposalSerializer(proposal).data)


class ChangeWithdrawView(APIView):
    permission_classes = [IsAdminPerson]

    @extend_schema(
        request=None,
        responses=DECISION_RESPONSES,
        summary="Withdraw a pending change you proposed",
    )
    def post(self, request: Request, pk: int) -> Response:
        proposal = approvals.change_withdraw(
            proposal_id=pk, actor=actor_name(user=request.user), user=_user(request)
        )
        return Response(serializers.ChangeProposalSerializer(proposal).data)
