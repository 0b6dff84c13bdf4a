from django.http import HttpRequest

from reviewapp.roles import ADMIN, ANALYST, AUDITOR, has_role


def roles(request: HttpRequest) -> dict[str, bool]:
    """Which parts of the navigation this person may use (the views check again)."""
    user = getattr(request, "user", None)
    return {
        "can_review": has_role(user, ANALYST, ADMIN),
        "can_audit": has_role(user, AUDITOR, ADMIN),
        "can_monitor": has_role(user, ANALYST, AUDITOR, ADMIN),
        "can_upload_outcomes": has_role(user, ADMIN),
    }
