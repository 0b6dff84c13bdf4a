"""Which address counts as the client's: X-Forwarded-For only as far as our own proxies go."""

from django.test import RequestFactory

from reviewapp.client_ip import client_ip


def _request(**meta):
    return RequestFactory().get("/", **meta)


def test_without_proxies_the_header_is_ignored(settings):
    settings.NUM_PROXIES = 0

    assert client_ip(_request(REMOTE_ADDR="203.0.113.1", HTTP_X_FORWARDED_FOR="10.9.9.9")) == "203.0.113.1"


def test_with_one_proxy_the_last_address_is_the_client(settings):
    settings.NUM_PROXIES = 1
    request = _request(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="forged, 203.0.113.7")

    assert client_ip(request) == "203.0.113.7"


def test_with_two_proxies_the_second_from_last(settings):
    settings.NUM_PROXIES = 2
    request = _request(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="forged, 203.0.113.7, 10.0.0.9")

    assert client_ip(request) == "203.0.113.7"


def test_a_proxy_that_sent_no_header_leaves_its_own_address(settings):
    settings.NUM_PROXIES = 1

    assert client_ip(_request(REMOTE_ADDR="10.0.0.5")) == "10.0.0.5"
