"""The activation page (the promotion gate's verdict, a force form), the changes page (four
eyes: pending proposals, approve / reject / withdraw) and the setting forms (the what-if page's
"apply" and the activation page's threshold and audit sample rate), all under /models/.

Writes are POST-only, admins only, CSRF-protected, and call lifecycle/approvals.py; a refusal
is a domain error shown as a message (or the page again, with the status of its kind).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.actors import actor_name
from lifecycle import approval_selectors, approvals
from lifecycle.forms import MODEL, ActivateForm, AuditSampleRateForm, RejectForm, ThresholdProposeForm
from lifecycle.gate import promotion_gate_check
from outcomes.views import WHAT_IF_PARAMETERS
from predictions.models import ModelVersion
from predictions.selectors import model_version_active
from reviewapp.errors import DomainError, http_status
from reviewapp.roles import ADMIN, AUDITOR, has_role, role_required

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from lifecycle.models import ChangeProposal

admin_required = role_required(ADMIN)
# The gate's figures shown side by side, in this order (docs/lifecycle.md).
GATE_METRICS = [
    ("roc_auc", "ROC AUC", "higher"),
    ("brier", "Brier score", "lower"),
    ("recall", "Recall", "higher"),
    ("false_positive_rate", "False-positive rate", "lower"),
    ("precision", "Precision", "higher"),
]


def _admin(request: HttpRequest) -> User:
    return cast("User", request.user)  # admin_required: a signed-in admin


def _actor(request: HttpRequest) -> str:
    return actor_name(user=_admin(request))


# --- activation ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@admin_required
def model_activate(request: HttpRequest, version: int) -> HttpResponse:
    target = get_object_or_404(ModelVersion, version=version)
    form = ActivateForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return _activate_page(request, target, form)
    if not form.is_valid():
        return _activate_page(request, target, form, status=HTTPStatus.BAD_REQUEST)
    try:
        result = approvals.model_version_promote(
            version=target.version,
            actor=_actor(request),
            user=_admin(request),
            force=form.cleaned_data["force"],
            reason=form.cleaned_data["reason"],
        )
    except approvals.PromotionRefused as refused:
        return _activate_page(request, target, form, status=HTTPStatus.CONFLICT, refused=refused.gate.reasons)
    except DomainError as error:
        messages.error(request, f"Not activated: {approvals.error_message(error)}")
        return _activate_page(request, target, form, status=http_status(error) or HTTPStatus.BAD_REQUEST)
    if result.proposal is not None:
        messages.success(request, _proposed(result.proposal))
        return redirect("lifecycle:changes")
    forced = " past the promotion gate (audited with your reason)" if result.forced else ""
    messages.success(
        request,
        f"v{result.version.version} is active{forced}: every process scores with it within "
        f"{settings.MODEL_REFRESH_SECONDS:g} s.",
    )
    return redirect("lifecycle:model-activate", version=result.version.version)


def _activate_page(
    request: HttpRequest,
    target: ModelVersion,
    form: ActivateForm,
    *,
    status: int = HTTPStatus.OK,
    refused: list[str] | None = None,
) -> HttpResponse:
    active = model_version_active()
    gate = promotion_gate_check(candidate=target, active=active)
    labelled = (gate.evidence or {}).get("labelled") or {}
    context: dict[str, Any] = {
        "title": f"Activate v{target.version}",
        "target": target,
        "active": active,
        "gate": gate,
        "refused": refused,
        "figures": _gate_figures(labelled),
        "labelled": labelled,
        "form": form,
        "four_eyes": settings.REQUIRE_SECOND_APPROVER,
        "pending": approval_selectors.change_proposals(status="pending").filter(model_version=target),
        "threshold_form": ThresholdProposeForm(
            initial={"version": target.version, "threshold": target.review_threshold, "origin": MODEL}
        ),
        "rate_form": AuditSampleRateForm(
            initial={
                "version": target.version,
                "audit_sample_rate": target.audit_sample_rate,
                "origin": MODEL,
            }
        ),
    }
    return render(request, "lifecycle/activate.html", context, status=status)


def _gate_figures(labelled: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows metric | active | candidate | difference, from the gate's evidence."""
    active, challenger = labelled.get("active"), labelled.get("challenger")
    if not active or not challenger:
        return []
    differences = labelled.get("differences") or {}
    return [
        {
            "name": name,
            "better": better,
            "active": active.get(metric) or {},
            "candidate": challenger.get(metric) or {},
            "difference": differences.get(metric),
        }
        for metric, name, better in GATE_METRICS
    ]


def _proposed(proposal: ChangeProposal) -> str:
    return (
        f"Proposed as change #{proposal.pk} ({approval_selectors.change_summary(proposal)}): "
        "it takes effect once another admin approves it."
    )


# --- four eyes: the changes page ----------------------------------------------------------


