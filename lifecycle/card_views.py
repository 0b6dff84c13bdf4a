"""A version's model card as a page (/models/<version>/card/): what `manage.py model_card` prints,
with the provenance of a version retrained from outcomes (docs/lifecycle.md: Retraining).

Auditors and admins read it, as they read the models page; `?download=1` gives the Markdown.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lifecycle import selectors
from predictions import model_card
from reviewapp.roles import ADMIN, AUDITOR, role_required


@require_GET
@role_required(AUDITOR, ADMIN)
def model_card_page(request: HttpRequest, version: int) -> HttpResponse:
    try:
        found = selectors.model_version_by_number(version=version)
    except selectors.UnknownVersion as error:
        raise Http404(str(error)) from None
    if request.GET.get("download"):
        response = HttpResponse(model_card.render(found), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="model-card-v{found.version}.md"'
        return response
    return render(
        request, "lifecycle/model_card.html", {"version": found, "card": model_card.render_html(found)}
    )
