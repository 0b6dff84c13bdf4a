"""Geometry for the monitoring page's SVG charts, computed here so the page needs no script.

Pure: numbers in, coordinates out, on the frame and primitives of reviewapp/charts.py. The
templates draw rectangles and lines at these places.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reviewapp.charts import Frame, Rect, Slot, Tick, nice_ceiling, tick_text

FRAME = Frame(width=600, height=200, left=48, right=10, top=12, bottom=28)
GAP = 2


@dataclass(frozen=True)
class Column:
    title: str  # the tooltip, and the text a screen reader gets
    rects: list[Rect]


def bar_chart(
    *,
    columns: list[list[tuple[str, float]]],
    titles: list[str],
    x_ticks: list[tuple[float, str]],
    markers: Sequence[tuple[float, str]] = (),
    log: bool = False,
) -> dict[str, Any]:
    """Columns of stacked (css class, value) segments, bottom first, spread over the plot.

    Ticks and markers sit at a fraction (0 = left edge, 1 = right edge) of the plot's width.
    With `log`, heights follow log10(1 + value), so a bin of 3 still shows beside one of 3,000.
    """
    highest = max((sum(v for _, v in column) for column in columns), default=0)
    if log:
        top = 10 ** max(math.ceil(math.log10(highest)), 1) if highest > 0 else 10
        y_values = [10**k for k in range(round(math.log10(top)) + 1)]  # 0 is the baseline
    else:
        top = nice_ceiling(max(highest, 1))  # counts: an empty chart is still 1 tall
        y_values = [0, top / 2, top]
    slot = FRAME.plot_width / max(len(columns), 1)

    def height_fraction(value: float) -> float:
        return math.log10(1 + value) / math.log10(1 + top) if log else value / top

    def y(value: float) -> float:
        return FRAME.y(height_fraction(value))

    drawn = []
    for index, (segments, title) in enumerate(zip(columns, titles, strict=True)):
        rects, base = [], 0.0
        for css, value in segments:
            if value > 0:
                left, upper = FRAME.left + index * slot + GAP / 2, y(base + value)
                rects.append(
                    Rect(round(left, 2), upper, round(slot - GAP, 2), round(y(base) - upper, 2), css)
                )
            base += value
        drawn.append(Column(title, rects))
    return FRAME.chart(
        y_ticks=[Tick(y(value), tick_text(value)) for value in y_values],
        x_ticks=[Tick(FRAME.x(fraction), text) for fraction, text in x_ticks],
        columns=drawn,
        markers=[Tick(FRAME.x(fraction), text) for fraction, text in markers],
    )


def histogram(
    *,
    counts: list[int],
    edges: tuple[float, ...],
    css: str,
    markers: Sequence[tuple[float, str]] = (),
    log: bool = True,
) -> dict[str, Any]:
    """Bins between `edges` on a log scale by default; markers are given in the data's units."""
    low, high = edges[0], edges[-1]

    def fraction(value: float) -> float:
        return (value - low) / (high - low)

    total = sum(counts) or 1
    return bar_chart(
        columns=[[(css, count)] for count in counts],
        titles=[
            f"{a:g} to {b:g}: {count:,} ({count / total:.1%})"
            for a, b, count in zip(edges, edges[1:], counts, strict=False)
        ],
        x_ticks=[(fraction(edge), f"{edge:g}") for edge in edges[::2]],
        markers=[(fraction(value), text) for value, text in markers],
        log=log,
    )


@dataclass(frozen=True)
class DriftBar:
    feature: str
    psi: float
    state: str
    width: float  # percent of the bar's track


def drift_bars(rows: list[tuple[str, float, str]], *, warning: float, alert: float) -> dict[str, Any]:
    """Horizontal PSI bars on one scale, with the warning and alert lines, worst first."""
    top = max([alert * 2, *(psi * 1.1 for _, psi, _ in rows)])

    def percent(value: float) -> float:
        return round(min(value / top, 1.0) * 100, 2)

    return {
        "bars": [
            DriftBar(name, psi, state, percent(psi)) for name, psi, state in sorted(rows, key=lambda r: -r[1])
        ],
        "warning_at": percent(warning),
        "alert_at": percent(alert),
    }


@dataclass(frozen=True)
class Line:
    css: str
    runs: list[str]  # `points` of one polyline per run of consecutive values; a gap ends a run
    dots: list[tuple[float, float]]  # values with no neighbour, which a polyline would not show


def log_line_chart(
    *,
    series: list[tuple[str, list[float | None]]],
    titles: list[str],
    x_ticks: list[tuple[float, str]],
    y_label: Callable[[float], str],
    limits: Sequence[tuple[float, str]] = (),
    bottom: float = 1.0,
) -> dict[str, Any]:
    """Lines over slots on a log10 scale from `bottom` to the decade above the highest value.

    None is a gap in the line. `limits` are horizontal lines (an alert threshold), kept within
    the scale so they are always in sight. Ticks at x are fractions of the plot's width.
    """
    values = [v for _, line in series for v in line if v is not None] + [value for value, _ in limits]
    highest = max([bottom, *values])
    top = 10 ** max(math.ceil(math.log10(highest)), round(math.log10(bottom)) + 1)
    span = math.log10(top) - math.log10(bottom)
    slots = max((len(line) for _, line in series), default=0)
    slot = FRAME.plot_width / max(slots, 1)

    def y(value: float) -> float:
        return FRAME.y((math.log10(max(value, bottom)) - math.log10(bottom)) / span)

    def x(index: int) -> float:
        return round(FRAME.left + slot * (index + 0.5), 2)

    lines = []
    for css, line in series:
        runs, dots, run = [], [], []
        for index, value in enumerate([*line, None]):
            if value is not None:
                run.append((x(index), y(value)))
                continue
            if len(run) == 1:
                dots.append(run[0])
            elif run:
                runs.append(" ".join(f"{px},{py}" for px, py in run))
            run = []
        lines.append(Line(css, runs, dots))
    decades = range(round(math.log10(bottom)), round(math.log10(top)) + 1)
    return FRAME.chart(
        y_ticks=[Tick(y(10.0**power), y_label(10.0**power)) for power in decades],
        x_ticks=[Tick(FRAME.x(fraction), text) for fraction, text in x_ticks],
        lines=lines,
        # The tooltip over the whole height of a slot gives all series at once.
        slots=[
            Slot(round(FRAME.left + index * slot, 2), round(slot, 2), title)
            for index, title in enumerate(titles)
        ],
        limits=[Tick(y(value), text) for value, text in limits],
    )
