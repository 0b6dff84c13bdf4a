"""Login lockouts (django-axes) go into the audit log.

Connected in AuditConfig.ready(): axes sends `user_locked_out` when a username and client IP
pass AXES_FAILURE_LIMIT failed logins, and again for each attempt while still locked out.
"""

from typing import Any

from axes.signals import user_locked_out
from django.dispatch import receiver
from django.http import HttpRequest

from audit import services


@receiver(user_locked_out, dispatch_uid="audit.receivers.login_locked_out")
def login_locked_out(
    sender: object,
    request: HttpRequest | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    services.login_lockout_record(
        username=username, ip_address=ip_address, request_id=getattr(request, "request_id", "")
    )
