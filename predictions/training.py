"""Demo data generation and model training. Pure: no ORM, used by `train_model` (and, through
`fit`, by lifecycle/retraining.py on stored predictions)."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from predictions import treeshap
from predictions.scoring import encode_rows

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

MERCHANT_CATEGORIES = [
    "grocery",
    "restaurant",
    "fuel",
    "retail",
    "travel",
    "electronics",
    "digital_goods",
    "gambling",
    "money_transfer",
]
RISKY_MERCHANTS = {"electronics", "digital_goods", "gambling", "money_transfer"}
CHANNELS = ["pos", "web", "mobile_app", "phone"]
REFERENCE_BINS = 10

# fmt: off
DEMO_SCHEMA: list[dict[str, Any]] = [
    {"name": "amount", "type": "float", "min": 0.01, "max": 50000, "unit": "USD",
     "description": "Transaction amount"},
    {"name": "merchant_category", "type": "category", "choices": MERCHANT_CATEGORIES,
     "description": "Merchant category"},
    {"name": "channel", "type": "category", "choices": CHANNELS,
     "description": "Where the card was used"},
    {"name": "hour_of_day", "type": "int", "min": 0, "max": 23, "unit": "hour",
     "description": "Local hour of the transaction"},
    {"name": "day_of_week", "type": "int", "min": 0, "max": 6, "unit": "day",
     "description": "Day of week, Monday = 0"},
    {"name": "card_present", "type": "bool", "description": "Card physically present"},
    {"name": "is_international", "type": "bool",
     "description": "Merchant country differs from the card's"},
    {"name": "account_age_days", "type": "int", "min": 0, "max": 36500, "unit": "days",
     "description": "Age of the cardholder's account"},
    {"name": "txn_count_1h", "type": "int", "min": 0, "max": 1000, "unit": "transactions",
     "description": "Card transactions in the last hour"},
    {"name": "txn_count_24h", "type": "int", "min": 0, "max": 5000, "unit": "transactions",
     "description": "Card transactions in the last 24 hours"},
    {"name": "amount_to_avg_30d", "type": "float", "min": 0, "max": 1000, "unit": "ratio",
     "description": "Amount divided by the card's 30-day average amount"},
    {"name": "distance_from_home_km", "type": "float", "min": 0, "max": 20100, "unit": "km",
     "description": "Distance between the merchant and the cardholder's home"},
    {"name": "new_device", "type": "bool",
     "description": "First time this device is seen for the account"},
    {"name": "failed_logins_24h", "type": "int", "min": 0, "max": 1000, "unit": "attempts",
     "description": "Failed logins on the account in the last 24 hours"},
    {"name": "ip_risk_score", "type": "float", "min": 0, "max": 1, "unit": "score",
     "description": "Third-party IP reputation risk, 1 = worst"},
    {"name": "email_age_days", "type": "int", "min": 0, "max": 20000, "unit": "days",
     "description": "Age of the customer's e-mail address"},
    {"name": "billing_shipping_match", "type": "bool",
     "description": "Billing and shipping addresses match"},
    {"name": "chargebacks_12m", "type": "int", "min": 0, "max": 100, "unit": "chargebacks",
     "description": "Chargebacks on the card in the last 12 months"},
]
# fmt: on


def generate_transactions(*, rows: int, seed: int, fraud_rate: float = 0.027) -> pd.DataFrame:
    """Synthetic card traffic, time-ordered, with an `is_fraud` label and a `timestamp`.

    Fraud follows three patterns (account takeover, card testing, stolen card used abroad);
    a share of genuine customers looks risky (travellers, new phones, big purchases) and a
    share of fraud looks ordinary, so a good model is honestly unsure about some traffic.
    """
    rng = np.random.default_rng(seed)
    is_fraud = rng.random(rows) < fraud_rate
    # Genuine customers who look risky and fraud that looks genuine: the uncertain middle.
    # Risky-looking customers follow the same patterns as fraud, so only weak tells
    # (IP reputation, chargebacks) separate them.
    risky_legit = ~is_fraud & (rng.random(rows) < 0.06)
    quiet_fraud = is_fraud & (rng.random(rows) < 0.15)
    pattern = np.where((is_fraud & ~quiet_fraud) | risky_legit, rng.integers(1, 4, rows), 0)
    takeover, testing, abroad = pattern == 1, pattern == 2, pattern == 3
    suspicious = pattern > 0
    fraud_tell = is_fraud & ~quiet_fraud

    def pick(mask: np.ndarray, when_true: ArrayLike, when_false: ArrayLike) -> np.ndarray:
        return np.where(mask, when_true, when_false)

    timestamps = np.sort(rng.uniform(0, 90 * 86400, rows))
    hours = ((timestamps % 86400) / 3600).astype(int)
    night = rng.integers(0, 6, rows)
    hours = pick(suspicious & (rng.random(rows) < 0.45), night, hours)
    avg_amount = rng.lognormal(3.8, 0.7, rows)
    ratio = rng.lognormal(0.0, 0.45, rows)
    ratio = pick(suspicious & (rng.random(rows) < 0.55), rng.lognormal(1.4, 0.7, rows), ratio)
    ratio = pick(testing, rng.uniform(0.02, 0.2, rows), ratio)
    amount = np.clip(avg_amount * ratio, 0.5, 25000).round(2)
    merchant = rng.choice(MERCHANT_CATEGORIES, rows, p=[0.25, 0.17, 0.1, 0.18, 0.06, 0.08, 0.08, 0.04, 0.04])
    risky_merchant = rng.choice(sorted(RISKY_MERCHANTS), rows)
    merchant = pick(suspicious & (rng.random(rows) < 0.5), risky_merchant, merchant)
    channel = rng.choice(CHANNELS, rows, p=[0.55, 0.25, 0.17, 0.03])
    channel = pick(suspicious & (rng.random(rows) < 0.6), rng.choice(["web", "mobile_app"], rows), channel)
    card_present = (channel == "pos") & ~suspicious
    international = rng.random(rows) < pick(abroad, 0.8, 0.04)
    distance = rng.exponential(pick(international, 2500.0, 12.0), rows)
    distance = np.clip(pick(abroad, distance + rng.uniform(300, 8000, rows), distance), 0, 20000)
    account_age = rng.integers(0, 7000, rows)
    account_age = pick(suspicious & (rng.random(rows) < 0.4), rng.integers(0, 60, rows), account_age)
    new_device = rng.random(rows) < pick(takeover, 0.8, 0.04)
    failed = rng.poisson(pick(takeover, 2.5, 0.05))
    count_1h = rng.poisson(pick(testing, 6.0, 0.4))
    count_24h = count_1h + rng.poisson(pick(testing, 18.0, 3.0))
    ip_risk = rng.beta(pick(fraud_tell, 3.0, pick(suspicious, 2.2, 1.2)), pick(suspicious, 3.0, 9.0)).round(4)
    email_age = rng.integers(0, 6000, rows)
    email_age = pick(suspicious & (rng.random(rows) < 0.45), rng.integers(0, 30, rows), email_age)
    address_match = rng.random(rows) < pick(suspicious & ~card_present, 0.55, 0.95)
    chargebacks = rng.poisson(pick(fraud_tell, 0.35, pick(suspicious, 0.15, 0.03)))
    return pd.DataFrame(
        {
            "timestamp": timestamps,
            "amount": amount,
            "merchant_category": merchant,
            "channel": channel,
            "hour_of_day": hours,
            "day_of_week": ((timestamps // 86400) % 7).astype(int),
            "card_present": card_present,
            "is_international": international,
            "account_age_days": account_age,
            "txn_count_1h": count_1h,
            "txn_count_24h": count_24h,
            "amount_to_avg_30d": (amount / avg_amount).round(4),
            "distance_from_home_km": distance.round(2),
            "new_device": new_device,
            "failed_logins_24h": failed,
            "ip_risk_score": ip_risk,
            "email_age_days": email_age,
            "billing_shipping_match": address_match,
            "chargebacks_12m": chargebacks,
            "is_fraud": is_fraud,
        }
    )


def frame_to_records(frame: pd.DataFrame, schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON-ready feature dicts (numpy scalars become Python values)."""
    columns = [spec["name"] for spec in schema]
    return [
        {name: _python_value(spec, value) for name, spec, value in zip(columns, schema, row, strict=True)}
        for row in frame[columns].itertuples(index=False, name=None)
    ]


