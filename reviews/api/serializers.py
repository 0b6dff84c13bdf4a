"""A prediction as the read API shows it: the prediction, its explanation and its review."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from predictions.api.serializers import ExplanationSerializer, PredictionSerializer
from predictions.models import Prediction


class ReviewSummarySerializer(serializers.Serializer):
    """The human side of a prediction: where its review stands and, once made, the decision."""

    state = serializers.CharField()
    priority = serializers.FloatField()
    created_at = serializers.DateTimeField()
    decision = serializers.CharField(source="decision.outcome", default=None, allow_null=True)
    final_label = serializers.CharField(source="decision.final_label", default=None, allow_null=True)
    reviewer = serializers.CharField(source="decision.reviewer_name", default=None, allow_null=True)
    reason = serializers.CharField(source="decision.reason", default=None, allow_null=True)
    decided_at = serializers.DateTimeField(source="decision.decided_at", default=None, allow_null=True)


class EffectiveOutcomeSerializer(serializers.Serializer):
    """What upstream reported later about the transaction: the latest outcome by occurred_at."""

    label = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.label
        choices=Prediction.Label.choices, source="outcome_label"
    )
    source = serializers.CharField(source="outcome_source")  # type: ignore[assignment]  # likewise
    occurred_at = serializers.DateTimeField(source="outcome_occurred_at")
    received_at = serializers.DateTimeField(source="outcome_received_at")


class PredictionDetailSerializer(PredictionSerializer):
    features = serializers.DictField()
    explanation = ExplanationSerializer()
    review = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()

    def to_representation(self, prediction: Prediction) -> dict[str, Any]:
        return serializers.Serializer.to_representation(self, prediction)

    @extend_schema_field(ReviewSummarySerializer(allow_null=True))
    def get_review(self, prediction: Prediction) -> dict[str, Any] | None:
        item = getattr(prediction, "review_item", None)
        return ReviewSummarySerializer(item).data if item else None

    @extend_schema_field(EffectiveOutcomeSerializer(allow_null=True))
    def get_outcome(self, prediction: Prediction) -> dict[str, Any] | None:
        return EffectiveOutcomeSerializer(prediction).data if prediction.outcome_label else None
