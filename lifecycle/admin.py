"""The lifecycle in Django's admin: model versions gain their activation action here, through the
promotion gate and four eyes (lifecycle/approvals.py); change proposals are read-only records.

predictions registers ModelVersion's admin without the action (it may not import lifecycle);
this higher layer re-registers a subclass that adds it, as reviews extends predictions' views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from audit.actors import actor_name
from audit.admin_mixins import ReadOnlyAdmin
from lifecycle import approval_selectors, approvals
from lifecycle.models import ChangeProposal
from predictions.admin import ModelVersionAdmin
from predictions.models import ModelVersion
from reviewapp.errors import DomainError

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet
    from django.http import HttpRequest

admin.site.unregister(ModelVersion)


@admin.register(ModelVersion)
class GatedModelVersionAdmin(ModelVersionAdmin):
    actions = ["activate"]

    def has_activate_permission(self, request: HttpRequest) -> bool:
        # Versions are never edited here, so activating has a permission of its own: the admin
        # role's change_modelversion (monitoring 0006), not the auditor's view.
        return request.user.has_perm("predictions.change_modelversion")

    @admin.action(
        description="Activate the selected version (through the promotion gate; rollback included)",
        permissions=["activate"],
    )
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = queryset.get()
        user: User = request.user  # type: ignore[assignment]  # the admin site: a signed-in person
        try:
            result = approvals.model_version_promote(
                version=version.version, actor=actor_name(user=user), user=user
            )
        except approvals.PromotionRefused as refused:
            # Forcing needs a reason: the activation page is the form for it.
            page = reverse("lifecycle:model-activate", kwargs={"version": version.version})
            self.message_user(
                request,
                format_html(
                    "v{} was not activated: {} <a href='{}'>Force it with a reason</a>.",
                    version.version,
                    "; ".join(refused.gate.reasons),
                    page,
                ),
                messages.ERROR,
            )
            return
        except DomainError as error:
            self.message_user(request, approvals.error_message(error), messages.ERROR)
            return
        if result.proposal is not None:
            self.message_user(
                request,
                f"Proposed as change #{result.proposal.pk}: v{version.version} is activated once another "
                "admin approves it.",
                messages.WARNING,
            )
            return
        self.message_user(request, f"Activated {version.name} v{version.version}.", messages.SUCCESS)


@admin.register(ChangeProposal)
class ChangeProposalAdmin(ReadOnlyAdmin):
    """Proposals are decided on /models/changes/ (or approve_change), never edited here."""

    list_display = ["pk", "summary", "status", "proposed_by", "proposed_at", "decided_by", "decided_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["model_version"]

    @admin.display(description="Change")
    def summary(self, proposal: ChangeProposal) -> str:
        return approval_selectors.change_summary(proposal)
