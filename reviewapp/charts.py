"""What the pages' SVG charts share: the frame around a plot, round axis tops, tick labels.

Pure: numbers in, coordinates out, so no page needs a script to draw a chart. Each page lays
out its own charts (monitoring/charts.py, outcomes/charts.py) on a Frame of its size;
templates/partials/chart_axes.html draws the frame (title, y grid, baseline, x labels) and the
page's partials the marks inside it, with the chart classes the stylesheet already has (.chart,
.grid, .tick, .series, …).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

NICE_STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)


@dataclass(frozen=True)
class Tick:
    at: float  # x or y in the SVG's coordinates
    text: str


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str


@dataclass(frozen=True)
class Slot:
    """A column's hover area over the plot's height and its tooltip, which also gives a screen
    reader the figures; with the rectangles drawn in it, if any."""

    x: float
    width: float
    title: str
    rects: list[Rect] = field(default_factory=list)


def nice_ceiling(value: float) -> float:
    """The smallest round number at or above `value`: a readable axis top (1 for nothing).

    Fractions keep their scale (0.037 gives 0.04); an axis of counts asks for at least 1.
    """
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in NICE_STEPS if step * power >= value))


def tick_text(value: float, *, short: bool = False, digits: int = 6) -> str:
    """An axis label: whole numbers and anything from 10 up with thousands separators
    ("2,500"), smaller fractions to `digits` significant digits; `short` writes 10,000 and up
    as "12k" and "1.5M", where labels must stay narrow."""
    if short and abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if short and abs(value) >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.{digits}g}"


@dataclass(frozen=True)
class Frame:
    """A chart's size and the margins around its plot, in the SVG's coordinates."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    def x(self, fraction: float) -> float:
        """The x of a fraction of the plot's width: 0 its left edge, 1 its right edge."""
        return round(self.left + self.plot_width * fraction, 2)

    def y(self, fraction: float) -> float:
        """The y of a fraction of the plot's height: 0 the baseline, 1 the top."""
        return round(self.top + self.plot_height * (1 - fraction), 2)

    def chart(self, *, y_ticks: list[Tick], x_ticks: list[Tick], **marks: Any) -> dict[str, Any]:
        """A chart's template context: what chart_axes.html draws, and the chart's own marks."""
        return {
            "width": self.width,
            "height": self.height,
            "y_ticks": y_ticks,
            "x_ticks": x_ticks,
            "plot": {
                "left": self.left,
                "right": self.left + self.plot_width,
                "top": self.top,
                "bottom": self.top + self.plot_height,
                "height": self.plot_height,
            },
            "label_y": self.height - 8,
            **marks,
        }
