from django.conf import settings
from rest_framework import serializers

from outcomes import quality
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


# --- quality: the scorecard and the threshold what-if -------------------------------------


class QualityWindowQuerySerializer(serializers.Serializer):
    since = serializers.DateField(
        required=False,
        help_text=f"First day, YYYY-MM-DD (UTC), included. Default: until - {quality.DEFAULT_DAYS - 1} days.",
    )
    until = serializers.DateField(
        required=False, help_text="Last day, YYYY-MM-DD (UTC), included. Default: today (UTC)."
    )
    model_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Only this model version's predictions. Default: every version.",
    )


class ThresholdsQuerySerializer(QualityWindowQuerySerializer):
    analyst_hours_per_day = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=quality.MAX_ANALYST_HOURS_PER_DAY,
        default=quality.DEFAULT_ANALYST_HOURS_PER_DAY,
        help_text="The review team's hours a day: the recommendation must fit in them.",
    )
    cost_false_positive = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=quality.MAX_COST,
        default=quality.DEFAULT_COST_FALSE_POSITIVE,
        help_text="What stopping a legitimate transaction costs (any currency, the same for both costs).",
    )
    cost_missed_fraud = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=quality.MAX_COST,
        default=quality.DEFAULT_COST_MISSED_FRAUD,
        help_text="What letting a fraud through costs.",
    )


class QualityWindowSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    days = serializers.IntegerField()
    timezone = serializers.CharField(help_text="Always UTC: days begin at 00:00 UTC.")
    model_version = serializers.IntegerField(allow_null=True)


class ConfusionSerializer(serializers.Serializer):
    true_positives = serializers.IntegerField()
    false_positives = serializers.IntegerField()
    false_negatives = serializers.IntegerField()
    true_negatives = serializers.IntegerField()
    precision = serializers.FloatField(allow_null=True)
    recall = serializers.FloatField(allow_null=True)
    false_positive_rate = serializers.FloatField(allow_null=True)


class LabelComparisonSerializer(serializers.Serializer):
    model = ConfusionSerializer()
    final = ConfusionSerializer()


class EstimateSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, help_text="95 % interval")
    ci_high = serializers.FloatField(allow_null=True)


class AuditSampleSerializer(serializers.Serializer):
    decisions = serializers.IntegerField(help_text="Decided audit samples")
    labelled = serializers.IntegerField(help_text="Of those, with an outcome")
    model_error_rate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class AccuracySerializer(serializers.Serializer):
    decisions = serializers.IntegerField()
    labelled = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True, help_text="Over the labelled decisions")


class AnalystSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    decisions = serializers.IntegerField()
    labelled = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True)
    overrides = serializers.IntegerField(help_text="Decisions against the model's label")
    override_precision = serializers.FloatField(
        allow_null=True, help_text="Of the labelled overrides, the share right"
    )
    median_seconds = serializers.FloatField(allow_null=True, help_text="From the claim to the decision")


class CalibrationBinSerializer(serializers.Serializer):
    lower = serializers.FloatField()
    upper = serializers.FloatField()
    count = serializers.IntegerField()
    mean_score = serializers.FloatField(allow_null=True)
    fraud_rate = serializers.FloatField(allow_null=True)


class CalibrationSerializer(serializers.Serializer):
    ece = serializers.FloatField(allow_null=True)
    brier = serializers.FloatField(allow_null=True)
    bins = CalibrationBinSerializer(many=True)


class LabelDelaySerializer(serializers.Serializer):
    median_days_to_occurred = serializers.FloatField(
        allow_null=True, help_text="From the prediction to when its effective outcome happened upstream"
    )
    median_days_to_received = serializers.FloatField(
        allow_null=True, help_text="From the prediction to when that outcome reached us"
    )


class WeekSerializer(serializers.Serializer):
    week = serializers.CharField(help_text="ISO week, e.g. 2026-W48")
    start = serializers.DateField(help_text="Its Monday")
    predictions = serializers.IntegerField()
    labelled = serializers.IntegerField()
    label_coverage = serializers.FloatField(allow_null=True)


