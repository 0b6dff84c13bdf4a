from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminURLFieldWidget

from audit.actors import actor_name
from audit.admin_mixins import ReadOnlyAdmin
from predictions import services
from predictions.models import ApiKey, ModelVersion, Prediction

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "version",
        "name",
        "status",
        "review_threshold",
        "created_at",
        "activated_at",
        "activated_by",
    ]
    list_filter = ["status", "name"]
    # Activating is lifecycle's (lifecycle/admin.py re-registers this admin with the action): it
    # goes through the promotion gate and four eyes, which live above this app.


class ApiKeyForm(forms.ModelForm):
    callback_url = forms.URLField(
        required=False,
        assume_scheme="https",
        widget=AdminURLFieldWidget,
        help_text=ApiKey._meta.get_field("callback_url").help_text,
    )
    # The callback secret is written, never read back: the page would show it to anyone
    # looking over an administrator's shoulder, and put it in the browser's form cache.
    callback_secret = forms.CharField(
        required=False,
        max_length=ApiKey._meta.get_field("callback_secret").max_length,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "class": "vTextField"}
        ),
        help_text="HMAC-SHA256 key for callback signatures. Not shown; leave empty to keep the current one.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "expires_at", "rate_limit", "callback_url", "callback_secret"]

    def clean_callback_secret(self) -> str:
        return self.cleaned_data["callback_secret"] or self.instance.callback_secret


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "rate_limit",
        "last_used_at",
        "revoked_at",
        "callback_url",
    ]
    fields = [
        "name",
        "prefix",
        "expires_at",
        "rate_limit",
        "callback_url",
        "callback_secret",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ApiKeyForm, change: bool) -> None:
        actor = actor_name(user=request.user)
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            services.api_key_update(api_key=obj, actor=actor, **changes)
            return
        created, secret = services.api_key_create(
            name=obj.name,
            callback_url=obj.callback_url,
            callback_secret=obj.callback_secret,
            expires_at=obj.expires_at,
            rate_limit=obj.rate_limit,
            actor=actor,
        )
        obj.pk = created.pk
        self.message_user(
            request, f"API key for {obj.name}: {secret} (shown once; store it now)", messages.WARNING
        )

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # keys are revoked, never deleted: predictions point at them

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        live = list(queryset.filter(revoked_at__isnull=True))
        for api_key in live:
            services.api_key_revoke(api_key=api_key, actor=actor_name(user=request.user))
        self.message_user(request, f"Revoked {len(live)} keys.", messages.SUCCESS)


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = [
        "request_id",
        "model_version",
        "score",
        "label",
        "routing",
        "status",
        "final_label",
        "created_at",
    ]
    list_filter = ["routing", "status", "label", "model_version"]
    search_fields = ["request_id"]
    list_select_related = ["model_version"]
    show_full_result_count = False
