"""Writes that change what scores live traffic: activating a version (through the promotion
gate), a version's review threshold and audit sample rate, and four eyes over all three.

Every surface calls these (the API, the pages, `activate_model`, `approve_change`, the admin's
action), never predictions' services directly, so the gate and REQUIRE_SECOND_APPROVER hold
whichever door a change comes through. With REQUIRE_SECOND_APPROVER on, a change becomes a
`ChangeProposal`; a second admin's approval applies it through the same functions as a direct
change (`_activate`, `_SETTINGS`), so there is one home for each.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import reviewapp.errors
from audit.models import AuditEvent
from audit.services import audit_event_record
from lifecycle import selectors
from lifecycle.gate import GateResult, promotion_gate_check
from lifecycle.models import ChangeProposal
from lifecycle.services import shadow_period_close_on_activation
from predictions import registry
from predictions import services as predictions_services
from predictions.models import ModelVersion
from predictions.scoring import ArtifactError
from reviewapp.roles import ADMIN, has_role

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Kind = ChangeProposal.Kind
Status = ChangeProposal.Status
FORCE_REASON_MAX_LENGTH = 2000


# --- errors: each surface answers them by their kind (reviewapp/errors.py) ------------------


class PromotionRefused(reviewapp.errors.Conflict):
    """The promotion gate refused the version; `gate` holds its findings (409 with the reasons)."""

    def __init__(self, *, version: int, gate: GateResult) -> None:
        self.gate = gate
        super().__init__(
            {
                "detail": f"v{version} was not activated: the promotion gate refused it "
                "(force it with a reason to override). The active model is unchanged.",
                "reasons": list(gate.reasons),
                "gate": gate.as_dict(),
            }
        )


class ActivationFailed(reviewapp.errors.Conflict):
    """The version's artifact is missing or fails its checksum: nothing changed."""


class InvalidChange(reviewapp.errors.InvalidInput):
    """A forced activation without a reason, a value out of range."""


class NotAllowed(reviewapp.errors.Forbidden):
    """Not an admin, the proposer approving their own change, someone else withdrawing it."""


class ProposalConflict(reviewapp.errors.Conflict):
    """The proposal was decided already, is stale, or the same change is already pending."""


class UnknownProposal(reviewapp.errors.NotFound):
    """No change proposal has this id."""


def error_message(error: reviewapp.errors.DomainError) -> str:
    """A refusal in words, for a page's message or a command's error: its message, or its
    field errors on one line."""
    errors: dict[str, Any] | None = getattr(error, "errors", None)
    if not errors:
        return str(error)
    parts = []
    for field, messages in errors.items():
        if field in ("gate",):
            continue
        text = " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)
        parts.append(text if field == "detail" else f"{field}: {text}")
    return " ".join(parts)


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromotionResult:
    """What an activation request did: `activated`, or `pending` a second admin's approval."""

    status: str  # "activated" | "pending"
    version: ModelVersion
    gate: GateResult
    forced: bool = False  # activated although the gate refused it
    proposal: ChangeProposal | None = None


@dataclass(frozen=True)
class ChangeResult:
    """What a threshold or sample rate change did: `applied`, `pending` or `unchanged`."""

    status: str
    version: ModelVersion
    proposal: ChangeProposal | None = None


# --- activation (the promotion gate) ------------------------------------------------------


def model_version_promote(
    *, version: int, actor: str, user: User | None = None, force: bool = False, reason: str = ""
) -> PromotionResult:
    """Activate `version` if the promotion gate allows it against the active one (rollback is
    always allowed), or `force` it with a `reason`; with REQUIRE_SECOND_APPROVER on, propose it.

    A refusal is audited (`model.promotion_refused`, with the gate's findings) and raised as
    PromotionRefused; an override is audited `model.promotion_forced` besides the activation's
    own `model.activated` / `model.rolled_back`.
    """
    reason = _forced_reason(force=force, reason=reason)
    four_eyes = settings.REQUIRE_SECOND_APPROVER
    if four_eyes:
        _proposer_check(user)
    target = selectors.model_version_by_number(version=version)
    # The gate reads many predictions: it runs before any lock, and the activation below checks
    # that the active version it judged against is still the active one.
    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    gate = promotion_gate_check(candidate=target, active=active)
    before = {"active_version": active.version if active else None}
    if not gate.allowed and not force:
        audit_event_record(
            action=AuditEvent.Action.MODEL_PROMOTION_REFUSED,
            actor=actor,
            object_type="model_version",
            object_id=target.version,
            before=before,
            after={"gate": gate.as_dict()},
        )
        raise PromotionRefused(version=target.version, gate=gate)
    if four_eyes:
        assert user is not None  # _proposer_check
        proposal = _propose(
            kind=Kind.ACTIVATE,
            target=target,
            value=None,
            before=before,
            actor=actor,
            user=user,
            force=force,
            reason=reason,
            gate=gate.as_dict(),
        )
        return PromotionResult(status="pending", version=target, gate=gate, proposal=proposal)
    activated = _activate(
        target=target,
        expected_active=before["active_version"],
        actor=actor,
        gate=gate.as_dict(),
        reason=reason,
    )
    return PromotionResult(status="activated", version=activated, gate=gate, forced=not gate.allowed)


