from django.contrib import admin
from django.db import models


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are part of the audit trail: visible in the admin, never edited there."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
