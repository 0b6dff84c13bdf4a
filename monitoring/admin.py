from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from audit.actors import actor_name
from audit.admin_mixins import ReadOnlyAdmin
from monitoring.models import DriftReport, FeatureDrift, OperationalSettings
from predictions import services as prediction_services


@admin.register(OperationalSettings)
class OperationalSettingsAdmin(admin.ModelAdmin):
    """One row of switches: the list goes straight to its form; saving goes through predictions'
    service. Registered for monitoring's proxy, so the page stays under Monitoring and operations."""

    fields = ["review_all_predictions", "environment_setting", "changed_at", "changed_by"]
    readonly_fields = ["environment_setting", "changed_at", "changed_by"]

    @admin.display(description="REVIEW_ALL_PREDICTIONS in the environment")
    def environment_setting(self, obj: OperationalSettings) -> str:
        if settings.REVIEW_ALL_PREDICTIONS:
            return "on: every prediction goes to review whatever this switch says"
        return "off: this switch decides"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        switches, _ = OperationalSettings.objects.get_or_create(pk=1)
        return redirect(reverse("admin:monitoring_operationalsettings_change", args=[switches.pk]))

    def save_model(
        self,
        request: HttpRequest,
        obj: OperationalSettings,
        form: ModelForm[OperationalSettings],
        change: bool,
    ) -> None:
        prediction_services.review_all_predictions_set(
            on=form.cleaned_data["review_all_predictions"], actor=actor_name(user=request.user)
        )
        if obj.review_all_predictions:
            self.message_user(
                request, "Every new prediction now goes to review (within seconds).", messages.WARNING
            )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OperationalSettings | None = None) -> bool:
        return False


class FeatureDriftInline(admin.TabularInline):
    model = FeatureDrift
    fields = readonly_fields = ("feature", "psi", "state")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: DriftReport | None = None) -> bool:
        return False


@admin.register(DriftReport)
class DriftReportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "model_version", "sample_size", "score_psi", "score_state", "window_end"]
    list_filter = ["model_version", "score_state"]
    list_select_related = ["model_version"]
    inlines = [FeatureDriftInline]
