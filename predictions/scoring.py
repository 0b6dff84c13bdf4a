"""Pure scoring core: load an artifact, validate input against its schema, score, explain.

Nothing here knows about HTTP or the ORM, so it is fast to test and its hot path is visible.
The same `encode_rows` serves training and scoring, so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import joblib
import numpy as np

from predictions import treeshap

if TYPE_CHECKING:
    from collections.abc import Callable

ARTIFACT_FORMAT = 2
READABLE_FORMATS = {1, 2}  # 2: the trees and the estimator as bytes (see save_artifact)
ADDITIVITY_TOLERANCE = 1e-6
REASON_CODE_COUNT = 3
FRAUD, LEGIT = "fraud", "legit"


def label_opposite(label: str) -> str:
    """The other label: what an analyst's override makes of the model's."""
    return LEGIT if label == FRAUD else FRAUD


class ArtifactError(Exception):
    """The artifact is missing, altered or not one of ours."""


class ExplanationError(Exception):
    """SHAP values do not add up to the model's output."""


# --- the artifact -----------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_bytes(*, bundle: dict[str, Any]) -> bytes:
    """The bundle as joblib bytes: what the registry stores and every process verifies and loads.

    The estimator goes in as joblib bytes of its own: serving runs on the bundle's trees, and
    unpickling the estimator would import scikit-learn (~140 MiB) into every web process.
    """
    stored = {**bundle, "format": ARTIFACT_FORMAT}
    if "estimator" in stored:
        estimator = io.BytesIO()
        joblib.dump(stored["estimator"], estimator)
        stored["estimator"] = estimator.getvalue()
    buffer = io.BytesIO()
    joblib.dump(stored, buffer)
    return buffer.getvalue()


def bytes_sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def save_artifact(*, bundle: dict[str, Any], path: Path) -> str:
    """Write the bundle to a file and return the sha256 of the bytes written."""
    data = artifact_bytes(bundle=bundle)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return bytes_sha256(data)


def bundle_estimator(bundle: dict[str, Any]) -> Any:
    """The bundle's fitted estimator, unpickled on demand (format 1 stored it as an object)."""
    estimator = bundle["estimator"]
    return joblib.load(io.BytesIO(estimator)) if isinstance(estimator, bytes) else estimator


