"""The promotion gate: may this version become the active one, on the evidence of its shadowing?

Called by the activation service (and shown on the comparison page) before anything changes;
it only reads. Its rules, in order (docs/lifecycle.md, "Promotion gate"):

1. no version is active: allowed ("first");
2. the candidate is the active one: allowed ("already_active"), nothing would change;
3. the candidate was active before (`activated_at` set): allowed ("rollback"), always;
4. it never shadowed: refused ("never_shadowed"), shadow it first or force;
5. it shadowed ("shadowed"): on the labelled predictions answered by the active model and
   scored by the candidate, refused when there are none, or with one reason per metric on
   which the candidate is worse than the active model by more than the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from lifecycle import selectors
from lifecycle.comparison import ModelFigures
from predictions.models import ModelVersion

FIRST, ALREADY_ACTIVE, ROLLBACK, NEVER_SHADOWED, SHADOWED = (
    "first",
    "already_active",
    "rollback",
    "never_shadowed",
    "shadowed",
)
# (metric, higher is better, its name in a reason)
_CHECKS: tuple[tuple[str, bool, str], ...] = (
    ("roc_auc", True, "ROC AUC"),
    ("brier", False, "Brier score"),
    ("recall", True, "recall"),
    ("false_positive_rate", False, "false-positive rate"),
)


@dataclass(frozen=True)
class GateResult:
    allowed: bool
    reasons: list[str]
    kind: str  # "first" | "rollback" | "shadowed" | "never_shadowed" | "already_active"
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "kind": self.kind,
            "evidence": self.evidence,
        }


def promotion_gate_check(
    *, candidate: ModelVersion, active: ModelVersion | None, tolerance: float | None = None
) -> GateResult:
    """Whether `candidate` may replace `active`, with the reasons and the figures compared."""
    tol = settings.PROMOTION_TOLERANCE if tolerance is None else tolerance
    if active is None:
        return GateResult(True, ["no version is active: this is the first"], FIRST)
    if candidate.pk == active.pk:
        return GateResult(True, [f"v{candidate.version} is already active"], ALREADY_ACTIVE)
    if candidate.activated_at is not None:
        return GateResult(
            True, [f"v{candidate.version} was active before: rolling back is always allowed"], ROLLBACK
        )
    if not selectors.model_version_has_shadowed(version=candidate):
        return GateResult(
            False,
            [
                f"v{candidate.version} never shadowed live traffic: shadow it first "
                "(shadow_model), or force the activation with a reason"
            ],
            NEVER_SHADOWED,
        )
    found = selectors.model_version_comparison(version=candidate.version, active_version=active)
    labelled = found.labelled
    evidence: dict[str, Any] = {
        "tolerance": tol,
        "active_version": active.version,
        "candidate_version": candidate.version,
        "shadowed_predictions": found.n,
        "labelled": labelled.as_dict(),
    }
    if labelled.active is None or labelled.challenger is None:
        reason = (
            f"no labelled predictions yet: v{candidate.version} has scored {found.n} predictions "
            f"of v{active.version}, none with an outcome"
        )
        return GateResult(False, [reason], SHADOWED, evidence)
    reasons, evidence["not_compared"] = _worse_by_more_than(
        labelled.challenger, labelled.active, tol, candidate, active
    )
    if reasons:
        return GateResult(False, reasons, SHADOWED, evidence)
    return GateResult(
        True,
        [
            f"on {labelled.n} labelled predictions v{candidate.version} is no worse than "
            f"v{active.version} beyond the tolerance {tol:g}"
        ],
        SHADOWED,
        evidence,
    )


def _worse_by_more_than(
    candidate: ModelFigures, active: ModelFigures, tol: float, c: ModelVersion, a: ModelVersion
) -> tuple[list[str], dict[str, str]]:
    """One reason per metric worse beyond the tolerance; and the metrics that could not be
    compared, with why (one class only, say): no evidence either way, the others decide."""
    reasons: list[str] = []
    not_compared: dict[str, str] = {}
    for metric, higher_is_better, name in _CHECKS:
        new, old = candidate.measure(metric).value, active.measure(metric).value
        if new is None or old is None:
            why = candidate.measure(metric).reason or active.measure(metric).reason
            not_compared[metric] = why or "not computed"
            continue
        worse = new < old - tol if higher_is_better else new > old + tol
        if worse:
            direction = "lower" if higher_is_better else "higher"
            reasons.append(
                f"{name} {new:.4f} (v{c.version}) is {direction} than {old:.4f} (v{a.version}) "
                f"by more than the tolerance {tol:g}"
            )
    return reasons, not_compared
