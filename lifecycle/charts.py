"""The comparison page's chart: both models' score distributions, bin by bin (the PSI's bins).

Pure: numbers in, coordinates out, drawn by templates/outcomes/partials/coverage_chart.html's
way of drawing slots (reviewapp/charts.py).
"""

from __future__ import annotations

from typing import Any

from lifecycle.comparison import Psi
from reviewapp.charts import Frame, Rect, Slot, Tick, nice_ceiling

FRAME = Frame(width=640, height=220, left=44, right=12, top=12, bottom=28)


def score_distribution(psi: Psi) -> dict[str, Any] | None:
    """Two bars per score bin: the active model's share (css "auto") and the challenger's
    ("score"); None when there is nothing to draw."""
    if not psi.active_shares:
        return None
    top = nice_ceiling(max(*psi.active_shares, *psi.challenger_shares))
    slot = FRAME.plot_width / len(psi.active_shares)
    slots, x_ticks = [], []
    for index, (a, c) in enumerate(zip(psi.active_shares, psi.challenger_shares, strict=True)):
        left = FRAME.left + index * slot
        bar = max(slot / 2 - 2, 1)
        rects = [
            Rect(
                round(left + 1 + offset, 2),
                FRAME.y(value / top),
                round(bar, 2),
                round(FRAME.y(0) - FRAME.y(value / top), 2),
                css,
            )
            for offset, value, css in ((0, a, "auto"), (bar + 1, c, "score"))
            if value > 0
        ]
        low, high = psi.edges[index], psi.edges[index + 1]
        title = f"scores {low:.1f} to {high:.1f}: active {a:.1%}, challenger {c:.1%}"
        slots.append(Slot(round(left, 2), round(slot, 2), title, rects))
        x_ticks.append(Tick(round(left + slot / 2, 2), f"{low:.1f}"))
    y_ticks = [Tick(FRAME.y(fraction), f"{top * fraction:.0%}") for fraction in (0, 0.5, 1)]
    return FRAME.chart(y_ticks=y_ticks, x_ticks=x_ticks, slots=slots)
