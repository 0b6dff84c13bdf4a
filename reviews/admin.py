from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from reviewapp.admin_mixins import ReadOnlyAdmin
from reviews import services
from reviews.audit import actor_name, audit_event_record
from reviews.models import AuditEvent, CallbackAttempt, CallbackDelivery, Decision, ReviewItem


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ["prediction", "state", "priority", "claimed_by", "lease_expires_at", "created_at"]
    list_filter = ["state"]
    search_fields = ["prediction__request_id"]
    list_select_related = ["prediction", "claimed_by"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["review_item", "outcome", "final_label", "reason", "reviewer_name", "decided_at"]
    list_filter = ["outcome", "reason", "final_label"]
    search_fields = ["review_item__prediction__request_id", "reviewer_name"]


class CallbackAttemptInline(admin.TabularInline):
    model = CallbackAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "status_code", "error", "duration_ms"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "url", "state", "attempts", "next_attempt_at", "delivered_at", "created_at"]
    list_filter = ["state"]
    inlines = [CallbackAttemptInline]
    actions = ["replay"]

    @admin.action(description="Replay the selected callbacks")
    def replay(self, request, queryset):
        for delivery in queryset:
            services.callback_replay(delivery_id=delivery.pk, actor=actor_name(user=request.user))
        self.message_user(request, f"Replaying {queryset.count()} callbacks.", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["pk", "seq", "created_at", "action", "actor", "object_type", "object_id", "request_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["request_id", "actor", "object_id"]
    show_full_result_count = False


admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with every change of someone's roles written to the audit log."""

    def save_model(self, request, obj, form, change):
        stored = User.objects.filter(pk=obj.pk).first() if change else None
        request._roles_before = _roles(stored) if stored else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before, after = getattr(request, "_roles_before", None), _roles(form.instance)
        if before != after:
            audit_event_record(
                action=AuditEvent.Action.USER_ROLE_CHANGED,
                actor=actor_name(user=request.user),
                object_type="user",
                object_id=form.instance.pk,
                before=before,
                after=after,
            )


def _roles(user: User) -> dict:
    return {
        "username": user.get_username(),
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "is_active": user.is_active,
    }
