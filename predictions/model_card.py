"""A model card in Markdown, rendered from what the registry holds about one model version.

Everything here comes from the ModelVersion row (schema, metrics, training info, library
versions, checksum), so the card describes exactly the artifact that scores, not a document
written beside it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from predictions.models import ModelVersion

METRICS = [
    ("roc_auc", "ROC AUC", "Ranking quality: 0.5 is chance, 1 is perfect"),
    ("pr_auc", "PR AUC (average precision)", "Ranking quality on the rare class; chance is the fraud rate"),
    ("brier", "Brier score", "Calibration and sharpness of the probabilities; lower is better"),
    ("precision_at_0.5", "Precision at 0.5", "Of transactions labelled fraud, the share that were"),
    ("recall_at_0.5", "Recall at 0.5", "Of fraudulent transactions, the share labelled fraud"),
    ("review_share", "Share sent to review", "Holdout rows whose confidence is below the review threshold"),
]


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _allowed(spec: dict[str, Any]) -> str:
    if spec["type"] == "category":
        return ", ".join(spec.get("choices", []))
    if spec["type"] == "bool":
        return "true, false"
    low, high = spec.get("min"), spec.get("max")
    return f"{low if low is not None else 'any'} to {high if high is not None else 'any'}"


def _data_section(version: ModelVersion) -> list[str]:
    info, metrics = version.training_info, version.metrics
    if info.get("source") == "outcomes":
        return _retrained_data_section(info, metrics)
    source = info.get("source", "not recorded")
    if source == "demo generator":
        source = "synthetic card transactions from the demo generator"
    lines = [f"- Source: {source}"]
    if "rows" in info:
        lines.append(f"- Rows: {info['rows']:,}" + (f", seed {info['seed']}" if "seed" in info else ""))
    if info.get("target"):
        lines.append(
            f"- Label column: `{info['target']}`"
            + (f", ordered by `{info['time_column']}`" if info.get("time_column") else "")
        )
    if isinstance(metrics.get("holdout_rows"), int):
        rate = metrics.get("holdout_fraud_rate") or 0
        lines.append(
            "- Split by time: trained on the oldest 80 % of rows, measured on the newest 20 % "
            f"({metrics['holdout_rows']:,} rows, fraud rate {rate:.2%}), so the holdout is traffic "
            "the model never saw, from later than anything it learned from."
        )
    lines.append(
        "- Training distributions of every feature and of the score are stored with the version; "
        "drift monitoring compares live traffic with them (population stability index)."
    )
    return lines


def _when(value: str | None) -> str:
    return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M %Z}" if value else "not recorded"


def _retrained_data_section(info: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    # Written by lifecycle/retraining.py (`train_model --from-outcomes`); docs/lifecycle.md.
    labelled_by = "their outcomes and analysts' reviews" if info.get("include_reviews") else "their outcomes"
    lines = [
        f"- Source: predictions stored by this service, labelled by {labelled_by} "
        "(`train_model --from-outcomes`); automatic decisions are never labels",
        f"- Window asked: {_when(info.get('since'))} to {_when(info.get('until'))}; labelled predictions "
        f"made from {_when(info.get('first_prediction_at'))} to {_when(info.get('last_prediction_at'))}",
        f"- Trained while v{info.get('active_version')} was active, on its features",
        f"- Split by time at {_when(info.get('split_at'))}: trained on the {info.get('training_rows', 0):,} "
        f"labelled predictions made before (standing for {info.get('training_weighted_rows', 0):,} "
        f"once weighted), measured on the {info.get('holdout_rows', 0):,} made from then on",
        f"- Left out: {info.get('excluded_late_labels', 0):,} training predictions whose label arrived after "
        "the split time (a model trained then could not have known it)"
        + (
            f"; {info['excluded_other_features']:,} scored with other features"
            if info.get("excluded_other_features")
            else ""
        ),
        "- Weights: audit samples weigh 1 / their inclusion probability where their review is the "
        "label, so the labels stand for the traffic and not only for its uncertain band; the "
        "holdout metrics are weighted alike"
        + (f" ({metrics['holdout_weighted_rows']:,} rows)" if "holdout_weighted_rows" in metrics else ""),
        "- Training distributions of every feature and of the score are stored with the version, "
        "taken from the traffic of the training period; drift monitoring compares live traffic with them.",
    ]
    return lines


def _labels_section(info: dict[str, Any]) -> list[str]:
    if info.get("source") != "outcomes":
        return []
    training, holdout = info.get("training_labels", {}), info.get("holdout_labels", {})
    rows = [
        [
            source.capitalize(),
            label,
            training.get(source, {}).get(label, 0),
            holdout.get(source, {}).get(label, 0),
        ]
        for source in ("outcome", "review")
        for label in ("fraud", "legit")
    ]
    return ["## Labels", "", *_table(["Source", "Label", "Training rows", "Holdout rows"], rows), ""]


def render(version: ModelVersion) -> str:
    """The model card of `version` as Markdown."""
    metrics = version.metrics
    status = version.get_status_display()
    activated = (
        f"{version.activated_at:%Y-%m-%d %H:%M %Z} by {version.activated_by or 'unknown'}"
        if version.activated_at
        else "never"
    )
    lines = [
        f"# Model card: {version.name} v{version.version}",
        "",
        f"- Status: **{status}**; registered {version.created_at:%Y-%m-%d %H:%M %Z}"
        + (f" by {version.created_by}" if version.created_by else "")
        + f"; last activated {activated}",
        f"- Artifact: `{version.artifact_path}`, sha256 `{version.sha256}` (verified before every load)",
        "",
        "## Intended use",
        "",
        "Scores one card transaction at a time (or a batch) with the probability that it is fraud, "
        "and explains each score with SHAP contributions. Confident predictions are decided "
        "automatically; uncertain ones go to a human analyst, whose decision is final and recorded.",
        "",
        "Not intended for: decisions about people (credit, employment, insurance), transactions "
        "from populations or products absent from the training data, or fully automatic blocking "
        "without the review queue.",
        "",
        "## Data",
        "",
        *_data_section(version),
        "",
        *_labels_section(version.training_info),
        "## Features",
        "",
        *_table(
            ["Name", "Type", "Allowed values", "Unit", "Description"],
            [
                [f"`{s['name']}`", s["type"], _allowed(s), s.get("unit", ""), s.get("description", "")]
                for s in version.feature_schema
            ],
        ),
        "",
        "## Metrics on the holdout",
        "",
        *_table(
            ["Metric", "Value", "Meaning"],
            [
                [label, metrics[key], meaning]
                for key, label, meaning in METRICS
                if metrics.get(key) is not None
            ],
        ),
        "",
        "## Threshold",
        "",
        "- Label: fraud when the score is at least 0.5.",
        f"- Review: a prediction whose confidence, max(p, 1 - p), is below **{version.review_threshold}** "
        "goes to the review queue"
        + (
            f"; on the holdout that is {metrics['review_share']:.1%} of transactions."
            if metrics.get("review_share") is not None
            else "."
        ),
        "- Operators can send every prediction to review with the kill switch (docs/operations.md).",
        "",
        "## Limitations",
        "",
        "- Scores are only as good as the resemblance of live traffic to the training data: watch "
        "the drift report (PSI ≥ 0.1 warning, ≥ 0.25 alert) and retrain when features drift.",
        "- Fraud is rare, so precision and recall rest on few positive examples; PR AUC is the "
        "figure to compare versions by, with its uncertainty in mind.",
        "- Fraud patterns change as fraudsters adapt; a model measured on older data overstates "
        "its quality on today's traffic. Analysts' overrides are the earliest sign.",
        "- Explanations describe the model, not the world: a feature that pushes a score up is "
        "what the model relies on, not proof of why a transaction is fraudulent.",
        "- Features outside the schema's ranges are refused, not extrapolated.",
        "",
        "## Library versions",
        "",
        *_table(["Library", "Version"], [[name, v] for name, v in sorted(version.library_versions.items())]),
        "",
    ]
    return "\n".join(lines)


# --- as HTML, for the model card page -------------------------------------------------------
# The card's Markdown is this module's own and uses little of it: headings, bullets, tables,
# paragraphs, `code` and **bold**. Converting that much here keeps one source for the card
# (the page shows exactly what the command prints) without a Markdown library.

_INLINE = (
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
)
_CELL_BREAK = re.compile(r"(?<!\\)\|")


def _inline(text: str) -> str:
    html = str(escape(text))
    for pattern, replacement in _INLINE:
        html = pattern.sub(replacement, html)
    return html


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in _CELL_BREAK.split(line.strip())[1:-1]]


def render_html(version: ModelVersion) -> SafeString:
    """The model card of `version` as HTML, every value escaped; the page's `<h1>` is its own."""
    out: list[str] = []
    table: list[list[str]] = []
    bullets: list[str] = []

    def flush() -> None:
        if bullets:
            out.append("<ul>" + "".join(f"<li>{_inline(b)}</li>" for b in bullets) + "</ul>")
            bullets.clear()
        if table:
            head, *body = table
            out.append(
                '<table class="data"><thead><tr>'
                + "".join(f'<th scope="col">{_inline(cell)}</th>' for cell in head)
                + "</tr></thead><tbody>"
                + "".join(
                    "<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>" for row in body
                )
                + "</tbody></table>"
            )
            table.clear()

    for line in render(version).splitlines():
        if line.startswith("# "):
            continue
        if line.startswith("|"):
            if bullets:
                flush()
            if not line.startswith("|---"):
                table.append(_cells(line))
            continue
        if line.startswith("- "):
            if table:
                flush()
            bullets.append(line[2:])
            continue
        flush()
        if line.startswith("## "):
            out.append(f"<h2>{_inline(line[3:])}</h2>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    flush()
    return mark_safe("\n".join(out))  # noqa: S308  every piece of text went through escape()
