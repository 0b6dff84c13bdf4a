"""Figures as the pages write them: a share, a count, an en dash where there is nothing to show.

In the lowest app with templates so that every page may use them: the monitoring and quality
pages' libraries register these same filters under their own names (percent and number,
share and count).
"""

from __future__ import annotations

from django import template

register = template.Library()
NOTHING = "\u2013"  # an en dash: no value to show


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """0.0712 → "7.1%"; None (nothing to divide) → an en dash."""
    return NOTHING if value is None else f"{value:.{digits}%}"


@register.filter
def count(value: float | None) -> str:
    """12345 → "12,345"; an estimate (a float) rounded to a whole number."""
    return NOTHING if value is None else f"{value:,.0f}"
