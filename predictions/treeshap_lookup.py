"""Path-dependent TreeSHAP by table lookup, for ensembles of small trees.

shap's kernel walks every tree for every row, recursively, extending and unwinding a path of
permutation weights: about 0.035 ms a row for the demo model's 80 trees of 8 leaves, a quarter
of a 1,000-row batch's time in the web process. For trees this small, everything a row can do
in one tree is one of at most 256 cases: which way it goes at each of the tree's (at most
eight) splits. So each tree's output and SHAP values are computed once per case, when a model
loads, and a row's explanation becomes a gather and a sum: ~0.005 ms a row in a batch.

Why a case determines the values (Yang, "Fast TreeSHAP", 2021, whose second algorithm this is):
path-dependent TreeSHAP computes, per tree, the Shapley values of the game
f(S) = sum over leaves l of  v_l * prod over the features u on l's path of
       (s_lu if u in S else r_lu),
where s_lu is 1 when the row takes l's side at every split on u along the path (else 0) and
r_lu is the product of the cover fractions of those splits. By linearity each leaf's term is a
game of its own, on the features of its path only, and depends on the row only through which
of its path's splits the row follows: a pattern of at most `MAX_DEPTH` bits. Its Shapley values
for every pattern are computed here by enumerating coalitions. A tree's table sums its leaves'
values for each case of split directions. Missing values go where shap's kernel sends them
(the split's default child); a value equal to a threshold goes left, as in scikit-learn and
shap. The result equals shap's kernel up to rounding (~1e-14, `tests/predictions/test_treeshap.py`),
and a scorer proves it against the SHAP values shap recorded at training before it serves.

Larger trees (more than `MAX_SPLITS` splits or `MAX_DEPTH` levels), categorical splits and
other explanation modes return no tables: shap's kernel serves those (`treeshap.TreeShap`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_SPLITS = 8  # a tree's cases: 2 ** splits, one byte of directions a row
MAX_DEPTH = 6  # a leaf's coalitions x patterns: 4 ** depth, built once per model load
MAX_TABLE_BYTES = 16 * 2**20  # per process; the demo model's tables take 1.5 MiB
# From this many rows on, trees are summed one at a time: three times faster on 1,000 rows
# (the rows x trees x features gather would not fit in the cache), slower on a few rows.
ROWS_SUMMED_TREE_BY_TREE = 32
# Rows explained at a time: each row's split values take 4.5 KiB for the demo model, so a
# 1,000-row batch in one piece held 4.5 MiB at once (and ran no faster).
CHUNK_ROWS = 256
TREE_PATH_DEPENDENT = 1  # shap's feature_perturbation code
IDENTITY = 0  # shap's output transform code: the raw (log-odds) output


@dataclass(frozen=True)
class _Step:
    split: int  # the split's position among its tree's splits
    goes_right: bool  # the side of the split the path takes
    feature: int
    cover_fraction: float  # the share of the split's training cover that took this side


class LookupTables:
    """Each tree's raw output and SHAP values for every case of directions at its splits."""

    def __init__(
        self,
        *,
        split_features: np.ndarray,
        split_thresholds: np.ndarray,
        split_default_left: np.ndarray,
        tables: np.ndarray,
        base_offset: float,
        expected_value: float,
    ) -> None:
        self._tree_count, self._width = split_features.shape
        self._features = split_features.ravel()
        self._thresholds = split_thresholds.ravel()
        self._default_left = split_default_left.ravel()
        self._cases = tables.shape[1]
        self._feature_count = tables.shape[2] - 1
        self._table = tables.reshape(-1, tables.shape[2])
        self._tree_offsets = np.arange(self._tree_count) * self._cases
        self._base_offset = base_offset
        self.expected_value = expected_value

    @classmethod
    def build(
        cls, arrays: dict[str, np.ndarray], *, perturbation_code: int, transform_code: int
    ) -> LookupTables | None:
        """The tables for shap's arrays of an ensemble, or None where they do not apply."""
        values = arrays["values"]
        if (
            perturbation_code != TREE_PATH_DEPENDENT
            or transform_code != IDENTITY
            or values.ndim != 3
            or values.shape[2] != 1
            or np.any(arrays["threshold_types"] != 0)
        ):
            return None
        trees = [_tree_paths(arrays, tree) for tree in range(values.shape[0])]
        if any(paths is None for paths in trees):
            return None
        width = max([1, *(len(_split_nodes(arrays, tree)) for tree in range(values.shape[0]))])
        feature_count = int(arrays["features"].max(initial=0)) + 1
        cases = 1 << width
        if len(trees) * cases * (feature_count + 1) * 8 > MAX_TABLE_BYTES:
            return None

        tables = np.zeros((len(trees), cases, feature_count + 1))
        directions = ((np.arange(cases)[:, None] >> np.arange(width)[None, :]) & 1).astype(bool)
        expected = float(arrays["base_offset"].ravel()[0])
        for tree, paths in enumerate(trees):
            assert paths is not None
            for leaf_value, steps in paths:
                expected += _add_leaf(tables[tree], directions, leaf_value, steps)

        # Padding splits (trees with fewer splits than the widest) compare a real feature with
        # +inf and send missing values left: every row goes left there, so their bit is 1.
        split_features = np.zeros((len(trees), width), dtype=np.intp)
        split_thresholds = np.full((len(trees), width), np.inf)
        split_default_left = np.ones((len(trees), width), dtype=bool)
        for tree in range(len(trees)):
            nodes = _split_nodes(arrays, tree)
            split_features[tree, : len(nodes)] = arrays["features"][tree, nodes]
            split_thresholds[tree, : len(nodes)] = arrays["thresholds"][tree, nodes]
            split_default_left[tree, : len(nodes)] = (
                arrays["children_default"][tree, nodes] == arrays["children_left"][tree, nodes]
            )
        return cls(
            split_features=split_features,
            split_thresholds=split_thresholds,
            split_default_left=split_default_left,
            tables=tables,
            base_offset=float(arrays["base_offset"].ravel()[0]),
            expected_value=expected,
        )

    def explain(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's raw output, and its SHAP values (one column per column of `matrix`)."""
        if len(matrix) <= CHUNK_ROWS:
            return self._explain(matrix)
        raw, contributions = np.empty(len(matrix)), np.empty(matrix.shape)
        for start in range(0, len(matrix), CHUNK_ROWS):
            chunk = slice(start, start + CHUNK_ROWS)
            raw[chunk], contributions[chunk] = self._explain(matrix[chunk])
        return raw, contributions

    def _explain(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = matrix.shape[0]
        values = matrix[:, self._features]
        goes_left = values <= self._thresholds
        missing = np.isnan(values)
        if missing.any():
            goes_left = np.where(missing, self._default_left, goes_left)
        cases = np.packbits(goes_left.reshape(rows, self._tree_count, self._width), axis=2, bitorder="little")
        rows_by_tree = cases[:, :, 0] + self._tree_offsets
        if rows < ROWS_SUMMED_TREE_BY_TREE:
            summed = self._table[rows_by_tree].sum(axis=1)
        else:  # the same sums in the same order, without a rows x trees x features intermediate
            summed = self._table[rows_by_tree[:, 0]]
            for tree in range(1, self._tree_count):
                summed += self._table[rows_by_tree[:, tree]]
        contributions = summed[:, : self._feature_count]
        if matrix.shape[1] > self._feature_count:  # trailing features no tree splits on
            contributions = np.pad(contributions, ((0, 0), (0, matrix.shape[1] - self._feature_count)))
        return summed[:, -1] + self._base_offset, contributions


def _split_nodes(arrays: dict[str, np.ndarray], tree: int) -> np.ndarray:
    return np.flatnonzero(arrays["children_left"][tree] >= 0)


def _tree_paths(arrays: dict[str, np.ndarray], tree: int) -> list[tuple[float, list[_Step]]] | None:
    """Every leaf of the tree with the steps from the root to it; None if the tree is too big."""
    left, right = arrays["children_left"][tree], arrays["children_right"][tree]
    cover = arrays["node_sample_weight"][tree]
    nodes = _split_nodes(arrays, tree)
    if len(nodes) > MAX_SPLITS:
        return None
    position = {int(node): index for index, node in enumerate(nodes)}
    paths: list[tuple[float, list[_Step]]] = []
    pending: list[tuple[int, list[_Step]]] = [(0, [])]
    while pending:
        node, steps = pending.pop()
        if left[node] < 0:
            if len(steps) > MAX_DEPTH:
                return None
            paths.append((float(arrays["values"][tree, node, 0]), steps))
            continue
        if not cover[node] > 0:  # a fraction of nothing: leave such trees to shap's kernel
            return None
        for child, goes_right in ((left[node], False), (right[node], True)):
            step = _Step(
                position[node], goes_right, int(arrays["features"][tree, node]), cover[child] / cover[node]
            )
            pending.append((int(child), [*steps, step]))
    return paths


def _add_leaf(table: np.ndarray, directions: np.ndarray, leaf_value: float, steps: list[_Step]) -> float:
    """Add one leaf's output and SHAP values to its tree's table, for every case of directions.

    Returns the leaf's share of the expected value (its value times the fraction of the
    training cover that reaches it).
    """
    depth = len(steps)
    # A leaf's players are the features on its path; a feature split on twice is one player,
    # held by its first step: the later step's bit folds into it, and the step itself becomes a
    # null player (s = r = 1), which changes no Shapley value.
    holder = []
    first: dict[int, int] = {}
    for index, step in enumerate(steps):
        holder.append(first.setdefault(step.feature, index))
    patterns = 1 << depth
    bits = ((np.arange(patterns)[:, None] >> np.arange(depth)[None, :]) & 1).astype(np.float64)
    followed = np.ones((patterns, depth))  # s: the row follows the path at all of the player's splits
    fraction = np.ones(depth)  # r
    for index, step in enumerate(steps):
        followed[:, holder[index]] *= bits[:, index]
        fraction[holder[index]] *= step.cover_fraction
    for index in range(depth):
        if holder[index] != index:
            followed[:, index] = 1.0

    # The leaf's game for each pattern (rows) and coalition (columns), coalitions as bit sets.
    members = bits.astype(bool)  # coalition index -> its members, the same bit layout
    game = leaf_value * np.where(members[None, :, :], followed[:, None, :], fraction[None, None, :]).prod(
        axis=2
    )
    sizes = members.sum(axis=1)
    weights = np.array(
        [math.factorial(k) * math.factorial(depth - k - 1) / math.factorial(depth) for k in range(depth)]
    )
    shapley = np.zeros((patterns, depth))
    for index in range(depth):
        without = np.flatnonzero(~members[:, index])
        shapley[:, index] = (game[:, without | (1 << index)] - game[:, without]) @ weights[sizes[without]]

    # The pattern a leaf sees in each case of its tree's split directions.
    pattern = np.zeros(len(directions), dtype=np.intp)
    for index, step in enumerate(steps):
        follows = directions[:, step.split] != step.goes_right
        pattern |= follows.astype(np.intp) << index
    for index, step in enumerate(steps):
        if holder[index] == index:
            table[:, step.feature] += shapley[pattern, index]
    table[:, -1] += game[pattern, patterns - 1]  # the leaf's value in the cases that reach it
    return float(game[0, 0])
