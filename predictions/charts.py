"""Chart data for an explanation: a SHAP waterfall from the base value to the model's output.

Computed on the server so the page needs no script and reads the same without colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from predictions.scoring import sigmoid

SHOWN_FEATURES = 10
# Units that say what a number is rather than what it counts: not shown after the value.
UNITLESS = {"ratio", "score", "hour", "day"}


@dataclass(frozen=True)
class Step:
    label: str
    value: str
    contribution: float
    start: float
    end: float
    x: float  # left edge of the bar, 0-1000 on the chart's axis
    width: float

    @property
    def towards(self) -> str:
        return "fraud" if self.contribution > 0 else "legit"


def _display(value: Any, unit: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"
    return f"{value} {unit}".strip() if unit and unit not in UNITLESS else str(value)


def _label(spec: dict[str, Any]) -> str:
    # "IP risk, 1 = worst" reads badly before "= 0.43": keep the description's first clause.
    return (spec.get("description") or spec["name"]).split(",")[0]


def waterfall(
    *, schema: list[dict[str, Any]], features: dict[str, Any], base_value: float, values: dict[str, float]
) -> dict[str, Any]:
    """Steps sorted by |contribution|, the smallest folded into one 'other features' step."""
    specs = {spec["name"]: spec for spec in schema}
    ordered = sorted(values.items(), key=lambda item: -abs(item[1]))
    shown, rest = ordered[:SHOWN_FEATURES], ordered[SHOWN_FEATURES:]
    rows = [
        (_label(specs[name]), _display(features[name], specs[name].get("unit", "")), c) for name, c in shown
    ]
    if rest:
        rows.append((f"{len(rest)} other features", "", sum(c for _, c in rest)))
    points, total = [base_value], base_value
    for _, _, contribution in rows:
        total += contribution
        points.append(total)
    low, high = min(points), max(points)
    span = (high - low) or 1.0

    def scale(v: float) -> float:
        return round((v - low) / span * 1000, 2)

    steps, start = [], base_value
    for label, value, contribution in rows:
        end = start + contribution
        left, right = sorted((scale(start), scale(end)))
        steps.append(Step(label, value, contribution, start, end, left, max(right - left, 2.0)))
        start = end
    return {
        "steps": steps,
        "base_value": base_value,
        "base_probability": float(sigmoid(base_value)),
        "output": total,
        "output_probability": float(sigmoid(total)),
        "base_x": scale(base_value),
        "output_x": scale(total),
    }
