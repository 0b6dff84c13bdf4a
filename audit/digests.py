"""The one home of canonical JSON and its SHA-256 digest.

A digest is only useful if everyone spells a value the same way, so every digest in the
project is made here. Two older spellings are kept by name because stored data was hashed
with them and is compared again later: a prediction's `features_digest` (idempotent repeats)
and a decision's `seen_digest` (the audit trace's "record unchanged" check). New digests use
CANONICAL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import orjson
from django.core.serializers.json import DjangoJSONEncoder


@dataclass(frozen=True)
class Spelling:
    """How a value is written as JSON before it is hashed."""

    separators: tuple[str, str]
    ensure_ascii: bool
    dates: bool  # datetimes, dates and decimals as ISO 8601 / strings (DjangoJSONEncoder)


# Sorted keys, no spaces, Unicode as is, dates as ISO 8601: the audit chain's spelling.
CANONICAL = Spelling(separators=(",", ":"), ensure_ascii=False, dates=True)
# Frozen: `Prediction.features_digest` of every stored prediction.
FEATURES_V1 = Spelling(separators=(",", ":"), ensure_ascii=True, dates=False)
# Frozen: `Decision.seen_digest` and the `review.decided` events that repeat it.
REVIEW_V1 = Spelling(separators=(", ", ": "), ensure_ascii=True, dates=False)


def canonical_json(value: Any, *, spelling: Spelling = CANONICAL) -> str:
    """One text per value: sorted keys, then the spelling's separators and escapes."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=spelling.separators,
        ensure_ascii=spelling.ensure_ascii,
        cls=DjangoJSONEncoder if spelling.dates else None,
    )


def sorted_json(value: Any) -> str:
    """Sorted keys, no spaces, Unicode as is, floats in their shortest form (1e-7, not 1e-07).

    CANONICAL's shape at a tenth of its cost (orjson), for spellings hashed in bulk: the link of
    every prediction. What orjson cannot write (integers beyond 64 bits, keys other than
    strings) is written by canonical_json instead, so one value is always spelled one way.
    Dates must be strings already.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return canonical_json(value)


# Where orjson's compact, key-sorted text may differ from the standard library's for FEATURES_V1:
# floats under 1e-4 (orjson: 1e-5 or 0.00001; json: 1e-05), NaN and infinities (orjson: null;
# json: NaN, Infinity), DEL (json escapes it). Non-ASCII text is caught by isascii().
_ORJSON_MAY_DIFFER = (b"e-", b"0.0000", b"null", b"\x7f")


def features_v1_json(value: Any) -> str:
    """canonical_json(value, spelling=FEATURES_V1) of a value parsed from JSON, at a fifth of its cost.

    orjson writes what the standard library writes for this spelling except in the cases
    above; where its text could hold one of them (or it cannot write the value at all, like an
    integer beyond 64 bits), the standard library writes it. So the text is always FEATURES_V1's,
    which stored digests are compared with (tests/audit/test_digests.py compares the two on
    floats of every magnitude, every ASCII character and more). Only for values parsed from
    JSON: orjson would also write dates, UUIDs and dataclasses, which json.dumps refuses.
    """
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return canonical_json(value, spelling=FEATURES_V1)
    if not text.isascii() or any(marker in text for marker in _ORJSON_MAY_DIFFER):
        return canonical_json(value, spelling=FEATURES_V1)
    return text.decode()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def digest(value: Any, *, spelling: Spelling = CANONICAL) -> str:
    """The SHA-256 of the value's canonical JSON, as 64 hex digits."""
    return sha256_hex(canonical_json(value, spelling=spelling))