def _python_value(spec: dict[str, Any], value: Any) -> Any:
    kind = spec["type"]
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return str(value)


def infer_schema(frame: pd.DataFrame, *, max_categories: int = 50) -> list[dict[str, Any]]:
    """Guess a schema from a user's data; the observed range becomes the allowed range."""
    schema = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            spec = {"name": name, "type": "bool"}
        elif pd.api.types.is_integer_dtype(column):
            spec = {"name": name, "type": "int", "min": int(column.min()), "max": int(column.max())}
        elif pd.api.types.is_numeric_dtype(column):
            spec = {"name": name, "type": "float", "min": float(column.min()), "max": float(column.max())}
        else:
            choices = sorted(column.dropna().astype(str).unique().tolist())
            if len(choices) > max_categories:
                raise ValueError(f"column {name!r} has {len(choices)} distinct values; give it a schema")
            spec = {"name": name, "type": "category", "choices": choices}
        schema.append({"description": name.replace("_", " "), "unit": "", **spec})
    return schema


@dataclass
class TrainingResult:
    estimator: Any
    schema: list[dict[str, Any]]
    metrics: dict[str, Any]
    reference: dict[str, Any]
    library_versions: dict[str, str]
    self_check: dict[str, Any]
    trees: dict[str, Any]


# The newest fifth of the rows is the holdout, whoever assembles them (a CSV, the demo
# generator, the stored predictions of lifecycle/retraining.py).
HOLDOUT_FRACTION = 0.2