def _forced_reason(*, force: bool, reason: str) -> str:
    reason = (reason or "").strip()
    if force and not reason:
        raise InvalidChange({"reason": ["Forcing an activation past the promotion gate needs a reason."]})
    if len(reason) > FORCE_REASON_MAX_LENGTH:
        raise InvalidChange({"reason": [f"Keep the reason under {FORCE_REASON_MAX_LENGTH} characters."]})
    return reason


def _activate(
    *, target: ModelVersion, expected_active: int | None, actor: str, gate: dict[str, Any], reason: str
) -> ModelVersion:
    """The one way a version becomes active here: predictions' activation (artifact check,
    retiring the previous one, its audit event), the open shadow period closed, an override
    audited; in one transaction."""
    try:
        with transaction.atomic():
            # FOR NO KEY UPDATE: other activations wait; the scoring inserts that reference the
            # active row (a KEY SHARE lock) do not.
            current = (
                ModelVersion.objects.select_for_update(no_key=True)
                .filter(status=ModelVersion.Status.ACTIVE)
                .values_list("version", flat=True)
                .first()
            )
            if current != expected_active:
                raise ProposalConflict(
                    {
                        "detail": f"The active version changed (v{current}, not v{expected_active}) "
                        "while the promotion gate was checked; try again."
                    }
                )
            activated = predictions_services.model_version_activate(version=target.version, actor=actor)
            shadow_period_close_on_activation(activated=activated, actor=actor)
            if not gate.get("allowed", True):
                audit_event_record(
                    action=AuditEvent.Action.MODEL_PROMOTION_FORCED,
                    actor=actor,
                    object_type="model_version",
                    object_id=target.version,
                    before={"active_version": expected_active},
                    after={"active_version": target.version, "reason": reason, "gate": gate},
                )
    except ArtifactError as error:
        raise ActivationFailed(
            f"Version {target.version} was not activated; the active model is unchanged. {error}"
        ) from error
    registry.forget()  # again after the commit: a read between predictions' forget and it
    return activated


# --- review threshold and audit sample rate -----------------------------------------------


@dataclass(frozen=True)
class _Setting:
    field: str  # on ModelVersion
    error_key: str  # the field predictions' service names in its errors
    low: float
    high: float
    apply: Callable[[int, float, str], ModelVersion]


_SETTINGS: dict[str, _Setting] = {
    Kind.THRESHOLD: _Setting(
        "review_threshold",
        "threshold",
        *predictions_services.REVIEW_THRESHOLD_RANGE,
        apply=lambda version, value, actor: predictions_services.model_version_threshold_set(
            version=version, threshold=value, actor=actor
        ),
    ),
    Kind.AUDIT_SAMPLE_RATE: _Setting(
        "audit_sample_rate",
        "audit_sample_rate",
        0.0,
        1.0,
        apply=lambda version, value, actor: predictions_services.model_version_audit_sample_rate_set(
            version=version, rate=value, actor=actor
        ),
    ),
}


def threshold_change_propose(
    *, version: int, threshold: float, actor: str, user: User | None = None
) -> ChangeResult:
    """Set a version's review threshold now, or propose it when REQUIRE_SECOND_APPROVER is on."""
    return _setting_change(kind=Kind.THRESHOLD, version=version, value=threshold, actor=actor, user=user)


def audit_sample_rate_change_propose(
    *, version: int, rate: float, actor: str, user: User | None = None
) -> ChangeResult:
    """Set a version's audit sample rate now, or propose it when REQUIRE_SECOND_APPROVER is on."""
    return _setting_change(kind=Kind.AUDIT_SAMPLE_RATE, version=version, value=rate, actor=actor, user=user)