@require_GET
@role_required(ADMIN, AUDITOR)
def changes(request: HttpRequest) -> HttpResponse:
    board = approval_selectors.change_proposals_board()
    # (proposal, its one-line summary) rows
    rows = {
        name: [(p, approval_selectors.change_summary(p)) for p in proposals]
        for name, proposals in board.items()
    }
    context = {
        "title": "Changes",
        "pending": rows["pending"],
        "decided": rows["decided"],
        "can_decide": has_role(request.user, ADMIN),
        "user_id": request.user.pk,
        "four_eyes": settings.REQUIRE_SECOND_APPROVER,
    }
    return render(request, "lifecycle/changes.html", context)


@require_POST
@admin_required
def change_approve(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        proposal = approvals.change_approve(proposal_id=pk, actor=_actor(request), user=_admin(request))
    except DomainError as error:
        messages.error(request, f"Change #{pk} was not approved: {approvals.error_message(error)}")
        return redirect("lifecycle:changes")
    messages.success(request, f"Change #{pk} applied: {approval_selectors.change_summary(proposal)}.")
    return redirect("lifecycle:changes")


@require_POST
@admin_required
def change_reject(request: HttpRequest, pk: int) -> HttpResponse:
    form = RejectForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        approvals.change_reject(proposal_id=pk, actor=_actor(request), user=_admin(request), note=note)
    except DomainError as error:
        messages.error(request, f"Change #{pk} was not rejected: {approvals.error_message(error)}")
        return redirect("lifecycle:changes")
    messages.success(request, f"Change #{pk} rejected.")
    return redirect("lifecycle:changes")


@require_POST
@admin_required
def change_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        approvals.change_withdraw(proposal_id=pk, actor=_actor(request), user=_admin(request))
    except DomainError as error:
        messages.error(request, f"Change #{pk} was not withdrawn: {approvals.error_message(error)}")
        return redirect("lifecycle:changes")
    messages.success(request, f"Change #{pk} withdrawn.")
    return redirect("lifecycle:changes")


# --- settings: the review threshold and the audit sample rate -----------------------------


def _back(request: HttpRequest, origin: str | None, version: int | None) -> str:
    """Where a setting's form returns: its model's page, or the what-if page with its rows."""
    if origin == MODEL and version is not None:
        return reverse("lifecycle:model-activate", kwargs={"version": version})
    carried = {name: request.POST[name] for name in WHAT_IF_PARAMETERS if request.POST.get(name)}
    return reverse("quality:thresholds") + ("?" + urlencode(carried) if carried else "")


def _form_errors(form: ThresholdProposeForm | AuditSampleRateForm) -> str:
    return "; ".join(" ".join(str(m) for m in e) for e in form.errors.values())


@require_POST
@admin_required
def threshold_propose(request: HttpRequest) -> HttpResponse:
    """Set (or, with four eyes, propose) a version's review threshold: the what-if page's
    "apply", there for the active version as drawn, and the activation page's form."""
    form = ThresholdProposeForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not applied: {_form_errors(form)}")
        return redirect(_back(request, request.POST.get("origin"), None))
    version, origin = form.cleaned_data["version"], form.cleaned_data["origin"]
    back = _back(request, origin, version)
    if origin != MODEL:
        # The what-if page applies to the version that was active when it was drawn.
        active = model_version_active()
        if active is None or active.version != version:
            messages.error(
                request,
                "Not applied: the active model changed since the page was drawn; check the what-if again.",
            )
            return redirect(back)
    before = ModelVersion.objects.filter(version=version).values_list("review_threshold", flat=True).first()
    threshold = form.cleaned_data["threshold"]
    try:
        result = approvals.threshold_change_propose(
            version=version, threshold=threshold, actor=_actor(request), user=_admin(request)
        )
    except DomainError as error:
        messages.error(request, f"Not applied: {approvals.error_message(error)}")
        return redirect(back)
    if result.proposal is not None:
        messages.success(request, _proposed(result.proposal))
    else:
        messages.success(
            request,
            f"v{version}'s review threshold is now {threshold:g} (was {before:g}): every process "
            f"scores with it within {settings.MODEL_REFRESH_SECONDS:g} s.",
        )
    return redirect(back)


@require_POST
@admin_required
def audit_sample_rate_propose(request: HttpRequest) -> HttpResponse:
    """Set (or, with four eyes, propose) a version's audit sample rate."""
    form = AuditSampleRateForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not applied: {_form_errors(form)}")
        version = request.POST.get("version", "")
        return redirect(_back(request, MODEL, int(version)) if version.isdigit() else "lifecycle:changes")
    version, rate = form.cleaned_data["version"], form.cleaned_data["audit_sample_rate"]
    back = _back(request, MODEL, version)
    before = ModelVersion.objects.filter(version=version).values_list("audit_sample_rate", flat=True).first()
    try:
        result = approvals.audit_sample_rate_change_propose(
            version=version, rate=rate, actor=_actor(request), user=_admin(request)
        )
    except DomainError as error:
        messages.error(request, f"Not applied: {approvals.error_message(error)}")
        return redirect(back if before is not None else reverse("lifecycle:changes"))
    if result.proposal is not None:
        messages.success(request, _proposed(result.proposal))
    else:
        messages.success(
            request,
            f"v{version}'s audit sample rate is now {rate:g} (was {before:g}): every process "
            f"samples with it within {settings.MODEL_REFRESH_SECONDS:g} s.",
        )
    return redirect(back)
