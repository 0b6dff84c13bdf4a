"""The outcomes pages: an admin's upload of outcomes (the same as import_outcomes); the quality
pages, the scorecard at /quality/ and the threshold what-if at /quality/thresholds/, whose
"apply" form posts to lifecycle's `lifecycle:threshold-propose` (a review threshold change may
need a second admin, REQUIRE_SECOND_APPROVER; four eyes lives in lifecycle, above this app)."""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from audit.actors import actor_name
from outcomes import charts, quality, services
from outcomes.forms import OutcomeUploadForm, QualityWindowForm, ThresholdApplyForm, ThresholdsForm
from outcomes.imports import COLUMNS, UnreadableFile, csv_rows, text_stream
from reviewapp.roles import ADMIN, AUDITOR, has_role, role_required


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def upload(request: HttpRequest) -> HttpResponse:
    form = OutcomeUploadForm(request.POST, request.FILES) if request.method == "POST" else OutcomeUploadForm()
    context = {"title": "Upload outcomes", "form": form, "columns": ",".join(COLUMNS)}
    if request.method == "GET":
        return render(request, "outcomes/upload.html", context)
    if not form.is_valid():
        return render(request, "outcomes/upload.html", context, status=HTTPStatus.BAD_REQUEST)
    uploaded = form.cleaned_data["file"]
    # Read from the upload as it is stored (a temporary file beyond a few MB), a row at a time.
    stream = text_stream(uploaded.open("rb"))
    try:
        summary = services.outcomes_import(rows=csv_rows(stream), actor=actor_name(user=request.user))
    except UnreadableFile as error:
        form.add_error("file", error.errors["detail"])
        return render(request, "outcomes/upload.html", context, status=HTTPStatus.BAD_REQUEST)
    finally:
        stream.detach()
    return render(request, "outcomes/upload.html", {**context, "summary": summary, "name": uploaded.name})


# --- quality: the scorecard and the threshold what-if -------------------------------------

quality_required = role_required(AUDITOR, ADMIN)
# What the what-if page's links and the apply form carry over, so a redirect shows the same rows.
WHAT_IF_PARAMETERS = ("since", "until", "model_version", *ThresholdsForm.DEFAULTS)


def _window(form: QualityWindowForm) -> quality.QualityWindow | None:
    """The form's window, or None with the reason on the form (the API's rules and messages)."""
    if not form.is_valid():
        return None
    try:
        return quality.quality_window(
            since=form.cleaned_data["since"],
            until=form.cleaned_data["until"],
            model_version=form.cleaned_data["model_version"],
        )
    except quality.InvalidWindow as invalid:
        for field, messages_ in invalid.errors.items():
            form.add_error(field, messages_)
        return None


@require_GET
@quality_required
def scorecard(request: HttpRequest) -> HttpResponse:
    form = QualityWindowForm(request.GET)
    window = _window(form)
    context: dict[str, Any] = {"title": "Quality", "form": form, "window": window}
    if window is None:
        return render(request, "outcomes/quality.html", context, status=HTTPStatus.BAD_REQUEST)
    card = quality.quality_scorecard(window=window)
    context.update(
        form=QualityWindowForm(initial=_shown(window)),  # the dates the figures are for
        card=card,
        recent_unlabelled=_recent_unlabelled(card["weekly"]),
        coverage_chart=charts.coverage_chart(card["weekly"]),
        reliability_chart=charts.reliability_chart(card["calibration"]["bins"]),
        query=request.GET.urlencode(),
    )
    return render(request, "outcomes/quality.html", context)


def _shown(window: quality.QualityWindow) -> dict[str, Any]:
    return {"since": window.since, "until": window.until, "model_version": window.model_version}


def _recent_unlabelled(weeks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last weeks whose coverage is under half the window's best: not labelled yet, mostly."""
    best = max((w["label_coverage"] or 0.0 for w in weeks), default=0.0)
    recent = []
    for week in reversed(weeks):
        if week["predictions"] and (week["label_coverage"] or 0.0) >= best / 2:
            break
        if week["predictions"]:
            recent.append(week)
    return list(reversed(recent))


@require_GET
@quality_required
def thresholds(request: HttpRequest) -> HttpResponse:
    form = ThresholdsForm(request.GET)
    window = _window(form)
    carried = {name: request.GET[name] for name in WHAT_IF_PARAMETERS if request.GET.get(name)}
    context: dict[str, Any] = {"title": "Threshold what-if", "form": form, "window": window}
    if window is None:
        return render(request, "outcomes/thresholds.html", context, status=HTTPStatus.BAD_REQUEST)
    parameters = form.what_if_parameters()
    what_if = quality.quality_what_if(
        window=window,
        analyst_hours_per_day=parameters["analyst_hours_per_day"],
        cost_false_positive=parameters["cost_false_positive"],
        cost_missed_fraud=parameters["cost_missed_fraud"],
    )
    active = what_if["active_model"]
    rows = what_if["thresholds"]
    context["form"] = ThresholdsForm(initial={**_shown(window), **parameters})
    markers = [(what_if["recommended"], "recommended")] if what_if["recommended"] is not None else []
    if active is not None:
        markers.append((active["review_threshold"], "current"))
    cost_label = "expected cost over the window"
    context.update(
        what_if=what_if,
        rows=rows,
        current=_row_at(rows, active["review_threshold"]) if active else None,
        recommended=_row_at(rows, what_if["recommended"]),
        cost_chart=charts.threshold_chart(
            thresholds=[r["threshold"] for r in rows],
            values=[r["expected_cost"] for r in rows],
            label=cost_label,
            markers=markers,
        ),
        hours_chart=charts.threshold_chart(
            thresholds=[r["threshold"] for r in rows],
            values=[r["analyst_hours_per_day"] for r in rows],
            label="analyst hours a day",
            markers=markers,
            limit=(what_if["parameters"]["analyst_hours_per_day"], "the team's hours"),
        ),
        can_apply=has_role(request.user, ADMIN) and active is not None,
        apply_form=ThresholdApplyForm(
            initial={
                "version": active["version"] if active else None,
                "threshold": what_if["recommended"] or (active["review_threshold"] if active else None),
            }
        ),
        carried=carried,
        query=urlencode(carried),
        refresh_seconds=settings.MODEL_REFRESH_SECONDS,
        four_eyes=settings.REQUIRE_SECOND_APPROVER,
    )
    return render(request, "outcomes/thresholds.html", context)


def _row_at(rows: list[dict[str, Any]], threshold: float | None) -> dict[str, Any] | None:
    """The what-if row of a threshold; a threshold between the rows' (0.855) gets none."""
    if threshold is None:
        return None
    return next((row for row in rows if math.isclose(row["threshold"], threshold)), None)
