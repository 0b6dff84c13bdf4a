from datetime import timedelta

import django_filters
from django import forms
from django.utils import timezone

from predictions.models import ModelVersion
from reviews import selectors
from reviews.models import ReviewItem

MAX_AGE_MINUTES = 60 * 24 * 366 * 10


class ReviewQueueFilterSet(django_filters.FilterSet):
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label="Amount from")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte", label="Amount to")
    score_min = django_filters.NumberFilter(
        field_name="prediction__score", lookup_expr="gte", label="Score from"
    )
    score_max = django_filters.NumberFilter(
        field_name="prediction__score", lookup_expr="lte", label="Score to"
    )
    model_version = django_filters.ModelChoiceFilter(
        field_name="prediction__model_version",
        queryset=ModelVersion.objects.all(),
        to_field_name="version",
        label="Model version",
    )
    # Bounded: a huge age would overflow the date arithmetic and fail the page.
    min_age_minutes = django_filters.NumberFilter(
        method="filter_min_age", label="Older than (min)", min_value=0, max_value=MAX_AGE_MINUTES
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Past SLA only", widget=forms.CheckboxInput
    )

    class Meta:
        model = ReviewItem
        fields: list[str] = []

    def filter_min_age(self, queryset, name, value):
        return queryset.filter(created_at__lte=timezone.now() - timedelta(minutes=float(value)))

    def filter_overdue(self, queryset, name, value):
        if value:
            return queryset.filter(created_at__lt=selectors.sla_deadline())
        return queryset
