"""The client's IP address, as rate limits and login lockouts count it.

`X-Forwarded-For` is written by whoever sends the request, so it is trusted only as far as
`NUM_PROXIES` says: the address that the nearest of our proxies appended. With no proxies (the
default) it is ignored; otherwise a client could name a new address with every attempt and
never be throttled or locked out.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not settings.NUM_PROXIES or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",")]
    return addresses[-min(settings.NUM_PROXIES, len(addresses))]
