"""Request rates as written in settings and on API keys: 'COUNT/PERIOD', e.g. '6000/min'."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.core.exceptions import ValidationError

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: int


# The throttle reads two rates on every request, and a process meets a handful of spellings.
@functools.lru_cache(maxsize=256)
def parse_rate(text: str) -> Rate:
    """'6000/min', '100/second', '10/h': a positive count and a period (its first letter counts)."""
    count, _, period = text.partition("/")
    unit = period.strip()[:1].lower()
    if not count.strip().isdigit() or int(count) < 1 or unit not in _PERIODS:
        raise ValueError(f"{text!r} is not a rate: write COUNT/PERIOD, e.g. 6000/min")
    return Rate(int(count), _PERIODS[unit])


def validate_rate(value: str) -> None:
    try:
        parse_rate(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None
