"""Login lockouts (django-axes) go into the audit log.

Connected in ReviewsConfig.ready(): axes sends `user_locked_out` when a username and client IP
pass AXES_FAILURE_LIMIT failed logins, and again for each attempt while still locked out.
"""

from axes.signals import user_locked_out
from django.dispatch import receiver

from reviews.audit import audit_event_record
from reviews.models import AuditEvent


@receiver(user_locked_out, dispatch_uid="reviews.lockouts.login_locked_out_record")
def login_locked_out_record(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    audit_event_record(
        action=AuditEvent.Action.LOGIN_LOCKED_OUT,
        # The name tried is not a proven identity: written as given, with the address it came from.
        actor=f"login:{username or '?'}@{ip_address or '?'}"[:200],
        object_type="user",
        object_id=(username or "")[:64],
        request_id=getattr(request, "request_id", ""),
        after={"username": username, "ip_address": ip_address},
    )