def _setting_change(*, kind: str, version: int, value: float, actor: str, user: User | None) -> ChangeResult:
    setting = _SETTINGS[kind]
    target = selectors.model_version_by_number(version=version)
    before = getattr(target, setting.field)
    if not settings.REQUIRE_SECOND_APPROVER:
        changed = setting.apply(target.version, value, actor)  # validates, audits
        return ChangeResult(status="applied" if before != value else "unchanged", version=changed)
    _proposer_check(user)
    assert user is not None
    # Checked now, so a proposal a second admin sees can be applied; the service checks again.
    if math.isnan(value) or not setting.low <= value <= setting.high:
        raise InvalidChange({setting.error_key: [f"Between {setting.low:g} and {setting.high:g}."]})
    if before == value:
        return ChangeResult(status="unchanged", version=target)
    proposal = _propose(
        kind=kind,
        target=target,
        value=value,
        before={setting.field: before},
        actor=actor,
        user=user,
    )
    return ChangeResult(status="pending", version=target, proposal=proposal)


# --- four eyes: proposals, approval, rejection --------------------------------------------


def _proposer_check(user: User | None) -> None:
    # Four eyes compares people, so a proposal needs one: an admin's account, not a shell.
    if user is None or user.pk is None or not has_role(user, ADMIN):
        raise NotAllowed(
            "With REQUIRE_SECOND_APPROVER on, a change is proposed by a named admin "
            "(on the command line: --as USERNAME)."
        )


def _propose(
    *,
    kind: str,
    target: ModelVersion,
    value: float | None,
    before: dict[str, Any],
    actor: str,
    user: User,
    force: bool = False,
    reason: str = "",
    gate: dict[str, Any] | None = None,
) -> ChangeProposal:
    with transaction.atomic():
        pending = (
            ChangeProposal.objects.select_for_update()
            .filter(kind=kind, model_version=target, status=Status.PENDING)
            .first()
        )
        if pending is not None:
            raise ProposalConflict(
                {
                    "detail": f"A change of this kind to v{target.version} is already pending "
                    f"(#{pending.pk}): approve, reject or withdraw it first."
                }
            )
        proposal = ChangeProposal.objects.create(
            kind=kind,
            model_version=target,
            value=value,
            before=before,
            force=force,
            reason=reason,
            gate=gate,
            proposed_by=actor,
            proposed_by_user_id=user.pk,
            proposed_at=timezone.now(),
        )
        _change_event(AuditEvent.Action.CHANGE_PROPOSED, proposal, actor, after=_described(proposal))
    return proposal


def _described(proposal: ChangeProposal) -> dict[str, Any]:
    return {
        "kind": proposal.kind,
        "version": proposal.model_version.version,
        "value": proposal.value,
        "before": proposal.before,
        "force": proposal.force,
        "reason": proposal.reason,
        "gate": proposal.gate,
        "status": proposal.status,
    }


