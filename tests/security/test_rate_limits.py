"""Rate limits: per API key, and per client IP for unauthenticated or failed requests."""

import socket
import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from predictions import services
from reviewapp.rates import parse_rate

URL = "/api/v1/models/active/"
# Mid-minute and mid-hour: 30 s past a whole hour.
STILL_CLOCK = 1_800_000_030.0


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """The rate limits' clock stands still, so a test's requests never straddle a window's edge
    (with a real clock, six requests counted against 5/min all passed when a minute turned)."""
    from reviewapp.api import throttling

    monkeypatch.setattr(
        throttling, "time", SimpleNamespace(time=lambda: STILL_CLOCK, monotonic=time.monotonic)
    )


def _client(secret: str | None, ip: str = "203.0.113.7") -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    if secret is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def test_it_throttles_an_api_key_over_its_rate(settings, active_model, api_key_and_secret):
    settings.API_RATE_LIMIT = "3/min"
    client = _client(api_key_and_secret[1])

    statuses = [client.get(URL).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = client.get(URL)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_each_api_key_has_its_own_budget(settings, active_model, api_key_and_secret):
    settings.API_RATE_LIMIT = "2/min"
    _, other_secret = services.api_key_create(name="other")
    first = _client(api_key_and_secret[1])
    for _ in range(2):
        first.get(URL)

    assert first.get(URL).status_code == 429
    assert _client(other_secret).get(URL).status_code == 200


def test_it_throttles_failed_api_key_attempts_per_ip(settings, active_model):
    settings.ANON_RATE_LIMIT = "3/min"
    guesser = _client("not-a-real-key")

    statuses = [guesser.get(URL).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    assert int(guesser.get(URL).headers["Retry-After"]) > 0


def test_a_throttled_ip_is_refused_even_with_a_valid_key(settings, active_model, api_key_and_secret):
    settings.ANON_RATE_LIMIT = "2/min"
    for _ in range(2):
        _client("guess").get(URL)

    assert _client(api_key_and_secret[1]).get(URL).status_code == 429
    assert _client(api_key_and_secret[1], ip="198.51.100.9").get(URL).status_code == 200


def test_it_throttles_unauthenticated_requests_per_ip(settings, active_model):
    settings.ANON_RATE_LIMIT = "2/min"
    anonymous = _client(None)

    statuses = [anonymous.get(URL).status_code for _ in range(3)]

    assert statuses[:2] == [401, 401]
    assert statuses[2] == 429
    assert "Retry-After" in anonymous.get(URL).headers


def test_a_key_with_its_own_rate_is_limited_by_it(settings, active_model):
    settings.API_RATE_LIMIT = "1000/min"
    _, secret = services.api_key_create(name="trial", rate_limit="2/min")
    client = _client(secret)

    statuses = [client.get(URL).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_a_key_with_its_own_rate_may_exceed_the_default(settings, active_model):
    settings.API_RATE_LIMIT = "2/min"
    _, secret = services.api_key_create(name="checkout", rate_limit="5/min")
    client = _client(secret)

    statuses = [client.get(URL).status_code for _ in range(6)]

    assert statuses == [200] * 5 + [429]


def test_the_retry_after_is_the_rest_of_the_window(settings, active_model, api_key_and_secret):
    settings.API_RATE_LIMIT = "1/hour"
    client = _client(api_key_and_secret[1])
    client.get(URL)

    response = client.get(URL)

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 3600


def test_a_session_user_is_not_counted_but_a_locked_out_ip_is_refused(
    settings, active_model, client, make_user
):
    settings.ANON_RATE_LIMIT = "2/min"
    client.force_login(make_user("auditor"))
    assert all(client.get(URL, REMOTE_ADDR="192.0.2.4").status_code == 200 for _ in range(5))

    for _ in range(2):
        _client("guess", ip="192.0.2.4").get(URL)

    assert client.get(URL, REMOTE_ADDR="192.0.2.4").status_code == 429


def test_the_default_limits_are_high_enough_for_a_busy_client():
    from reviewapp import settings as module
    from reviewapp.rates import parse_rate

    default = parse_rate(module.API_RATE_LIMIT)
    assert default.requests / default.seconds >= 1000  # the throughput one deployment serves


def test_a_forged_forwarded_for_header_does_not_reset_the_ip_budget(settings, active_model):
    settings.ANON_RATE_LIMIT = "2/min"
    guesser = _client("guess")

    statuses = [guesser.get(URL, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(3)]

    assert statuses == [401, 401, 429]


def test_behind_a_proxy_the_address_it_appended_is_the_client(settings, active_model):
    settings.ANON_RATE_LIMIT = "2/min"
    settings.NUM_PROXIES = 1
    proxy = "10.0.0.5"
    first, second = _client("guess", ip=proxy), _client("guess", ip=proxy)

    for _ in range(2):
        first.get(URL, HTTP_X_FORWARDED_FOR="forged, 203.0.113.10")

    assert first.get(URL, HTTP_X_FORWARDED_FOR="other, 203.0.113.10").status_code == 429
    assert second.get(URL, HTTP_X_FORWARDED_FOR="203.0.113.11").status_code == 401


@pytest.fixture
def cache_down(monkeypatch):
    """The shared cache on a Redis that refuses connections, as when Redis is down."""
    from django_redis.cache import RedisCache

    from reviewapp.api import throttling

    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = reserved.getsockname()[1]
        unreachable = RedisCache(f"redis://127.0.0.1:{port}/0", {"OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1}})
        monkeypatch.setattr(throttling, "cache", unreachable)
        monkeypatch.setattr(throttling, "_last_warning", 0.0)
        yield


def test_scoring_goes_on_when_the_rate_limit_cache_is_down(
    cache_down, active_model, api_client, transactions, caplog
):
    response = api_client.post(
        "/api/v1/predictions/", {"request_id": "order-1", "features": transactions(1)[0]}, format="json"
    )

    assert response.status_code == 201
    assert "rate limits not enforced" in caplog.text


def test_a_failed_key_still_gets_401_when_the_rate_limit_cache_is_down(cache_down, active_model):
    assert _client("guess").get(URL).status_code == 401


def test_a_generous_limit_is_counted_in_steps_not_per_request(
    settings, active_model, api_key_and_secret, monkeypatch
):
    from reviewapp.api import throttling

    monkeypatch.setattr(throttling, "LOCAL_MAX_AGE", 3600)  # steps by count only, not by time
    settings.API_RATE_LIMIT = "100000/min"  # above LOCAL_MIN_REQUESTS: counted in steps
    api_key, secret = api_key_and_secret
    client = _client(secret)

    for _ in range(3 * throttling.LOCAL_STEP + 2):
        assert client.get(URL).status_code == 200

    # The first request and three full steps reached the shared counter; the last is local.
    counter, _ = throttling._window(f"key:{api_key.pk}", parse_rate("100000/min"), STILL_CLOCK)
    assert cache.get(counter) == 1 + 3 * throttling.LOCAL_STEP


def test_a_key_counted_in_steps_is_still_refused_soon_after_its_limit(
    settings, active_model, api_key_and_secret, monkeypatch
):
    from reviewapp.api import throttling

    monkeypatch.setattr(throttling, "LOCAL_MIN_REQUESTS", 5)
    monkeypatch.setattr(throttling, "LOCAL_STEP", 4)
    monkeypatch.setattr(throttling, "LOCAL_MAX_AGE", 3600)
    settings.API_RATE_LIMIT = "10/min"
    client = _client(api_key_and_secret[1])

    statuses = [client.get(URL).status_code for _ in range(20)]

    first_refusal = statuses.index(429)
    assert 10 <= first_refusal <= 10 + throttling.LOCAL_STEP
    assert set(statuses[first_refusal:]) == {429}
