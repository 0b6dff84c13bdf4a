"""Signed HTTP delivery of decisions. Pure: no ORM, so signing is easy to verify in tests."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Reviewapp-Signature"
TIMESTAMP_HEADER = "X-Reviewapp-Timestamp"


def canonical_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", so a captured request cannot be replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    *, secret: str, timestamp: str | None, body: bytes, presented: str | None, max_age_seconds: int = 300
) -> bool:
    """What a receiver does: check freshness and compare in constant time."""
    if not timestamp or not presented:  # a request without the headers
        return False
    try:
        fresh = abs(time.time() - int(timestamp)) <= max_age_seconds
    except ValueError:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters, which anyone can send.
    expected = signature(secret=secret, timestamp=timestamp, body=body).encode()
    return fresh and hmac.compare_digest(expected, presented.encode())


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(*, url: str, payload: dict[str, Any], secret: str, timeout: float) -> Outcome:
    if not url.startswith(("http://", "https://")):
        return Outcome(status_code=None, error="only http and https callback URLs are allowed", duration_ms=0)
    body = canonical_body(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "reviewapp-callbacks/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    try:
        # The scheme is checked above; the rest of the URL may still be unusable.
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, error = response.status, ""
    except urllib.error.HTTPError as failure:
        status, error = failure.code, f"HTTP {failure.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as failure:
        status, error = None, str(getattr(failure, "reason", failure))[:500]
    except (http.client.HTTPException, ValueError) as failure:
        # A receiver that does not speak HTTP, or a URL that cannot be requested: an attempt
        # that failed like any other, so it is logged and retried until the delivery is dead.
        status, error = None, f"{type(failure).__name__}: {failure}"[:500]
    return Outcome(status_code=status, error=error, duration_ms=int((time.monotonic() - started) * 1000))