def load_artifact(*, path: Path, expected_sha256: str) -> dict[str, Any]:
    """Load a bundle from a file only if its bytes hash to the registered checksum.

    The bytes are hashed and unpickled from one read, so the file cannot change in between.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"model artifact {path} is missing") from None
    return load_artifact_bytes(data=data, expected_sha256=expected_sha256, source=str(path))


def load_artifact_bytes(*, data: bytes | memoryview, expected_sha256: str, source: str) -> dict[str, Any]:
    """Load a bundle only if `data` hashes to the registered checksum; `source` names it in errors."""
    actual = bytes_sha256(data)
    if actual != expected_sha256:
        raise ArtifactError(
            f"model artifact {source} has sha256 {actual}, but the registry expects "
            f"{expected_sha256}; refusing to load it"
        )
    bundle = joblib.load(io.BytesIO(data))
    if not isinstance(bundle, dict) or bundle.get("format") not in READABLE_FORMATS:
        raise ArtifactError(f"model artifact {source} is not a reviewapp model bundle")
    return bundle


# --- validation -------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(spec: dict[str, Any], value: Any) -> str | None:
    """Return an error message for one feature value, or None when it is valid."""
    kind = spec["type"]
    if kind == "bool":
        return None if isinstance(value, bool) else "Must be true or false."
    if kind == "category":
        if not isinstance(value, str):
            return "Must be a string."
        if value not in spec["choices"]:
            return f"'{value[:64]}' is not one of {', '.join(spec['choices'])}."
        return None
    if not _is_number(value):
        return "Must be a number." if kind == "float" else "Must be an integer."
    try:
        finite = math.isfinite(value)
    except OverflowError:  # JSON integers have no size limit, the model's floats do
        return "Is too large."
    if not finite:
        return "Must be a finite number."
    if kind == "int" and not float(value).is_integer():
        return "Must be an integer."
    if spec.get("min") is not None and value < spec["min"]:
        return f"Must be at least {spec['min']}."
    if spec.get("max") is not None and value > spec["max"]:
        return f"Must be at most {spec['max']}."
    return None


def validate_features(schema: list[dict[str, Any]], features: dict[str, Any]) -> dict[str, list[str]]:
    """Check one transaction against the schema; return errors keyed by feature name."""
    errors: dict[str, list[str]] = {}
    known = {spec["name"] for spec in schema}
    for name in features:
        if name not in known:
            errors[str(name)[:64]] = ["Unknown feature."]
    for spec in schema:
        name = spec["name"]
        if name not in features or features[name] is None:
            errors[name] = ["This feature is required."]
            continue
        message = _check_value(spec, features[name])
        if message:
            errors[name] = [message]
    return errors


def normal_value(spec: dict[str, Any], value: Any) -> Any:
    """A valid value in the one form it is stored and digested in: 10 and 10.0 are the same amount."""
    if spec["type"] == "float":
        return float(value)
    if spec["type"] == "int":
        return int(value)
    return value


class FeatureSchema:
    """A model's feature schema, prepared once: each transaction's features checked and put in
    normal form in one pass.

    The common transaction, every feature present and of its own type within its range, takes
    one test a feature; anything else (a missing or unknown feature, 10.0 for an integer, a
    value out of range) goes through validate_features and normal_value, which name every
    problem. Both ways give the same answer (tests/predictions/test_scoring.py); the one pass
    costs a quarter of the two's time, 2.5 against ~10 µs a transaction (bench/README.md).
    """

    def __init__(self, schema: list[dict[str, Any]]) -> None:
        self.schema = schema
        self._checks = [
            (spec["name"], spec["type"], *_plain_range(spec), frozenset(spec.get("choices") or ()))
            for spec in schema
        ]

    def normalised(self, features: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """(the features in normal form and schema order, {}) if valid, else ({}, errors by feature)."""
        normal = self._normal_if_plainly_valid(features)
        if normal is not None:
            return normal, {}
        errors = validate_features(self.schema, features)
        if errors:
            return {}, errors
        return {spec["name"]: normal_value(spec, features[spec["name"]]) for spec in self.schema}, {}

    def _normal_if_plainly_valid(self, features: dict[str, Any]) -> dict[str, Any] | None:
        if len(features) != len(self._checks):
            return None  # a feature missing or unknown: as many names, each found, is the same set
        normal: dict[str, Any] = {}
        for name, kind, low, high, choices in self._checks:
            value: Any = features.get(name)
            value_type = type(value)  # exact types: a bool is not a number here
            if kind == "float":
                if (value_type is float or value_type is int) and low <= value <= high:  # NaN fails
                    normal[name] = float(value)
                    continue
            elif kind == "int":
                if value_type is int and low <= value <= high:
                    normal[name] = value
                    continue
            elif kind == "bool":
                if value_type is bool:
                    normal[name] = value
                    continue
            elif value_type is str and value in choices:
                normal[name] = value
                continue
            return None
        return normal


_FLOAT_MAX = sys.float_info.max


def _plain_range(spec: dict[str, Any]) -> tuple[float, float]:
    """The schema's range within a float's: an integer no float holds takes the long way ("Is too large.")."""
    low, high = spec.get("min"), spec.get("max")
    return (
        -_FLOAT_MAX if low is None else max(low, -_FLOAT_MAX),
        _FLOAT_MAX if high is None else min(high, _FLOAT_MAX),
    )


def encode_value(spec: dict[str, Any], value: Any) -> float:
    if spec["type"] == "category":
        return float(spec["choices"].index(value))
    return float(value)


def encode_rows(schema: list[dict[str, Any]], rows: list[dict[str, Any]]) -> np.ndarray:
    """Turn validated feature dicts into the model's float matrix (schema order)."""
    matrix = np.empty((len(rows), len(schema)), dtype=np.float64)
    for i, row in enumerate(rows):
        matrix[i] = [encode_value(spec, row[spec["name"]]) for spec in schema]
    return matrix


# --- scoring and explanation ------------------------------------------------------------


@overload
def sigmoid(log_odds: float) -> float: ...
@overload
def sigmoid(log_odds: np.ndarray) -> np.ndarray: ...
def sigmoid(log_odds: float | np.ndarray) -> float | np.ndarray:
    """The probability a log-odds stands for: the trees' raw output and SHAP values are log-odds."""
    return 1.0 / (1.0 + np.exp(-log_odds))


