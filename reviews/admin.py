from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.actors import actor_name
from audit.admin_mixins import ReadOnlyAdmin
from reviews import services
from reviews.models import CallbackAttempt, CallbackDelivery, Decision, ReviewItem


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = [
        "prediction",
        "state",
        "blind",
        "priority",
        "claimed_by",
        "lease_expires_at",
        "created_at",
    ]
    list_filter = ["state", "blind"]
    search_fields = ["prediction__request_id"]
    list_select_related = ["prediction", "claimed_by"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["review_item", "outcome", "final_label", "blind", "reason", "reviewer_name", "decided_at"]
    list_filter = ["outcome", "blind", "reason", "final_label"]
    search_fields = ["review_item__prediction__request_id", "reviewer_name"]


class CallbackAttemptInline(admin.TabularInline):
    model = CallbackAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "status_code", "error", "duration_ms"]

    def has_add_permission(self, request: HttpRequest, obj: CallbackDelivery | None = None) -> bool:
        return False


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "url", "state", "attempts", "next_attempt_at", "delivered_at", "created_at"]
    list_filter = ["state"]
    inlines = [CallbackAttemptInline]
    actions = ["replay"]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        # Deliveries are never edited here, so replaying has a permission of its own: the admin
        # role's change_callbackdelivery (monitoring 0006), not the auditor's view.
        return request.user.has_perm("reviews.change_callbackdelivery")

    @admin.action(description="Replay the selected callbacks", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[CallbackDelivery]) -> None:
        for delivery in queryset:
            services.callback_replay(delivery_id=delivery.pk, actor=actor_name(user=request.user))
        self.message_user(request, f"Replaying {queryset.count()} callbacks.", messages.SUCCESS)
