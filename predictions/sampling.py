"""Deterministic sampling by request ID: the same request is always in or out, whatever the retries.

Pure, like scoring.py. A request's draw is the first 8 hex digits of sha256 of its ID read as
a number in [0, 1): uniform for any IDs upstream sends (sequential ones included), cheap
(~1 µs), and checkable by anyone who has the ID, an auditor included. Different samples use
different salts so that being in one says nothing about being in another.
"""

from __future__ import annotations

import hashlib

AUDIT_SAMPLE_SALT = ""  # the rule: sha256(request_id) itself
BLIND_REVIEW_SALT = "blind-review:"

_SCALE = float(2**32)


def request_draw(request_id: str, *, salt: str = AUDIT_SAMPLE_SALT) -> float:
    """The request's uniform draw in [0, 1): first 8 hex digits of sha256(salt + request_id) / 2³²."""
    return int(hashlib.sha256((salt + request_id).encode()).hexdigest()[:8], 16) / _SCALE


def in_sample(request_id: str, *, rate: float, salt: str = AUDIT_SAMPLE_SALT) -> bool:
    """Whether the request falls in a sample drawn at `rate` (0 never, 1 always)."""
    return request_draw(request_id, salt=salt) < rate
