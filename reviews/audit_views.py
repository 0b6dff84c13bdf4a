"""Auditor pages: search predictions, trace one, export the search. Read-only by design."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit import selectors as audit_selectors
from audit.actors import actor_name
from predictions.evidence import PREDICTION
from reviewapp.roles import ADMIN, AUDITOR, role_required
from reviews import exports, selectors
from reviews.filtersets import PredictionFilterSet

auditor_required = role_required(AUDITOR, ADMIN)
PAGE_SIZE = 50


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


@require_GET
@auditor_required
def search(request: HttpRequest) -> HttpResponse:
    filterset = PredictionFilterSet(request.GET, queryset=selectors.predictions_for_audit())
    number = _page_number(request)
    start = (number - 1) * PAGE_SIZE
    # One row more than a page says whether there is a next page, without counting millions.
    rows = list(filterset.qs[start : start + PAGE_SIZE + 1]) if filterset.is_valid() else []
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "predictions": rows[:PAGE_SIZE],
        "page_number": number,
        "has_next": len(rows) > PAGE_SIZE,
        "query": query.urlencode(),
    }
    template = "audit/partials/results.html" if request.headers.get("HX-Request") else "audit/search.html"
    return render(request, template, context)


@require_GET
@auditor_required
def prediction_trace(request: HttpRequest, request_id: str) -> HttpResponse:
    if "\x00" in request_id:
        # No stored request_id holds a NUL, and PostgreSQL refuses one in a query.
        raise Http404("No prediction with that request ID")
    prediction = selectors.predictions_for_audit().filter(request_id=request_id).first()
    if prediction is None:
        raise Http404("No prediction with that request ID")
    item = getattr(prediction, "review_item", None)
    decision = getattr(item, "decision", None) if item else None
    context = {
        "prediction": prediction,
        "item": item,
        "decision": decision,
        "record_unchanged": decision is None
        or decision.seen_digest == selectors.review_digest(prediction, blind=decision.blind),
        # The prediction is its own `created` evidence: its row's link, then the events after it.
        "created_by": prediction.scored_by or actor_name(api_key=prediction.api_key),
        "created_link": audit_selectors.audit_link_of(source=PREDICTION, object_id=prediction.pk),
        "events": audit_selectors.audit_events_for_request(request_id=request_id),
        "callback": getattr(decision, "callback", None) if decision else None,
    }
    return render(request, "audit/prediction.html", context)


def _export(
    request: HttpRequest,
    render_rows: Callable[[Iterable[dict[str, Any]]], Iterator[str]],
    content_type: str,
    extension: str,
) -> StreamingHttpResponse:
    filterset = PredictionFilterSet(request.GET, queryset=selectors.predictions_for_audit())
    rows = exports.export_rows(filterset.qs if filterset.is_valid() else filterset.queryset.none())
    response = StreamingHttpResponse(render_rows(rows), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="predictions-{stamp}.{extension}"'
    return response


@require_GET
@auditor_required
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    return _export(request, exports.as_csv, "text/csv; charset=utf-8", "csv")


@require_GET
@auditor_required
def export_jsonl(request: HttpRequest) -> StreamingHttpResponse:
    return _export(request, exports.as_json_lines, "application/x-ndjson", "jsonl")


@require_GET
@auditor_required
def events(request: HttpRequest) -> HttpResponse:
    number = _page_number(request)
    rows = audit_selectors.audit_events_page(page=number, page_size=PAGE_SIZE)
    context = {"events": rows[:PAGE_SIZE], "page_number": number, "has_next": len(rows) > PAGE_SIZE}
    return render(request, "audit/events.html", context)
