from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from reviewapp.roles import ADMIN, ANALYST, AUDITOR, has_role


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so it is always fast."""
    return JsonResponse({"status": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each person to where their work is."""
    if has_role(request.user, ANALYST, ADMIN):
        return redirect("reviews:queue")
    if has_role(request.user, AUDITOR):
        return redirect("audit:search")
    return redirect("api-docs")
