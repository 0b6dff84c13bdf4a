"""Figures of the quality pages as people read them; None (nothing to divide) is an en dash.

Shares and counts are written as on every page (predictions/templatetags/figures.py); the
rest are the scorecard's own.
"""

from __future__ import annotations

from typing import Any

from django import template

from predictions.templatetags.figures import NOTHING, count, percent

register = template.Library()
register.filter("share", percent)
register.filter("count", count)


@register.filter
def fixed(value: float | None, digits: int = 3) -> str:
    return NOTHING if value is None else f"{value:.{digits}f}"


@register.filter
def interval(estimate: dict[str, Any] | None) -> str:
    """{"ci_low": 0.41, "ci_high": 0.48} → "41.0% to 48.2%"."""
    if not estimate or estimate.get("ci_low") is None or estimate.get("ci_high") is None:
        return NOTHING
    return f"{estimate['ci_low']:.1%} to {estimate['ci_high']:.1%}"


@register.filter
def days(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.1f} d"


@register.filter
def seconds(value: float | None) -> str:
    """109.4 → "109 s"; 4,000 → "67 min"."""
    if value is None:
        return NOTHING
    return f"{value:.0f} s" if value < 600 else f"{value / 60:.0f} min"
