from django.conf import settings
from django.contrib import admin, messages
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
    def environment_setting(self, obj) -> str:
        if settings.REVIEW_ALL_PREDICTIONS:
            return "on: every prediction goes to review whatever this switch says"
        return "off: this switch decides"

    def changelist_view(self, request, extra_context=None):
        switches, _ = OperationalSettings.objects.get_or_create(pk=1)
        return redirect(reverse("admin:monitoring_operationalsettings_change", args=[switches.pk]))

    def save_model(self, request, obj, form, change):
        prediction_services.review_all_predictions_set(
            on=form.cleaned_data["review_all_predictions"], actor=actor_name(user=request.user)
        )
        if obj.review_all_predictions:
            self.message_user(
                request, "Every new prediction now goes to review (within seconds).", messages.WARNING
            )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class FeatureDriftInline(admin.TabularInline):
    model = FeatureDrift
    fields = ["feature", "psi", "state"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DriftReport)
class DriftReportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "model_version", "sample_size", "score_psi", "score_state", "window_end"]
    list_filter = ["model_version", "score_state"]
    list_select_related = ["model_version"]
    inlines = [FeatureDriftInline]
