from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from audit import services
from audit.actors import actor_name
from audit.admin_mixins import ReadOnlyAdmin
from audit.models import AuditEvent, AuditLink


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["pk", "created_at", "action", "actor", "object_type", "object_id", "request_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["request_id", "actor", "object_id"]
    show_full_result_count = False


@admin.register(AuditLink)
class AuditLinkAdmin(ReadOnlyAdmin):
    list_display = ["seq", "source", "object_id", "hash"]
    list_filter = ["source"]
    search_fields = ["=hash"]
    show_full_result_count = False


admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with every change of someone's roles written to the audit log."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        stored = User.objects.filter(pk=obj.pk).first() if change else None
        request._roles_before = services.user_roles(stored) if stored else None  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.user_roles_change_record(
            user_id=form.instance.pk,
            actor=actor_name(user=request.user),
            before=getattr(request, "_roles_before", None),
            after=services.user_roles(form.instance),
        )
