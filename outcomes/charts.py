"""Geometry for the quality pages' SVG charts, computed here so the pages need no script.

Pure: numbers in, coordinates out; the templates draw rectangles, lines and dots at these
places with the chart classes the stylesheet already has (.chart, .grid, .tick, .series, …).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 30
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
NICE_STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)


@dataclass(frozen=True)
class Tick:
    at: float  # x or y in the SVG's coordinates
    text: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str


@dataclass(frozen=True)
class Slot:
    """A column's hover area and its tooltip, which also gives a screen reader the figures."""

    x: float
    width: float
    title: str
    bars: list[Bar]


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


def nice_ceiling(value: float) -> float:
    """The smallest round number at or above `value`: a readable axis top (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in NICE_STEPS if step * power >= value))


def _number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


def _frame(y_ticks: list[Tick], x_ticks: list[Tick]) -> dict[str, Any]:
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "plot": {
            "left": LEFT,
            "right": LEFT + PLOT_WIDTH,
            "top": TOP,
            "bottom": TOP + PLOT_HEIGHT,
            "height": PLOT_HEIGHT,
        },
        "label_y": HEIGHT - 8,
    }


def coverage_chart(weeks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Predictions per week, the labelled ones drawn over them from the base: the unfilled part
    of each column is what has no outcome yet."""
    top = nice_ceiling(max((week["predictions"] for week in weeks), default=0))
    slot = PLOT_WIDTH / max(len(weeks), 1)

    def y(value: float) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - value / top), 2)

    slots, x_ticks = [], []
    every = max(1, math.ceil(len(weeks) / 12))  # at most a dozen labels under the axis
    for index, week in enumerate(weeks):
        left = LEFT + index * slot
        bars = []
        for css, value in (("auto", week["predictions"]), ("score", week["labelled"])):
            if value > 0:
                bars.append(
                    Bar(
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
        slots.append(Slot(round(left, 2), round(slot, 2), title, bars))
        if index % every == 0:
            x_ticks.append(Tick(round(left + slot / 2, 2), week["week"].split("-")[1]))
    y_ticks = [Tick(y(value), _number(value)) for value in (0, top / 2, top)]
    return {**_frame(y_ticks, x_ticks), "slots": slots}


def reliability_chart(bins: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Observed fraud rate against mean score per bin, on the diagonal when calibrated."""

    def x(value: float) -> float:
        return round(LEFT + PLOT_WIDTH * value, 2)

    def y(value: float) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - value), 2)

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
    return {
        **_frame([Tick(y(v), f"{v:g}") for v in steps], [Tick(x(v), f"{v:g}") for v in steps]),
        "dots": dots,
        "line": " ".join(f"{dot.x},{dot.y}" for dot in dots),
        "diagonal": {"x1": x(0), "y1": y(0), "x2": x(1), "y2": y(1)},
    }


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
        return round(LEFT + PLOT_WIDTH * (threshold - low) / (high - low), 2)

    def y(value: float) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - min(value, top) / top), 2)

    points = [(t, v) for t, v in zip(thresholds, values, strict=True) if v is not None]
    half = PLOT_WIDTH / max(len(thresholds) - 1, 1) / 2
    slots = [
        Slot(round(x(t) - half, 2), round(2 * half, 2), f"threshold {t:.2f}: {label} {_number(v)}", [])
        for t, v in points
    ]
    return {
        **_frame(
            [Tick(y(v), _number(v)) for v in (0, top / 2, top)],
            [Tick(x(t), f"{t:.2f}") for t in thresholds if round(t * 100) % 5 == 0],
        ),
        "line": " ".join(f"{x(t)},{y(v)}" for t, v in points),
        "slots": slots,
        "markers": [Tick(x(t), text) for t, text in markers if low <= t <= high],
        "limit": None if limit is None else Tick(y(limit[0]), limit[1]),
    }
