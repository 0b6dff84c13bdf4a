"""Rate limits kept in the shared cache, so they hold across processes.

DRF authenticates before it throttles, so a failed Api-Key attempt never reaches a throttle:
the exception handler counts those per client IP with `ip_failure_throttled`.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from predictions.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key (`API_RATE_LIMIT`); other callers are left to the IP throttle."""

    scope = "api_key"

    def get_rate(self) -> str:
        # Read at request time, so a settings change (or a test) takes effect at once.
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class ClientIpRateThrottle(SimpleRateThrottle):
    """Unauthenticated and failed requests per client IP (`ANON_RATE_LIMIT`).

    An IP over the limit is refused even with a valid key, so a guessed key is of no use
    until the window has passed.
    """

    scope = "anon_ip"

    def get_rate(self) -> str:
        return settings.ANON_RATE_LIMIT

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        if request.auth is None and not getattr(request.user, "is_authenticated", False):
            return super().allow_request(request, view)
        return not self.over_limit(request, view)

    def over_limit(self, request, view) -> bool:
        """Whether this IP is over the limit, without counting this request."""
        self.key = self.get_cache_key(request, view)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        self.history = [at for at in self.history if at > self.now - self.duration]
        return len(self.history) >= self.num_requests


def ip_failure_throttled(request, view) -> float | None:
    """Count a failed authentication for the client IP; the seconds to wait once over the limit."""
    throttle = ClientIpRateThrottle()
    if SimpleRateThrottle.allow_request(throttle, request, view):
        return None
    return throttle.wait()
