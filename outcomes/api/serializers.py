from django.conf import settings
from rest_framework import serializers

from outcomes.models import Outcome
from outcomes.services import REFERENCE_MAX_LENGTH
from predictions.api.serializers import StrictCharField, request_id_validator
from predictions.models import Prediction

# --- input ------------------------------------------------------------------------------


class OutcomeInputSerializer(serializers.Serializer):
    request_id = StrictCharField(
        max_length=64, validators=[request_id_validator], help_text="The prediction's request_id."
    )
    label = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.label
        choices=Prediction.Label.choices, help_text="What the transaction turned out to be."
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.source
        choices=Outcome.Source.choices, default=Outcome.Source.OTHER
    )
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text="When it happened upstream, ISO 8601; now when omitted. Never in the future.",
    )
    reference = StrictCharField(
        max_length=REFERENCE_MAX_LENGTH,
        allow_blank=True,
        default="",
        help_text="Upstream's own ID for it (the dispute's, say); part of the outcome's identity.",
    )


class OutcomeBatchInputSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=OutcomeInputSerializer(), min_length=1, max_length=settings.BATCH_MAX_ITEMS
    )


# --- output -----------------------------------------------------------------------------


class OutcomeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    request_id = serializers.CharField(source="prediction.request_id")
    label = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.label
        choices=Prediction.Label.choices
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.source
        choices=Outcome.Source.choices
    )
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    reference = serializers.CharField()


class OutcomeBatchSerializer(serializers.Serializer):
    results = OutcomeSerializer(many=True)
