"""Rate limits kept in the shared cache, so they hold across processes.

Fixed windows: one counter per caller per window, counted with one round trip to Redis. DRF's
SimpleRateThrottle keeps a list of every request's time instead and writes it back on each
request, which at the default per-key rate meant reading and writing ~50 KB per request.

Callers:
- an API key (an authentication result with a `rate_limit`, `RateLimitedCaller`: predictions'
  ApiKey): its `rate_limit`, or `API_RATE_LIMIT` when the key has none;
- the client IP (`reviewapp/client_ip.py`), for unauthenticated requests and failed
  authentications (`ANON_RATE_LIMIT`).
  DRF authenticates before it throttles, so the exception handler counts failed Api-Key
  attempts with `ip_failure_throttled`. An IP over its limit is refused even with a valid key,
  so a guessed key is of no use until the window has passed.

When Redis cannot be reached the limits are not enforced (a warning a minute is logged): a
fraud decision matters more than a rate limit, and the database still refuses bad requests.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from reviewapp.client_ip import client_ip
from reviewapp.rates import Rate, parse_rate

if TYPE_CHECKING:  # rest_framework.views imports this module (DEFAULT_THROTTLE_CLASSES)
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)
_CACHE_ERRORS = (RedisError, ConnectionInterrupted, OSError)
_last_warning = 0.0


class RateLimitedCaller(Protocol):
    """An authentication result (request.auth) with a limit of its own: an API key."""

    pk: Any
    rate_limit: str  # 'COUNT/PERIOD', or empty for API_RATE_LIMIT


def _unenforced(error: Exception) -> None:
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        logger.warning("rate limits not enforced: the cache is unreachable (%s)", error)


def _window(key: str, rate: Rate, now: float) -> tuple[str, float]:
    """The counter's cache key for the current window and the seconds left in it."""
    index = int(now // rate.seconds)
    return f"ratelimit:{key}:{rate.seconds}:{index}", (index + 1) * rate.seconds - now


def _count(key: str, rate: Rate, now: float, *, read: str | None = None, by: int = 1) -> tuple[int, int]:
    """Add `by` to `key`'s counter; also read `read`'s counter. One round trip on Redis."""
    counter, left = _window(key, rate, now)
    timeout = int(left) + 1
    if hasattr(cache, "client") and hasattr(cache.client, "get_client"):  # django-redis
        pipe = cache.client.get_client(write=True).pipeline(transaction=False)
        pipe.incr(cache.make_key(counter), by)
        pipe.expire(cache.make_key(counter), timeout)
        if read:
            pipe.get(cache.make_key(read))
        results = pipe.execute()
        return results[0], int(results[2] or 0) if read else 0
    cache.add(counter, 0, timeout=timeout)
    return cache.incr(counter, by), int(cache.get(read) or 0) if read else 0


# A key allowed thousands of requests a window is counted in this process and added to Redis in
# steps: a busy upstream system then costs a round trip per LOCAL_STEP requests (or per
# LOCAL_MAX_AGE seconds) instead of one per request. A key can overshoot its limit by at most
# LOCAL_STEP requests per web process and client address, and an IP locked out meanwhile is
# refused from the next step on.
LOCAL_MIN_REQUESTS = 1000
LOCAL_STEP = 16
LOCAL_MAX_AGE = 0.2


@dataclass
class _Tally:
    counter: str  # the window's counter key; a new window starts a new tally
    shared: int = 0  # the counter in Redis at the last step, this process's counts included
    pending: int = 0  # counted here since
    ip_failures: int = 0
    synced_at: float = -math.inf


_tallies: dict[str, _Tally] = {}
_tallies_lock = threading.Lock()
_TALLIES_MAX = 10_000


def local_counts_clear() -> None:
    """Forget the counts kept in this process (tests, and when there are too many)."""
    with _tallies_lock:
        _tallies.clear()


def _count_api_key(api_key: RateLimitedCaller, rate: Rate, now: float, *, ip_counter: str) -> tuple[int, int]:
    """Like _count for the key (reading the IP's failures), in steps for generous limits."""
    key = f"key:{api_key.pk}"
    if rate.requests < LOCAL_MIN_REQUESTS:
        return _count(key, rate, now, read=ip_counter)
    counter, _ = _window(key, rate, now)
    with _tallies_lock:
        tally = _tallies.get(f"{key}|{ip_counter}")
        if tally is None or tally.counter != counter:
            if len(_tallies) >= _TALLIES_MAX:
                _tallies.clear()
            tally = _tallies[f"{key}|{ip_counter}"] = _Tally(counter)
        tally.pending += 1
        if tally.pending < LOCAL_STEP and time.monotonic() - tally.synced_at < LOCAL_MAX_AGE:
            return tally.shared + tally.pending, tally.ip_failures
        step, tally.pending = tally.pending, 0
    shared, ip_failures = _count(key, rate, now, read=ip_counter, by=step)
    with _tallies_lock:
        tally.shared, tally.ip_failures, tally.synced_at = shared, ip_failures, time.monotonic()
        return shared + tally.pending, ip_failures


def _ip_rate() -> Rate:
    return parse_rate(settings.ANON_RATE_LIMIT)


def api_key_rate(api_key: RateLimitedCaller) -> Rate:
    return parse_rate(api_key.rate_limit or settings.API_RATE_LIMIT)


class CallerRateThrottle(BaseThrottle):
    """Counts each request against its caller's limit; refuses it once the window is full."""

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return self._allow(request)
        except _CACHE_ERRORS as error:
            _unenforced(error)
            return True

    def _allow(self, request: Request) -> bool:
        now = time.time()
        ip_key, ip_rate = f"ip:{client_ip(request)}", _ip_rate()
        ip_counter, ip_left = _window(ip_key, ip_rate, now)
        # An attribute lookup, not isinstance on a runtime Protocol: this runs on every request.
        if hasattr(request.auth, "rate_limit"):
            api_key: RateLimitedCaller = request.auth
            rate = api_key_rate(api_key)
            counted, ip_failures = _count_api_key(api_key, rate, now, ip_counter=ip_counter)
            if ip_failures >= ip_rate.requests:
                return self._refuse(ip_left)
            if counted > rate.requests:
                return self._refuse(_window(f"key:{api_key.pk}", rate, now)[1])
            return True
        if getattr(request.user, "is_authenticated", False):
            # People in the browser: only refused when their IP is locked out by failures.
            if int(cache.get(ip_counter) or 0) >= ip_rate.requests:
                return self._refuse(ip_left)
            return True
        counted, _ = _count(ip_key, ip_rate, now)
        return counted <= ip_rate.requests or self._refuse(ip_left)

    def _refuse(self, seconds: float) -> bool:
        self.retry_after = max(seconds, 1.0)
        return False

    def wait(self) -> float | None:
        return self.retry_after


def ip_failure_throttled(request: Request, view: APIView) -> float | None:
    """Count a failed authentication for the client IP; the seconds to wait once over the limit."""
    ip_key, ip_rate, now = f"ip:{client_ip(request)}", _ip_rate(), time.time()
    try:
        counted, _ = _count(ip_key, ip_rate, now)
    except _CACHE_ERRORS as error:
        _unenforced(error)
        return None
    if counted <= ip_rate.requests:
        return None
    return max(_window(ip_key, ip_rate, now)[1], 1.0)
