from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from predictions.models import Prediction
from predictions.scoring import label_opposite
from reviewapp.errors import http_status
from reviewapp.roles import ADMIN, ANALYST, role_required
from reviews import selectors, services
from reviews.filtersets import ReviewQueueFilterSet
from reviews.forms import BlindDecisionForm, DecisionForm
from reviews.models import Decision, ReviewItem

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

analyst_required = role_required(ANALYST, ADMIN)


def _refusal_status(error: services.ReviewError) -> int:
    # The services know nothing of HTTP: the status is their error's kind's (reviewapp/errors.py).
    return http_status(error) or HTTPStatus.BAD_REQUEST


def _analyst(request: HttpRequest) -> User:
    # analyst_required sends anonymous requests to the login page before the view runs.
    return cast("User", request.user)


def _queue_context(request: HttpRequest, items: QuerySet[ReviewItem], title: str) -> dict[str, Any]:
    page = Paginator(items, settings.REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    health = selectors.queue_health()
    return {
        "title": title,
        "page": page,
        "counts": health,
        "sla_deadline": health.sla_deadline,
        "now": health.now,
    }


@require_GET
@analyst_required
def queue(request: HttpRequest) -> HttpResponse:
    filterset = ReviewQueueFilterSet(request.GET, queryset=selectors.open_items())
    context = {**_queue_context(request, filterset.qs, "Review queue"), "filter": filterset}
    if request.headers.get("HX-Request"):
        return render(request, "reviews/partials/queue_table.html", context)
    return render(request, "reviews/queue.html", context)


@require_GET
@analyst_required
def my_items(request: HttpRequest) -> HttpResponse:
    context = _queue_context(request, selectors.items_held_by(user=_analyst(request)), "My items")
    return render(request, "reviews/queue.html", context)


@require_GET
@analyst_required
def queue_counts(request: HttpRequest) -> HttpResponse:
    return render(request, "reviews/partials/queue_counts.html", {"counts": selectors.queue_health()})


@require_POST
@analyst_required
def claim_next(request: HttpRequest) -> HttpResponse:
    item = services.review_item_claim_next(user=_analyst(request))
    if item is None:
        messages.info(request, "The queue is empty: nothing to claim.")
        return redirect("reviews:queue")
    return redirect("reviews:item", pk=item.pk)


@require_POST
@analyst_required
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(ReviewItem, pk=pk)
    try:
        services.review_item_claim(item_id=pk, user=_analyst(request))
    except services.ReviewError as error:
        messages.error(request, str(error))
    return redirect("reviews:item", pk=pk)


@require_POST
@analyst_required
def release(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(ReviewItem, pk=pk)
    try:
        services.review_item_release(item_id=pk, user=_analyst(request))
    except services.ReviewError as error:
        messages.error(request, str(error))
        return redirect("reviews:item", pk=pk)
    messages.success(request, "Item released back to the queue.")
    return redirect("reviews:queue")


@require_GET
@analyst_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_or_404(pk)
    seen = selectors.review_digest(item.prediction, blind=item.blind)
    form = _decision_form(item, initial={"digest": seen})
    return render(request, "reviews/item.html", _item_context(request, item, form))


@require_POST
@analyst_required
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_or_404(pk)
    form = _decision_form(item, data=request.POST)
    if not form.is_valid():
        return render(request, "reviews/item.html", _item_context(request, item, form), status=400)
    verdict = (
        {"label": form.cleaned_data["label"]}
        if item.blind
        else {"outcome": form.cleaned_data["outcome"], "reason": form.cleaned_data["reason"]}
    )
    try:
        decision = services.decision_record(
            item_id=pk,
            user=_analyst(request),
            seen_digest=form.cleaned_data["digest"],
            note=form.cleaned_data["note"],
            **verdict,
        )
    except services.ReviewError as error:
        item = _item_or_404(pk)
        if isinstance(error, services.StaleView):
            # The page now shows what is stored, so a decision from it is bound to that.
            data = request.POST.copy()  # what the form was bound to, made mutable
            data["digest"] = selectors.review_digest(item.prediction, blind=item.blind)
            form.data = data
        form.add_error(None, str(error))
        return render(
            request, "reviews/item.html", _item_context(request, item, form), status=_refusal_status(error)
        )
    messages.success(request, _decided_message(item, decision))
    following = services.review_item_claim_next(user=_analyst(request))
    if following is None:
        messages.info(request, "The queue is empty. Well done.")
        return redirect("reviews:queue")
    return redirect("reviews:item", pk=following.pk)


def _decision_form(item: ReviewItem, **kwargs: Any) -> forms.Form:
    """Label it (a blind item), or confirm or override the model's label (a sighted one)."""
    return BlindDecisionForm(**kwargs) if item.blind else DecisionForm(**kwargs)


def _decided_message(item: ReviewItem, decision: Decision) -> str:
    request_id = item.prediction.request_id
    if decision.blind:
        # Not "confirmed" or "overridden": the next blind item must not be judged against it.
        return f"{request_id}: labelled {decision.final_label} (blind review)."
    return f"{request_id}: {decision.get_outcome_display()}, final label {decision.final_label}."


def _item_or_404(pk: int) -> ReviewItem:
    try:
        return selectors.review_item_for_page(pk=pk)
    except ReviewItem.DoesNotExist:
        raise Http404("No such review item") from None


def _item_context(request: HttpRequest, item: ReviewItem, form: forms.Form) -> dict[str, Any]:
    prediction = item.prediction
    now = timezone.now()
    # A lease that ran out holds nothing: the item is back in the queue for anyone to claim.
    leased = (
        item.state == ReviewItem.State.CLAIMED
        and item.lease_expires_at is not None
        and item.lease_expires_at >= now
    )
    held_by_me = leased and item.claimed_by_id == request.user.pk
    held_by_other = leased and not held_by_me
    verdict_hidden = selectors.verdict_hidden(item)
    return {
        "item": item,
        "prediction": prediction,
        "model_version": prediction.model_version,
        "decision": getattr(item, "decision", None),
        "form": form,
        "held_by_me": held_by_me,
        "held_by_other": held_by_other,
        "overdue": item.created_at < selectors.sla_deadline(now=now),
        # A blind item's page is built without the model's verdict until it is decided.
        "verdict_hidden": verdict_hidden,
        "other_label": None if verdict_hidden else label_opposite(prediction.label),
        "outcomes": Decision.Outcome,
        "labels": Prediction.Label,
        "queue_url": reverse("reviews:queue"),
    }
