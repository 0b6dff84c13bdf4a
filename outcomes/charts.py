"""Geometry for the quality pages' SVG charts, computed here so the pages need no script.

Pure: numbers in, coordinates out, on the frame and primitives of reviewapp/charts.py; the
templates draw rectangles, lines and dots at these places.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reviewapp.charts import Frame, Rect, Slot, Tick, nice_ceiling, tick_text

FRAME = Frame(width=600, height=220, left=56, right=12, top=14, bottom=30)


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


def _number(value: float) -> str:
    return tick_text(value, short=True, digits=2)


def coverage_chart(weeks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Predictions per week, the labelled ones drawn over them from the base: the unfilled part
    of each column is what has no outcome yet."""
    top = nice_ceiling(max((week["predictions"] for week in weeks), default=0))
    slot = FRAME.plot_width / max(len(weeks), 1)

    def y(value: float) -> float:
        return FRAME.y(value / top)

    slots, x_ticks = [], []
    every = max(1, math.ceil(len(weeks) / 12))  # at most a dozen labels under the axis
    for index, week in enumerate(weeks):
        left = FRAME.left + index * slot
        rects = []
        for css, value in (("auto", week["predictions"]), ("score", week["labelled"])):
            if value > 0:
                rects.append(
                    Rect(
                        round(left + 1, 2),
                        y(value),
                        round(max(slot - 2, 1), 2),
                        round(y(0) - y(value), 2),
                        css,
                    )
                )
        coverage = (
            "no predictions" if week["label_coverage"] is None else f"{week['label_coverage']:.1%} labelled"
        )
        title = (
            f"{week['week']} (from {week['start']}): {week['predictions']:,} predictions, "
            f"{week['labelled']:,} with an outcome, {coverage}"
        )
        slots.append(Slot(round(left, 2), round(slot, 2), title, rects))
        if index % every == 0:
            x_ticks.append(Tick(round(left + slot / 2, 2), week["week"].split("-")[1]))
    y_ticks = [Tick(y(value), _number(value)) for value in (0, top / 2, top)]
    return FRAME.chart(y_ticks=y_ticks, x_ticks=x_ticks, slots=slots)


def reliability_chart(bins: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Observed fraud rate against mean score per bin, on the diagonal when calibrated."""
    x, y = FRAME.x, FRAME.y  # both axes run from 0 to 1
    dots = [
        Dot(
            x(b["mean_score"]),
            y(b["fraud_rate"]),
            f"scores {b['lower']:.1f}-{b['upper']:.1f}: {b['count']:,} predictions, mean score "
            f"{b['mean_score']:.3f}, fraud rate {b['fraud_rate']:.3f}",
        )
        for b in bins
        if b["count"]
    ]
    steps = (0.0, 0.25, 0.5, 0.75, 1.0)
    return FRAME.chart(
        y_ticks=[Tick(y(v), f"{v:g}") for v in steps],
        x_ticks=[Tick(x(v), f"{v:g}") for v in steps],
        dots=dots,
        line=" ".join(f"{dot.x},{dot.y}" for dot in dots),
        diagonal={"x1": x(0), "y1": y(0), "x2": x(1), "y2": y(1)},
    )


def threshold_chart(
    *,
    thresholds: Sequence[float],
    values: Sequence[float | None],
    label: str,
    markers: Sequence[tuple[float, str]] = (),
    limit: tuple[float, str] | None = None,
) -> dict[str, Any]:
    """One figure per threshold as a line, with vertical markers (the recommended and the
    current threshold) and a horizontal limit (the team's hours)."""
    known = [v for v in values if v is not None]
    top = nice_ceiling(max([*known, *([limit[0]] if limit else [])], default=0) * 1.05)
    low, high = thresholds[0], thresholds[-1]

    def x(threshold: float) -> float:
        return FRAME.x((threshold - low) / (high - low))

    def y(value: float) -> float:
        return FRAME.y(min(value, top) / top)

    points = [(t, v) for t, v in zip(thresholds, values, strict=True) if v is not None]
    half = FRAME.plot_width / max(len(thresholds) - 1, 1) / 2
    slots = [
        Slot(round(x(t) - half, 2), round(2 * half, 2), f"threshold {t:.2f}: {label} {_number(v)}", [])
        for t, v in points
    ]
    return FRAME.chart(
        y_ticks=[Tick(y(v), _number(v)) for v in (0, top / 2, top)],
        x_ticks=[Tick(x(t), f"{t:.2f}") for t in thresholds if round(t * 100) % 5 == 0],
        line=" ".join(f"{x(t)},{y(v)}" for t, v in points),
        slots=slots,
        markers=[Tick(x(t), text) for t, text in markers if low <= t <= high],
        limit=None if limit is None else Tick(y(limit[0]), limit[1]),
    )
