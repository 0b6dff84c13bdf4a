"""SHAP's TreeExplainer, split in two: the trees are taken apart at training, and served here.

`shap.TreeExplainer` turns a tree ensemble into flat arrays and hands them to shap's compiled
kernel (`shap._cext`). Importing the `shap` package to get there also imports numba, LLVM,
pandas and scikit-learn: ~240 MiB in every web process, for a kernel that needs only NumPy.
So `tree_arrays` runs `shap.TreeExplainer` once, when a model is trained, and stores its
arrays in the artifact; `TreeShap` serves them. Ensembles of small trees are explained from
tables built from those arrays when the model loads (`treeshap_lookup`: the same values, seven
times faster on a batch); the rest by shap's kernel, loaded by itself. The algorithm
(path-dependent TreeSHAP) and its reference are shap's. A scorer proves what serves faithful
when it loads (see `Scorer`), against outputs and SHAP values recorded at training.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from predictions.treeshap_lookup import LookupTables

EXPLAINER_NAME = "TreeExplainer"
_ARRAYS = {
    "children_left": np.int32,
    "children_right": np.int32,
    "children_default": np.int32,
    "features": np.int32,
    "thresholds": np.float64,
    "threshold_types": np.int32,
    "values": np.float64,
    "node_sample_weight": np.float64,
    "base_offset": np.float64,
}


def tree_arrays(estimator: Any) -> dict[str, Any]:
    """Build `shap.TreeExplainer` for the estimator and keep what its kernel is called with."""
    import shap
    from shap.explainers._tree import feature_perturbation_codes, output_transform_codes

    explainer = shap.TreeExplainer(estimator)
    model = explainer.model
    if model.num_outputs != 1 or model.model_output != "raw":
        raise ValueError("only single-output tree models explained in raw (log-odds) output are supported")
    return {
        **{name: np.ascontiguousarray(getattr(model, name), dtype=dtype) for name, dtype in _ARRAYS.items()},
        "max_depth": int(model.max_depth),
        "perturbation_code": feature_perturbation_codes[explainer.feature_perturbation],
        "transform_code": output_transform_codes[model.get_transform()],
        "expected_value": float(np.ravel(explainer.expected_value)[0]),
        "shap_version": shap.__version__,
    }


def shap_version() -> str:
    return importlib.metadata.version("shap")


@functools.cache
def _kernel() -> ModuleType:
    """shap's compiled extension, loaded from its file without running shap's `__init__`."""
    package = importlib.util.find_spec("shap")
    if package is None or not package.submodule_search_locations:
        raise ImportError("shap is not installed")
    path = next(Path(package.submodule_search_locations[0]).glob("_cext.*"), None)
    if path is None:
        raise ImportError("shap is installed without its compiled TreeSHAP kernel (_cext)")
    spec = importlib.util.spec_from_file_location("shap._cext", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"shap's TreeSHAP kernel {path.name} is not a loadable extension")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TreeShap:
    """Raw output and path-dependent SHAP values of a tree ensemble, from `tree_arrays`."""

    def __init__(self, trees: dict[str, Any]) -> None:
        self._cext = _kernel()
        self._arrays = {
            name: np.ascontiguousarray(trees[name], dtype=dtype) for name, dtype in _ARRAYS.items()
        }
        self._max_depth = int(trees["max_depth"])
        self._perturbation_code = int(trees["perturbation_code"])
        self._transform_code = int(trees["transform_code"])
        self._tree_count = self._arrays["values"].shape[0]
        self.expected_value = float(trees["expected_value"])
        self._lookup = LookupTables.build(
            self._arrays, perturbation_code=self._perturbation_code, transform_code=self._transform_code
        )
        if self._lookup is not None and abs(self._lookup.expected_value - self.expected_value) > 1e-9:
            self._lookup = None  # not the game shap's kernel explains: let the kernel serve

    @property
    def by_lookup(self) -> bool:
        """Whether `explain` reads tables (`treeshap_lookup`) rather than running shap's kernel."""
        return self._lookup is not None

    def explain(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's raw output and SHAP values, in one pass where the trees are small enough."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        if self._lookup is not None:
            return self._lookup.explain(matrix)
        return self.predict(matrix), self.shap_values(matrix)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """The ensemble's raw output (log-odds) for each row, by shap's kernel."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        out = np.zeros((matrix.shape[0], 1))
        a = self._arrays
        self._cext.dense_tree_predict(
            a["children_left"], a["children_right"], a["children_default"], a["features"],
            a["thresholds"], a["threshold_types"], a["values"], self._max_depth, self._tree_count,
            a["base_offset"], self._transform_code, matrix, np.isnan(matrix), None, out,
        )  # fmt: skip
        return out[:, 0]

    def shap_values(self, matrix: np.ndarray) -> np.ndarray:
        """One contribution per row and feature, by shap's kernel; each row's sum plus
        `expected_value` is its output."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        phi = np.zeros((matrix.shape[0], matrix.shape[1] + 1, 1))
        a = self._arrays
        self._cext.dense_tree_shap(
            a["children_left"], a["children_right"], a["children_default"], a["features"],
            a["thresholds"], a["threshold_types"], a["values"], a["node_sample_weight"],
            self._max_depth, matrix, np.isnan(matrix), None, None, None, self._tree_count,
            a["base_offset"], phi, self._perturbation_code, self._transform_code, False,
        )  # fmt: skip
        return phi[:, :-1, 0]
