"""Reads of four eyes: the change proposals, pending first on the page."""

from __future__ import annotations

from django.db.models import QuerySet

from lifecycle.models import ChangeProposal

RECENT_DECIDED = 50


def change_proposals(*, status: str | None = None) -> QuerySet[ChangeProposal]:
    """Proposals newest first, with their version; only those with `status` when given."""
    proposals = ChangeProposal.objects.select_related("model_version").order_by("-proposed_at", "-id")
    return proposals.filter(status=status) if status else proposals


def change_proposals_board() -> dict[str, list[ChangeProposal]]:
    """The changes page: every pending proposal, and the latest decided ones."""
    return {
        "pending": list(change_proposals(status=ChangeProposal.Status.PENDING)),
        "decided": list(change_proposals().exclude(status=ChangeProposal.Status.PENDING)[:RECENT_DECIDED]),
    }


def change_summary(proposal: ChangeProposal) -> str:
    """One line for a person: "activate v3", "v3's review threshold 0.85 -> 0.9"."""
    version = f"v{proposal.model_version.version}"
    if proposal.kind == ChangeProposal.Kind.ACTIVATE:
        return f"activate {version}" + (" (forced past the promotion gate)" if proposal.force else "")
    field = "review threshold" if proposal.kind == ChangeProposal.Kind.THRESHOLD else "audit sample rate"
    was = next(iter(proposal.before.values()), None)
    return f"{version}'s {field} {was:g} -> {proposal.value:g}"
