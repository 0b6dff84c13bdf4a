"""The activation, setting and change-proposal API's shapes (lifecycle/api/approval_views.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lifecycle.approvals import FORCE_REASON_MAX_LENGTH
from lifecycle.models import ChangeProposal
from predictions.api.serializers import ModelVersionSummarySerializer, StrictCharField
from predictions.models import ModelVersion
from predictions.services import REVIEW_THRESHOLD_RANGE

# --- input ------------------------------------------------------------------------------


class StrictBooleanField(serializers.BooleanField):
    """true or false only: "no" or 0 forcing an activation by accident is worse than a 400."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictFloatField(serializers.FloatField):
    """A JSON number, not a numeric string or a boolean."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class ActivateInputSerializer(serializers.Serializer):
    force = StrictBooleanField(
        default=False, help_text="Activate although the promotion gate refuses it; needs a reason."
    )
    reason = StrictCharField(
        default="",
        allow_blank=True,
        max_length=FORCE_REASON_MAX_LENGTH,
        help_text="Why the gate is overridden (required with force); kept in the audit log.",
    )


class ThresholdInputSerializer(serializers.Serializer):
    review_threshold = StrictFloatField(
        min_value=REVIEW_THRESHOLD_RANGE[0],
        max_value=REVIEW_THRESHOLD_RANGE[1],
        help_text="Predictions with confidence below it go to review.",
    )


class AuditSampleRateInputSerializer(serializers.Serializer):
    audit_sample_rate = StrictFloatField(
        min_value=0.0,
        max_value=1.0,
        help_text="Share of automatic decisions also reviewed blind; 0 turns the sample off.",
    )


class RejectInputSerializer(serializers.Serializer):
    note = StrictCharField(default="", allow_blank=True, max_length=2000, help_text="Why it was turned down.")


class ChangeListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=ChangeProposal.Status.choices, required=False, help_text="Only proposals with this status."
    )


# --- output -----------------------------------------------------------------------------


class GateSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    kind = serializers.ChoiceField(
        choices=["first", "already_active", "rollback", "never_shadowed", "shadowed"]
    )
    reasons = serializers.ListField(child=serializers.CharField())
    evidence = serializers.DictField(help_text="The figures compared (docs/lifecycle.md, Promotion gate).")


class ChangeProposalSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="model_version.version")

    class Meta:
        model = ChangeProposal
        fields = [
            "id",
            "kind",
            "version",
            "value",
            "before",
            "force",
            "reason",
            "gate",
            "status",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class ActivatedSerializer(ModelVersionSummarySerializer):
    """The activated version as before this API was gated, with the gate's verdict."""

    gate = serializers.SerializerMethodField()
    forced = serializers.SerializerMethodField()

    class Meta(ModelVersionSummarySerializer.Meta):
        fields = [*ModelVersionSummarySerializer.Meta.fields, "gate", "forced"]

    @extend_schema_field(GateSerializer)
    def get_gate(self, version: ModelVersion) -> dict[str, Any]:
        return self.context["gate"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_forced(self, version: ModelVersion) -> bool:
        return self.context["forced"]


class PendingSerializer(serializers.Serializer):
    status = serializers.CharField(default="pending")
    detail = serializers.CharField()
    proposal = ChangeProposalSerializer()


class ModelSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["name", "version", "status", "review_threshold", "audit_sample_rate"]


class SettingChangedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["applied", "unchanged"])
    model = ModelSettingsSerializer()


class RefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    gate = GateSerializer()
