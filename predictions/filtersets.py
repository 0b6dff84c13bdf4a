"""Prediction search, shared by the audit pages and GET /api/v1/predictions/."""

import django_filters
from django import forms
from django.db import connection

from predictions import selectors
from predictions.models import Prediction


class StableOrderingFilter(django_filters.OrderingFilter):
    """The chosen order, ties broken by id: pages of equal scores neither repeat nor skip rows."""

    def filter(self, qs, value):
        ordered = super().filter(qs, value)
        return ordered.order_by(*ordered.query.order_by, "-pk") if value else ordered


class WholeNumberFilter(django_filters.NumberFilter):
    """Refuses 1.5 rather than rounding it to 1: a model version is a whole number."""

    field_class = forms.IntegerField


class PredictionFilterSet(django_filters.FilterSet):
    request_id = django_filters.CharFilter(field_name="request_id", label="Request ID")
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        label="Created from",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        label="Created before",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    model_version = WholeNumberFilter(method="filter_model_version", label="Model version")
    routing = django_filters.ChoiceFilter(choices=Prediction.Routing.choices)
    status = django_filters.ChoiceFilter(choices=Prediction.Status.choices)
    label = django_filters.ChoiceFilter(choices=Prediction.Label.choices, label="Model label")
    final_label = django_filters.ChoiceFilter(choices=Prediction.Label.choices)
    decision = django_filters.ChoiceFilter(
        field_name="review_item__decision__outcome",
        choices=selectors.decision_outcome_choices(),
        label="Decision",
    )
    reviewer = django_filters.CharFilter(method="filter_reviewer", label="Reviewer")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score from")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label="Score to")
    top_reason = django_filters.CharFilter(method="filter_top_reason", label="Feature among top reasons")
    ordering = StableOrderingFilter(
        fields=(("created_at", "created_at"), ("score", "score")),
        field_labels={"created_at": "Time", "score": "Score"},
    )

    class Meta:
        model = Prediction
        fields: list[str] = []

    def filter_model_version(self, queryset, name, value):
        # A version is live for a period, but PostgreSQL assumes its rows are spread over all
        # time and walks the created_at index back from today. Bounded by the version's first
        # and last prediction it starts where they are: 477 ms of SQL became 0.3 ms at a
        # million rows (bench/README.md).
        span = selectors.model_version_span(version=value)
        if span is None:
            return queryset.none()
        return queryset.filter(
            model_version_id=span.version_id, created_at__gte=span.first, created_at__lte=span.last
        )

    def filter_reviewer(self, queryset, name, value):
        # The same trap as a version: for someone who left weeks ago PostgreSQL walked every
        # newer prediction (836 ms of SQL at a million rows). Their predictions were all made
        # before their last decision, so the walk can start there (45 ms).
        last_decided_at = selectors.reviewer_last_decided_at(reviewer_name=value)
        if last_decided_at is None:
            return queryset.none()
        return queryset.filter(review_item__decision__reviewer_name=value, created_at__lte=last_decided_at)

    def filter_top_reason(self, queryset, name, value):
        if connection.vendor == "postgresql":
            # jsonb containment, served by a GIN index on reason_codes.
            return queryset.filter(reason_codes__contains=[{"feature": value}])
        return queryset.filter(reason_codes__icontains=f'"feature": "{value}"')