@dataclass(frozen=True)
class Scored:
    score: float
    label: str
    confidence: float
    raw_output: float
    base_value: float
    contributions: dict[str, float]

    def reason_codes(self, features: dict[str, Any]) -> list[dict[str, Any]]:
        top = sorted(self.contributions.items(), key=lambda item: -abs(item[1]))
        return [
            {"feature": name, "value": features[name], "contribution": round(value, 6)}
            for name, value in top[:REASON_CODE_COUNT]
        ]


class Scorer:
    """A loaded model bundle, ready to score and explain; built once per process.

    Scores and explanations come from the ensemble's trees (`predictions/treeshap.py`): for
    the small trees reviewapp trains, looked up in tables built when the model loads, ~0.005 ms
    a row in a batch for output and SHAP values together; otherwise shap's TreeSHAP kernel,
    ~0.01 ms a row for the output alone, where scikit-learn's decision_function spends ~0.4 ms
    in per-tree Python. The trees stand in for the model only once they reproduce the outputs
    and SHAP values recorded at training (`self_check`), so the additivity check still
    compares SHAP values against the real model. Artifacts of format 1 carry no trees; they are
    taken apart here, which imports shap.
    """

    explainer_name = treeshap.EXPLAINER_NAME

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.schema: list[dict[str, Any]] = bundle["schema"]
        self.feature_names = [spec["name"] for spec in self.schema]
        self.features = FeatureSchema(self.schema)
        self.decision_threshold: float = bundle.get("decision_threshold", 0.5)
        try:
            self.trees = treeshap.TreeShap(
                bundle.get("trees") or treeshap.tree_arrays(bundle_estimator(bundle))
            )
        except (ImportError, KeyError, TypeError, ValueError) as error:
            raise ArtifactError(f"the model's trees cannot be explained: {error}") from error
        self.shap_version = treeshap.shap_version()
        self.base_value = self.trees.expected_value
        self._model_output = self._unproven_trees_output(bundle)

    def _unproven_trees_output(self, bundle: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray] | None:
        """The model's own output function if the trees cannot stand in for it, else None."""
        self_check = bundle.get("self_check")
        if self_check is None:  # nothing recorded to prove the trees against: ask the model
            return bundle_estimator(bundle).decision_function
        rows = np.asarray(self_check["rows"], dtype=np.float64)
        raw, values = self.trees.explain(rows)
        _require_close(raw, self_check["raw_output"], "the model's recorded outputs")
        if "shap_values" in self_check:  # recorded since artifact format 2
            _require_close(values, self_check["shap_values"], "its recorded SHAP values")
        return None

    def validate(self, features: dict[str, Any]) -> dict[str, list[str]]:
        return validate_features(self.schema, features)

    def score(self, rows: list[dict[str, Any]]) -> list[Scored]:
        """Score and explain validated rows in one pass."""
        matrix = encode_rows(self.schema, rows)
        raw, values = self.trees.explain(matrix)
        if self._model_output is not None:
            raw = np.asarray(self._model_output(matrix), dtype=np.float64).reshape(-1)
        gap = np.abs(self.base_value + values.sum(axis=1) - raw)
        if gap.max(initial=0.0) > ADDITIVITY_TOLERANCE:
            raise ExplanationError(f"SHAP values miss the model output by {gap.max():.3g}")
        # Python floats for every row at once: per-row numpy scalars cost more than the scoring.
        scored = zip(sigmoid(raw).tolist(), raw.tolist(), values.tolist(), strict=True)
        return [self._scored(score, raw_output, row_values) for score, raw_output, row_values in scored]

    def _scored(self, score: float, raw: float, values: list[float]) -> Scored:
        return Scored(
            score=score,
            label=FRAUD if score >= self.decision_threshold else LEGIT,
            confidence=max(score, 1.0 - score),
            raw_output=raw,
            base_value=self.base_value,
            contributions=dict(zip(self.feature_names, values, strict=True)),
        )


def _require_close(actual: np.ndarray, expected: Any, what: str) -> None:
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape or np.abs(actual - expected).max(initial=0.0) > ADDITIVITY_TOLERANCE:
        raise ArtifactError(f"the explainer's trees do not reproduce {what}")
