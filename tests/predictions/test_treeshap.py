"""Explanations by lookup tables are shap's path-dependent TreeSHAP values, whatever the trees."""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeRegressor

from predictions import treeshap, treeshap_lookup
from predictions.scoring import Scorer

EXACT = 1e-12  # rounding only: the sums are taken in another order than shap's


def _data(*, rows: int, features: int, missing: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(rows, features))
    filled = matrix.copy()
    matrix[rng.random(matrix.shape) < missing] = np.nan
    labels = filled[:, 0] + filled[:, 1 % features] * filled[:, -1] + rng.normal(scale=0.5, size=rows) > 0.3
    return matrix, labels


def _rows_on_every_threshold(trees: dict, features: int, seed: int) -> np.ndarray:
    """Rows whose values sit exactly on split thresholds, and rows with values missing."""
    rng = np.random.default_rng(seed)
    splits = trees["children_left"] >= 0
    on_threshold = rng.normal(size=(splits.sum(), features))
    on_threshold[np.arange(splits.sum()), trees["features"][splits]] = trees["thresholds"][splits]
    missing = rng.normal(size=(200, features))
    missing[rng.random(missing.shape) < 0.3] = np.nan
    return np.vstack([on_threshold, missing, rng.normal(size=(200, features))])


def _compare(estimator, matrix: np.ndarray, *, lookup: bool = True) -> None:
    arrays = treeshap.tree_arrays(estimator)
    trees = treeshap.TreeShap(arrays)
    assert trees.by_lookup is lookup
    rows = np.vstack([matrix, _rows_on_every_threshold(arrays, matrix.shape[1], seed=1)])

    raw, values = trees.explain(rows)

    assert raw == pytest.approx(trees.predict(rows), abs=EXACT)
    assert values == pytest.approx(trees.shap_values(rows), abs=EXACT)


@pytest.mark.parametrize(
    ("features", "leaves", "depth", "missing"),
    [
        (12, 8, 4, 0.0),  # the demo model's shape
        (3, 8, 4, 0.0),  # few features: most paths split on one feature twice or more
        (2, 9, 6, 0.0),  # deep paths of two features
        (12, 8, 4, 0.1),  # missing values, sent left or right as each split learnt
        (5, 2, 1, 0.2),  # stumps
    ],
)
def test_hist_gradient_boosting_explanations_are_shaps(features, leaves, depth, missing):
    matrix, labels = _data(rows=3000, features=features, missing=missing, seed=features)
    estimator = HistGradientBoostingClassifier(
        max_iter=40, max_leaf_nodes=leaves, max_depth=depth, min_samples_leaf=5, random_state=0
    ).fit(matrix, labels)

    _compare(estimator, matrix[:500])


def test_other_tree_ensembles_explanations_are_shaps():
    matrix, labels = _data(rows=1500, features=6, missing=0.0, seed=3)

    _compare(
        GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(matrix, labels),
        matrix[:300],
    )
    _compare(
        RandomForestRegressor(n_estimators=20, max_leaf_nodes=9, random_state=0).fit(matrix, labels),
        matrix[:300],
    )


def test_a_tree_that_never_splits_adds_its_value_and_explains_nothing():
    matrix, labels = _data(rows=500, features=4, missing=0.0, seed=4)
    constant = DecisionTreeRegressor(min_impurity_decrease=1e9).fit(matrix, labels.astype(float))
    trees = treeshap.TreeShap(treeshap.tree_arrays(constant))

    raw, values = trees.explain(matrix[:20])

    assert trees.by_lookup
    assert raw == pytest.approx(np.full(20, labels.mean()), abs=EXACT)
    assert values == pytest.approx(np.zeros((20, 4)), abs=EXACT)


def test_features_no_tree_splits_on_get_zero_contributions():
    matrix, labels = _data(rows=1000, features=3, missing=0.0, seed=5)
    wider = np.hstack([matrix, np.ones((len(matrix), 2))])  # two constant columns at the end
    estimator = HistGradientBoostingClassifier(max_iter=10, max_leaf_nodes=4, random_state=0).fit(
        wider, labels
    )

    trees = treeshap.TreeShap(treeshap.tree_arrays(estimator))

    raw, values = trees.explain(wider[:50])

    assert values.shape == (50, 5)
    assert np.all(values[:, 3:] == 0.0)
    assert values == pytest.approx(trees.shap_values(wider[:50]), abs=EXACT)
    assert raw == pytest.approx(trees.predict(wider[:50]), abs=EXACT)


@pytest.mark.parametrize(("leaves", "depth"), [(12, 4), (31, 5), (16, None)])
def test_trees_with_too_many_splits_for_tables_are_explained_by_shaps_kernel(leaves, depth):
    matrix, labels = _data(rows=3000, features=4, missing=0.05, seed=6)
    estimator = HistGradientBoostingClassifier(
        max_iter=10, max_leaf_nodes=leaves, max_depth=depth, min_samples_leaf=2, random_state=0
    ).fit(matrix, labels)

    _compare(estimator, matrix[:200], lookup=False)


def test_trees_too_deep_for_tables_are_explained_by_shaps_kernel(monkeypatch):
    matrix, labels = _data(rows=2000, features=4, missing=0.05, seed=8)
    estimator = HistGradientBoostingClassifier(max_iter=10, max_leaf_nodes=8, max_depth=4, random_state=0)
    estimator.fit(matrix, labels)
    monkeypatch.setattr(treeshap_lookup, "MAX_DEPTH", 3)

    _compare(estimator, matrix[:200], lookup=False)


def test_the_tables_expected_value_is_shaps():
    matrix, labels = _data(rows=2000, features=8, missing=0.05, seed=7)
    arrays = treeshap.tree_arrays(
        HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=8).fit(matrix, labels)
    )
    trees = treeshap.TreeShap(arrays)

    tables = treeshap_lookup.LookupTables.build(
        trees._arrays, perturbation_code=arrays["perturbation_code"], transform_code=arrays["transform_code"]
    )

    assert tables is not None
    assert tables.expected_value == pytest.approx(arrays["expected_value"], abs=EXACT)


def test_a_row_alone_is_explained_as_in_a_batch(trained):
    trees = treeshap.TreeShap(trained.trees)
    rows = np.asarray(trained.self_check["rows"])
    matrix = np.vstack([rows, rows[::-1], rows])  # 768 rows: explained in pieces
    picked = (0, 17, 255, 300, 767)

    raw, values = trees.explain(matrix)
    alone = [trees.explain(matrix[i : i + 1]) for i in picked]

    assert len(matrix) > treeshap_lookup.CHUNK_ROWS
    for (one_raw, one_values), i in zip(alone, picked, strict=True):
        assert one_raw[0] == raw[i]
        assert np.array_equal(one_values[0], values[i])
    assert values == pytest.approx(trees.shap_values(matrix), abs=EXACT)


def test_the_demo_model_is_served_by_the_tables(trained):
    """If the fast path silently fell back to shap's kernel, batches would be ~6x slower to explain."""
    scorer = Scorer(
        {
            "estimator": trained.estimator,
            "schema": trained.schema,
            "trees": trained.trees,
            "self_check": trained.self_check,
        }
    )

    assert scorer.trees.by_lookup
