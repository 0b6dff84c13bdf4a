"""The review queue's filters, and the search of predictions with their reviews (the audit
pages and GET /api/v1/predictions/)."""

from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

import django_filters
from django import forms
from django.core.validators import EMPTY_VALUES
from django.db import connection
from django.db.models import Model, QuerySet
from django.utils import timezone

from predictions import selectors as prediction_selectors
from predictions.models import ModelVersion, Prediction
from reviews import selectors
from reviews.models import Decision, ReviewItem

MAX_AGE_MINUTES = 60 * 24 * 366 * 10

_M = TypeVar("_M", bound=Model)


class SightedScoreFilter(django_filters.NumberFilter):
    """A bound on the model's score that no blind item passes.

    A range that found a blind item would tell its reviewer the score its page hides.
    """

    def filter(self, qs: QuerySet[ReviewItem], value: Decimal | None) -> QuerySet[ReviewItem]:
        if value in EMPTY_VALUES:
            return qs
        return super().filter(qs, value).filter(blind=False)


class ReviewQueueFilterSet(django_filters.FilterSet):
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label="Amount from")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte", label="Amount to")
    score_min = SightedScoreFilter(field_name="prediction__score", lookup_expr="gte", label="Score from")
    score_max = SightedScoreFilter(field_name="prediction__score", lookup_expr="lte", label="Score to")
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

    def filter_min_age(
        self, queryset: QuerySet[ReviewItem], name: str, value: Decimal
    ) -> QuerySet[ReviewItem]:
        return queryset.filter(created_at__lte=timezone.now() - timedelta(minutes=float(value)))

    def filter_overdue(self, queryset: QuerySet[ReviewItem], name: str, value: bool) -> QuerySet[ReviewItem]:
        if value:
            return queryset.filter(created_at__lt=selectors.sla_deadline())
        return queryset


class StableOrderingFilter(django_filters.OrderingFilter):
    """The chosen order, ties broken by id: pages of equal scores neither repeat nor skip rows."""

    def filter(self, qs: QuerySet[_M], value: list[str] | None) -> QuerySet[_M]:
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
        field_name="review_item__decision__outcome", choices=Decision.Outcome.choices, label="Decision"
    )
    reviewer = django_filters.CharFilter(method="filter_reviewer", label="Reviewer")
    review_reason = django_filters.ChoiceFilter(
        choices=Prediction.ReviewReason.choices, label="Review reason"
    )
    outcome = django_filters.ChoiceFilter(
        field_name="outcome_label", choices=Prediction.Label.choices, label="Outcome"
    )
    has_outcome = django_filters.BooleanFilter(
        method="filter_has_outcome",
        label="Has an outcome",
        widget=django_filters.widgets.BooleanWidget(),
    )
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

    def filter_model_version(
        self, queryset: QuerySet[Prediction], name: str, value: int
    ) -> QuerySet[Prediction]:
        # A version is live for a period, but PostgreSQL assumes its rows are spread over all
        # time and walks the created_at index back from today. Bounded by the version's first
        # and last prediction it starts where they are: 477 ms of SQL became 0.3 ms at a
        # million rows (bench/README.md).
        span = prediction_selectors.model_version_span(version=value)
        if span is None:
            return queryset.none()
        return queryset.filter(
            model_version_id=span.version_id, created_at__gte=span.first, created_at__lte=span.last
        )

    def filter_reviewer(self, queryset: QuerySet[Prediction], name: str, value: str) -> QuerySet[Prediction]:
        # The same trap as a version: for someone who left weeks ago PostgreSQL walked every
        # newer prediction (836 ms of SQL at a million rows). Their predictions were all made
        # before their last decision, so the walk can start there (45 ms).
        last_decided_at = selectors.reviewer_last_decided_at(reviewer_name=value)
        if last_decided_at is None:
            return queryset.none()
        return queryset.filter(review_item__decision__reviewer_name=value, created_at__lte=last_decided_at)

    def filter_has_outcome(
        self, queryset: QuerySet[Prediction], name: str, value: bool | None
    ) -> QuerySet[Prediction]:
        if value is None:
            return queryset
        return queryset.filter(outcome_label__isnull=not value)

    def filter_top_reason(
        self, queryset: QuerySet[Prediction], name: str, value: str
    ) -> QuerySet[Prediction]:
        if connection.vendor == "postgresql":
            # jsonb containment, served by a GIN index on reason_codes.
            return queryset.filter(reason_codes__contains=[{"feature": value}])
        return queryset.filter(reason_codes__icontains=f'"feature": "{value}"')