def _change_event(
    action: str,
    proposal: ChangeProposal,
    actor: str,
    *,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    audit_event_record(
        action=action,
        actor=actor,
        object_type="change_proposal",
        object_id=proposal.pk,
        before=before,
        after=after,
    )


def change_approve(*, proposal_id: int, actor: str, user: User) -> ChangeProposal:
    """A second admin applies a pending proposal, through the same code as a direct change.

    Refused, audited `change.refused`: the proposer themself (403); a proposal whose target
    changed since (the active version, the threshold or rate: it becomes `stale`, 409); an
    unforced activation the promotion gate now refuses (stale too, 409 with the reasons).
    """
    if not has_role(user, ADMIN):
        raise NotAllowed("Only admins approve changes.")
    refusal: reviewapp.errors.DomainError | None = None
    with transaction.atomic():
        # Locked: two admins approving at once, the second finds it applied.
        proposal = _pending_locked(proposal_id)
        if proposal.proposed_by_user_id == user.pk:
            _change_event(
                AuditEvent.Action.CHANGE_REFUSED,
                proposal,
                actor,
                after={"refused": "self_approval", "proposed_by": proposal.proposed_by},
            )
            refusal = NotAllowed("You proposed this change: another admin must approve it.")
        else:
            refusal = _stale_refusal(proposal, actor)
        if refusal is None:
            _apply(proposal, actor)
            proposal.status = Status.APPLIED
            proposal.decided_by, proposal.decided_at = actor, timezone.now()
            proposal.save(update_fields=["status", "decided_by", "decided_at"])
            _change_event(
                AuditEvent.Action.CHANGE_APPROVED,
                proposal,
                actor,
                before={"status": Status.PENDING},
                after={"status": Status.APPLIED, "proposed_by": proposal.proposed_by, **_what(proposal)},
            )
    if refusal is not None:
        raise refusal  # after the commit: the refusal stays in the log, a stale proposal stale
    registry.forget()
    return proposal


def _pending_locked(proposal_id: int) -> ChangeProposal:
    proposal = (
        ChangeProposal.objects.select_for_update(of=("self",))
        .select_related("model_version")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise UnknownProposal(f"There is no change proposal {proposal_id}.")
    if proposal.status != Status.PENDING:
        raise ProposalConflict(
            {
                "detail": f"Change #{proposal.pk} is {proposal.status} already "
                f"({proposal.decided_by or 'nobody'})."
            }
        )
    return proposal


def _what(proposal: ChangeProposal) -> dict[str, Any]:
    return {"kind": proposal.kind, "version": proposal.model_version.version, "value": proposal.value}


def _stale_refusal(proposal: ChangeProposal, actor: str) -> reviewapp.errors.DomainError | None:
    """None when the proposal can be applied as proposed; else marks it stale (audited) and
    returns the error to raise once that is committed."""
    now_ = _current(proposal)
    note = ""
    gate: GateResult | None = None
    if now_ != proposal.before:
        note = f"It was proposed when {_shown(proposal.before)}; now {_shown(now_)}. Propose it again."
    elif proposal.kind == Kind.ACTIVATE and not proposal.force:
        # The evidence may have changed since the proposal (more outcomes): judged again.
        active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
        gate = promotion_gate_check(candidate=proposal.model_version, active=active)
        if not gate.allowed:
            note = "the promotion gate now refuses it: " + "; ".join(gate.reasons)
            audit_event_record(
                action=AuditEvent.Action.MODEL_PROMOTION_REFUSED,
                actor=actor,
                object_type="model_version",
                object_id=proposal.model_version.version,
                before=proposal.before,
                after={"gate": gate.as_dict(), "proposal": proposal.pk},
            )
        else:
            proposal.gate = gate.as_dict()
            proposal.save(update_fields=["gate"])
    if not note:
        return None
    proposal.status = Status.STALE
    proposal.decided_by, proposal.decided_at, proposal.decision_note = actor, timezone.now(), note
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _change_event(
        AuditEvent.Action.CHANGE_REFUSED,
        proposal,
        actor,
        before={"status": Status.PENDING, **proposal.before},
        after={"refused": "stale", "status": Status.STALE, "now": now_, "note": note},
    )
    errors: dict[str, Any] = {"detail": f"Change #{proposal.pk} was not applied: {note}"}
    if gate is not None:
        errors["reasons"] = list(gate.reasons)
    return ProposalConflict(errors)


def _current(proposal: ChangeProposal) -> dict[str, Any]:
    """What the proposal changes, as it is now: the shape of its `before`."""
    if proposal.kind == Kind.ACTIVATE:
        active = (
            ModelVersion.objects.select_for_update(no_key=True)
            .filter(status=ModelVersion.Status.ACTIVE)
            .values_list("version", flat=True)
            .first()
        )
        return {"active_version": active}
    field = _SETTINGS[proposal.kind].field
    value = ModelVersion.objects.filter(pk=proposal.model_version_id).values_list(field, flat=True).get()
    return {field: value}


def _shown(state: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} was {value}" if value is not None else f"{name} was none" for name, value in state.items()
    )


def _apply(proposal: ChangeProposal, actor: str) -> None:
    if proposal.kind == Kind.ACTIVATE:
        _activate(
            target=proposal.model_version,
            expected_active=proposal.before["active_version"],
            actor=actor,
            gate=proposal.gate or {},
            reason=proposal.reason,
        )
        return
    assert proposal.value is not None
    _SETTINGS[proposal.kind].apply(proposal.model_version.version, float(proposal.value), actor)


def change_reject(*, proposal_id: int, actor: str, user: User, note: str = "") -> ChangeProposal:
    """Another admin turns a pending proposal down; audited `change.rejected`."""
    if not has_role(user, ADMIN):
        raise NotAllowed("Only admins reject changes.")
    with transaction.atomic():
        proposal = _pending_locked(proposal_id)
        if proposal.proposed_by_user_id == user.pk:
            raise NotAllowed("You proposed this change: withdraw it instead.")
        return _close(proposal, Status.REJECTED, actor, note)


def change_withdraw(*, proposal_id: int, actor: str, user: User) -> ChangeProposal:
    """The proposer takes back a pending proposal; audited `change.rejected` as `withdrawn`."""
    with transaction.atomic():
        proposal = _pending_locked(proposal_id)
        if proposal.proposed_by_user_id != user.pk:
            raise NotAllowed("Only the admin who proposed a change withdraws it; others reject it.")
        return _close(proposal, Status.WITHDRAWN, actor, "")


def _close(proposal: ChangeProposal, status: str, actor: str, note: str) -> ChangeProposal:
    proposal.status = status
    proposal.decided_by, proposal.decided_at, proposal.decision_note = actor, timezone.now(), note.strip()
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _change_event(
        AuditEvent.Action.CHANGE_REJECTED,
        proposal,
        actor,
        before={"status": Status.PENDING},
        after={"status": status, "note": proposal.decision_note, **_what(proposal)},
    )
    return proposal
