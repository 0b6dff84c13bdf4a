"""The filters of the outcome list (GET /api/v1/outcomes/)."""

import django_filters

from outcomes.models import Outcome
from predictions.models import Prediction


class OutcomeFilterSet(django_filters.FilterSet):
    request_id = django_filters.CharFilter(
        field_name="prediction__request_id", max_length=64, label="Request ID"
    )
    label = django_filters.ChoiceFilter(choices=Prediction.Label.choices)
    source = django_filters.ChoiceFilter(choices=Outcome.Source.choices)
    reference = django_filters.CharFilter(max_length=128)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Outcome
        fields: list[str] = []
