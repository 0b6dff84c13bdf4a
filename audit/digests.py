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


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def digest(value: Any, *, spelling: Spelling = CANONICAL) -> str:
    """The SHA-256 of the value's canonical JSON, as 64 hex digits."""
    return sha256_hex(canonical_json(value, spelling=spelling))
