from django.contrib import admin

from audit.admin_mixins import ReadOnlyAdmin
from outcomes.models import Outcome


@admin.register(Outcome)
class OutcomeAdmin(ReadOnlyAdmin):
    """Outcomes are part of the audit trail: recorded through the API, the import or the upload page."""

    list_display = ["prediction", "label", "source", "reference", "occurred_at", "received_at", "reported_by"]
    list_filter = ["label", "source"]
    search_fields = ["prediction__request_id", "reference"]
    list_select_related = ["prediction"]
    date_hierarchy = "occurred_at"
