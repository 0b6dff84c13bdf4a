"""The outcomes upload page: an admin sends a CSV file of outcomes, the same as import_outcomes."""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from audit.actors import actor_name
from outcomes import services
from outcomes.forms import OutcomeUploadForm
from outcomes.imports import COLUMNS, UnreadableFile, csv_rows, text_stream
from reviewapp.roles import ADMIN, role_required


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