def holdout_start(rows: int, holdout_fraction: float = HOLDOUT_FRACTION) -> int:
    """The index of the first holdout row among `rows` time-ordered rows."""
    return int(rows * (1 - holdout_fraction))


def train(
    *,
    frame: pd.DataFrame,
    schema: list[dict[str, Any]],
    target: str,
    review_threshold: float,
    holdout_fraction: float = HOLDOUT_FRACTION,
    seed: int = 0,
) -> TrainingResult:
    """Fit on the older rows, measure on the newest ones: no leakage from the future."""
    split = holdout_start(len(frame), holdout_fraction)
    labels = frame[target].astype(bool).to_numpy()
    if labels[:split].all() or not labels[:split].any():
        raise ValueError(f"target {target!r} needs both classes in the training rows")
    matrix = encode_rows(schema, frame_to_records(frame, schema))
    return fit(
        schema=schema, matrix=matrix, labels=labels, split=split, review_threshold=review_threshold, seed=seed
    )


def fit(
    *,
    schema: list[dict[str, Any]],
    matrix: np.ndarray,
    labels: np.ndarray,
    split: int,
    review_threshold: float,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    reference_matrix: np.ndarray | None = None,
) -> TrainingResult:
    """Fit on the rows before `split`, measure on the rows from it on (time-ordered by the caller).

    `sample_weight` (one per row) says how many rows of the traffic each stands for; the
    holdout metrics are weighted with it too. The reference distributions drift monitoring
    compares live traffic with come from `reference_matrix` when given (a sample of the
    traffic itself, where the labelled rows are not representative of it), else from the
    training rows.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    labels = labels.astype(bool)
    if labels[:split].all() or not labels[:split].any():
        raise ValueError("the training rows need both classes")
    # Model size is a latency decision: TreeSHAP costs trees x leaves x depth^2. On the demo
    # data 80 trees of at most 8 leaves and depth 4 match 150 trees of 15 leaves on holdout
    # ROC AUC, PR AUC and Brier score, and explain a row in 0.05 ms instead of 0.26 ms. Trees
    # of at most 8 splits and 6 levels are explained by table lookup instead, ~0.005 ms a row
    # in a batch (predictions/treeshap_lookup.py): keep within those bounds.
    estimator = HistGradientBoostingClassifier(
        max_iter=80,
        learning_rate=0.12,
        max_leaf_nodes=8,
        max_depth=4,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    train_weight = None if sample_weight is None else sample_weight[:split]
    estimator.fit(matrix[:split], labels[:split], sample_weight=train_weight)
    holdout_scores = estimator.predict_proba(matrix[split:])[:, 1]
    reference_rows = matrix[:split] if reference_matrix is None else reference_matrix
    return TrainingResult(
        estimator=estimator,
        schema=schema,
        metrics=holdout_metrics(
            labels[split:],
            holdout_scores,
            review_threshold=review_threshold,
            sample_weight=None if sample_weight is None else sample_weight[split:],
        ),
        reference=reference_distribution(
            schema, reference_rows, estimator.predict_proba(reference_rows)[:, 1]
        ),
        library_versions=library_versions(),
        self_check=self_check_sample(estimator, matrix[split:]),
        trees=treeshap.tree_arrays(estimator),
    )


def self_check_sample(estimator: Any, matrix: np.ndarray, rows: int = 256) -> dict[str, Any]:
    """Rows with the model's raw outputs and shap's SHAP values for them, stored in the
    artifact so that serving can prove its copy of the trees faithful when it loads."""
    import shap

    sample = matrix[:rows]
    return {
        "rows": sample,
        "raw_output": estimator.decision_function(sample),
        "shap_values": np.asarray(shap.TreeExplainer(estimator).shap_values(sample, check_additivity=True)),
    }


def holdout_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    review_threshold: float,
    sample_weight: np.ndarray | None = None,
) -> dict[str, Any]:
    """Holdout figures; with `sample_weight`, each row counts for as many rows as it stands for."""
    from sklearn import metrics

    predicted = scores >= 0.5
    confidence = np.maximum(scores, 1 - scores)
    has_both = labels.any() and not labels.all()
    weights = {"sample_weight": sample_weight}

    def share(mask: np.ndarray) -> float:
        return float(np.average(mask, weights=sample_weight))

    figures = {
        "holdout_rows": len(labels),
        "holdout_fraud_rate": round(share(labels), 5),
        "roc_auc": round(float(metrics.roc_auc_score(labels, scores, **weights)), 5) if has_both else None,
        "pr_auc": round(float(metrics.average_precision_score(labels, scores, **weights)), 5)
        if has_both
        else None,
        "brier": round(float(metrics.brier_score_loss(labels, scores, **weights)), 6),
        "precision_at_0.5": round(
            float(metrics.precision_score(labels, predicted, zero_division=0, **weights)), 5
        ),
        "recall_at_0.5": round(float(metrics.recall_score(labels, predicted, zero_division=0, **weights)), 5),
        "review_share": round(share(confidence < review_threshold), 5),
    }
    if sample_weight is not None:
        figures["holdout_weighted_rows"] = round(float(sample_weight.sum()), 1)
    return figures


def reference_distribution(
    schema: list[dict[str, Any]], matrix: np.ndarray, scores: np.ndarray
) -> dict[str, Any]:
    """Training-time distributions that drift monitoring compares live traffic against."""
    features = {}
    for column, spec in enumerate(schema):
        values = matrix[:, column]
        if spec["type"] in ("category", "bool"):
            size = len(spec["choices"]) if spec["type"] == "category" else 2
            counts = np.bincount(values.astype(int), minlength=size)
            features[spec["name"]] = {
                "kind": "categorical",
                "proportions": (counts / counts.sum()).round(6).tolist(),
            }
        else:
            features[spec["name"]] = _binned(values)
    return {"features": features, "score": _binned(scores)}


def _binned(values: np.ndarray) -> dict[str, Any]:
    edges = np.unique(np.quantile(values, np.linspace(0, 1, REFERENCE_BINS + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return {
        "kind": "binned",
        "edges": edges.tolist(),
        "proportions": (counts / counts.sum()).round(6).tolist(),
    }


def library_versions() -> dict[str, str]:
    import joblib
    import shap
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "shap": shap.__version__,
    }
