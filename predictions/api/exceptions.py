"""Domain errors become HTTP answers in one place, so views stay thin."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from predictions import registry, services
from predictions.api.throttling import ip_failure_throttled
from predictions.scoring import ArtifactError


def exception_handler(exc, context):
    if isinstance(exc, services.InvalidInput):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, services.Conflict):
        return Response(exc.errors, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, (registry.NoActiveModel, ArtifactError)):
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, (exceptions.AuthenticationFailed, exceptions.NotAuthenticated)):
        # Throttles run after authentication, so failed attempts are counted here, per IP.
        wait = ip_failure_throttled(context["request"], context["view"])
        if wait is not None:
            exc = exceptions.Throttled(wait)
    return drf_exception_handler(exc, context)