class QualitySerializer(serializers.Serializer):
    window = QualityWindowSerializer()
    predictions = serializers.IntegerField(help_text="Created in the window")
    labelled = serializers.IntegerField(
        help_text="Of those, with an effective outcome: the figures below are over these"
    )
    label_coverage = serializers.FloatField(allow_null=True)
    pending_reviews = serializers.IntegerField(
        help_text="Labelled predictions still waiting for review, counted with the model's label as final"
    )
    label_delay = LabelDelaySerializer()
    weekly = WeekSerializer(many=True)
    model = ConfusionSerializer(help_text="The model's labels against the outcomes")
    final = ConfusionSerializer(
        help_text="The final labels (a person's where one decided) against the outcomes"
    )
    reviewed_band = LabelComparisonSerializer(
        help_text="Predictions routed to review and decided by a person"
    )
    false_positive_reduction = EstimateSerializer(help_text="(model FP - final FP) / model FP")
    audit_sample = AuditSampleSerializer(
        help_text="The model's error rate, each sample weighted 1 / inclusion probability"
    )
    blind = AccuracySerializer(help_text="Reviewed-band decisions made without seeing the model's verdict")
    sighted = AccuracySerializer(help_text="Reviewed-band decisions made seeing it")
    analysts = AnalystSerializer(many=True)
    calibration = CalibrationSerializer()


class ThresholdRowSerializer(serializers.Serializer):
    threshold = serializers.FloatField()
    review_share = serializers.FloatField(allow_null=True)
    reviews_per_day = serializers.FloatField()
    analyst_hours_per_day = serializers.FloatField()
    model_false_positives = serializers.FloatField(allow_null=True)
    expected_false_positives = serializers.FloatField(allow_null=True)
    expected_missed_fraud = serializers.FloatField(allow_null=True)
    expected_cost = serializers.FloatField(allow_null=True)


class WhatIfWindowSerializer(QualityWindowSerializer):
    elapsed_days = serializers.FloatField(
        help_text="The part of the window that has passed: reviews per day are over it"
    )


class WhatIfParametersSerializer(serializers.Serializer):
    analyst_hours_per_day = serializers.FloatField()
    cost_false_positive = serializers.FloatField()
    cost_missed_fraud = serializers.FloatField()


class WhatIfAssumptionsSerializer(serializers.Serializer):
    human_accuracy = serializers.FloatField()
    human_accuracy_measured = serializers.BooleanField(
        help_text=(f"False: no labelled reviewed-band decision; {quality.ASSUMED_HUMAN_ACCURACY} assumed")
    )
    median_seconds = serializers.FloatField()
    median_seconds_measured = serializers.BooleanField(
        help_text=(f"False: no timed reviewed-band decision; {quality.ASSUMED_MEDIAN_SECONDS:g} s assumed")
    )
    measured = serializers.BooleanField(help_text="Both measured")
    decisions = serializers.IntegerField(help_text="Reviewed-band decisions in the window")
    labelled_decisions = serializers.IntegerField()


class ActiveModelSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    review_threshold = serializers.FloatField()


class WhatIfSerializer(serializers.Serializer):
    window = WhatIfWindowSerializer()
    parameters = WhatIfParametersSerializer()
    assumptions = WhatIfAssumptionsSerializer()
    active_model = ActiveModelSerializer(allow_null=True)
    thresholds = ThresholdRowSerializer(many=True)
    recommended = serializers.FloatField(
        allow_null=True, help_text="The cheapest threshold whose review hours fit analyst_hours_per_day"
    )
    predictions = serializers.IntegerField()
    labelled = serializers.IntegerField()
    pooled_predictions = serializers.IntegerField(
        help_text="In strata without any outcome, estimated with their model label's overall fraud rate"
    )
