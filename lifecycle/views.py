"""The models page (every version, its shadowing; an admin starts and stops it) and a version's
comparison with the active model, with the promotion gate's verdict, under /models/.

Auditors and admins read; only admins shadow (POST, CSRF-protected, lifecycle/services.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.actors import actor_name
from lifecycle import charts, gate, selectors, services
from lifecycle.comparison import Comparison, Measure
from predictions.models import ModelVersion
from predictions.scoring import ArtifactError
from predictions.selectors import model_version_active
from predictions.templatetags.figures import NOTHING
from reviewapp.errors import DomainError
from reviewapp.roles import ADMIN, AUDITOR, has_role, role_required

readers_required = role_required(AUDITOR, ADMIN)
# The labelled figures, in the page's order: (key, name, higher is better, as a share)
FIGURES = (
    ("precision", "Precision", True, True),
    ("recall", "Recall", True, True),
    ("false_positive_rate", "False-positive rate", False, True),
    ("roc_auc", "ROC AUC", True, False),
    ("brier", "Brier score", False, False),
)


class ShadowForm(forms.Form):
    backfill_days = forms.IntegerField(required=False, min_value=1, max_value=365)


class WindowForm(forms.Form):
    since = forms.DateTimeField(required=False)
    until = forms.DateTimeField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("since", "since must be before until.")
        return data


@require_GET
@readers_required
def models(request: HttpRequest) -> HttpResponse:
    versions = list(
        ModelVersion.objects.annotate(shadowed=Count("shadow_scores")).order_by("-version")
    )  # the count is one aggregate for the page, not one per row
    open_period = selectors.shadow_period_open()
    rows = [
        {
            "version": v,
            "recall": v.metrics.get("recall_at_0.5"),
            "shadowing": open_period is not None and open_period.model_version_id == v.pk,
            "shadowed": v.shadowed,
            "can_shadow": v.status in (ModelVersion.Status.STAGED, ModelVersion.Status.RETIRED),
        }
        for v in versions
    ]
    context = {
        "title": "Models",
        "rows": rows,
        "open_period": open_period,
        "is_admin": has_role(request.user, ADMIN),
    }
    return render(request, "lifecycle/models.html", context)


@require_POST
@role_required(ADMIN)
def model_shadow(request: HttpRequest, version: int) -> HttpResponse:
    """Start (or, with action=stop, stop) shadowing `version`; back to the models page."""
    actor = actor_name(user=request.user)
    try:
        if request.POST.get("action") == "stop":
            services.shadow_stop(actor=actor, version=version)
            messages.success(request, f"v{version} stopped shadowing; its shadow scores are kept.")
        else:
            form = ShadowForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"Backfill days: {' '.join(map(str, form.errors['backfill_days']))}")
                return redirect("lifecycle:models")
            days = form.cleaned_data.get("backfill_days")
            since = timezone.now() - timedelta(days=days) if days else None
            period = services.shadow_start(version=version, actor=actor, backfill_since=since)
            backfill = (
                f" The last {days} days' predictions are being scored in the background; the "
                "comparison fills in as they are."
                if days
                else ""
            )
            messages.success(
                request,
                f"v{version} shadows v{period.active_version.version}: it scores, never answers.{backfill}",
            )
    except (DomainError, ArtifactError) as error:
        messages.error(request, _message(error))
    return redirect("lifecycle:models")


def _message(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if isinstance(errors, dict):
        return " ".join(" ".join(v) if isinstance(v, list) else str(v) for v in errors.values())
    return str(error)


@require_GET
@readers_required
def model_comparison(request: HttpRequest, version: int) -> HttpResponse:
    try:
        candidate = selectors.model_version_by_number(version=version)
    except selectors.UnknownVersion as error:
        raise Http404(str(error)) from error
    form = WindowForm(request.GET or None)
    window: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        window = {k: v for k, v in form.cleaned_data.items() if v is not None}
    found = selectors.model_version_comparison(version=version, **window)
    verdict = gate.promotion_gate_check(candidate=candidate, active=model_version_active())
    context = {
        "title": f"v{version} against the active model",
        "candidate": candidate,
        "form": form,
        "found": found,
        "data": found.as_dict(),
        "figures": _figure_rows(found),
        "chart": charts.score_distribution(found.psi),
        "gate": verdict,
        "periods": selectors.shadow_periods_of(version=candidate),
        "query": request.GET.urlencode(),
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "lifecycle/comparison.html", context, status=status)


def _shown(measure: Measure | None, as_share: bool) -> tuple[str, str]:
    """(value, 95 % interval) as people read them; why it is missing where it is."""
    if measure is None or measure.value is None:
        return NOTHING, (measure.reason or "") if measure else ""
    fmt = "{:.1%}" if as_share else "{:.3f}"
    if measure.ci_low is None or measure.ci_high is None:
        return fmt.format(measure.value), measure.reason or ""
    return fmt.format(measure.value), f"{fmt.format(measure.ci_low)} to {fmt.format(measure.ci_high)}"


def _figure_rows(found: Comparison) -> list[dict[str, Any]]:
    labelled = found.labelled
    differences = labelled.differences()
    rows = []
    for key, name, higher_is_better, as_share in FIGURES:
        active = labelled.active.measure(key) if labelled.active else None
        challenger = labelled.challenger.measure(key) if labelled.challenger else None
        difference = differences[key]
        better = None if difference in (None, 0) else (difference > 0) == higher_is_better
        rows.append(
            {
                "name": name,
                "active": _shown(active, as_share),
                "challenger": _shown(challenger, as_share),
                "difference": NOTHING
                if difference is None
                else (f"{difference:+.1%}" if as_share else f"{difference:+.3f}"),
                "better": better,
                "direction": "higher is better" if higher_is_better else "lower is better",
            }
        )
    return rows
