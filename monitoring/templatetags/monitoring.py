from datetime import datetime, timedelta

from django import template

from predictions.templatetags.figures import NOTHING, count, percent

register = template.Library()
register.filter("percent", percent)
register.filter("number", count)


@register.filter
def duration(value: timedelta | None) -> str:
    """A short age: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if value is None:
        return NOTHING
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if hours == 0:
        return f"{minutes} min"
    if hours < 48:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} d {hours % 24} h"


@register.filter
def milliseconds(seconds: float | None) -> str:
    """0.0123 → "12 ms"; below 10 ms one decimal, where a scoring request often sits: "2.5 ms"."""
    if seconds is None:
        return NOTHING
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


@register.filter
def age(value: datetime | None, now: datetime) -> str:
    """How long before `now` something happened, in `duration`'s words."""
    return NOTHING if value is None else duration(now - value)
