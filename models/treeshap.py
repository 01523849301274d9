"""Exact path-dependent TreeSHAP for LightGBM boosters, from per-leaf tables built once at load.

LightGBM's `pred_contrib` walks every path of every tree for every row, O(T·L·D²) per row. Here
each leaf gets, once, a table over the subsets of the features on its path (the FastTreeSHAP v2
idea, sized by the leaf's own unique features rather than the tree's depth). After that, a row
costs one decision per node plus O(d) table reads per leaf. The decisions copy LightGBM's
`Tree::Decision` (numerical thresholds, missing types, default directions, categorical bitsets)
and its dense-input rule (|x| <= 1e-35 is zero), so the values equal `pred_contrib` to rounding.
The algebra is in docs/explanations.md.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import lightgbm as lgb
import numpy as np

from riskscore.models import treeshap_kernels as kernels

TABLES = "treeshap-tables"
PRED_CONTRIB = "lightgbm-pred-contrib"
SERIAL_ROWS = 64  # below this many rows: the serial kernel, on one thread per tree range
_PARALLEL = threading.Lock()
# A call of a few rows reads the tables only when they fit the processor's caches. Larger
# tables cost a cache miss per read for one declaration, slower than the leaves' polynomials
# (pure arithmetic), which then run on every core at once, each on a range of trees: one
# declaration of a 900-tree, 63-leaf model took 5.8 ms from its 73 MiB of tables, 3.9 ms from
# the polynomials on two cores (bench/RESULTS.md). Batches read the tables: their rows share
# each tree's tables while it is in cache.
CACHED_TABLE_BYTES = 16 * 2**20
SPLIT_LEAVES = 4096  # fewer leaves: handing work to a thread costs more than it saves
MAX_SPLIT = 4
_helpers: ThreadPoolExecutor | None = None
_helpers_lock = threading.Lock()
MAX_PATH_FEATURES = 62  # the hot mask is one int64
# Leaves with more distinct path features than this get no table (2^d entries) but are computed
# from their polynomial, O(d·|A|): a little slower, far less memory (docs/explanations.md).
TABLE_DEPTH = 12


class UnsupportedModel(Exception):
    """The booster has something the table kernel does not reproduce; the message says what."""


@dataclass(frozen=True)
class ExplainerInfo:
    """What explains the model's scores, and what it cost to set up."""

    kind: str  # TABLES or PRED_CONTRIB
    table_bytes: int  # 0 for pred_contrib
    build_seconds: float
    trees: int
    leaves: int
    max_path_features: int  # the largest number of distinct features on one root-to-leaf path
    table_depth: int = -1  # leaves with more path features have no table (their polynomial)
    few_rows: str | None = None  # how calls of a few rows are explained (TableExplainer)
    note: str | None = None  # e.g. tables limited to fit the memory cap
    fallback_reason: str | None = None  # why the exact kernel is not used, when it is not

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "table_bytes": self.table_bytes,
            "build_seconds": round(self.build_seconds, 3),
            "trees": self.trees,
            "leaves": self.leaves,
            "max_path_features": self.max_path_features,
            "table_depth": self.table_depth,
            "few_rows": self.few_rows,
            "note": self.note,
            "fallback_reason": self.fallback_reason,
        }


@dataclass(frozen=True)
class _Flat:
    """The whole model as flat arrays, trees one after the other (the kernels' input)."""

    tree_node_start: np.ndarray  # int32, per tree: its first internal node
    tree_nodes: np.ndarray  # int32, per tree: internal nodes (0 for a one-leaf tree)
    tree_leaf_start: np.ndarray  # int32
    tree_leaves: np.ndarray  # int32
    node_feature: np.ndarray  # int32, per internal node (nodes of a tree parents first)
    node_threshold: np.ndarray  # float64
    node_flags: np.ndarray  # int32: LightGBM decision_type (categorical, default left, missing)
    node_cat_start: np.ndarray  # int32, into cat_bits
    node_cat_words: np.ndarray  # int32
    node_left: np.ndarray  # int32: child in the tree's own numbering, internal nodes then leaves
    node_right: np.ndarray  # int32
    node_bit: np.ndarray  # int32: position of the node's feature among its path's features
    cat_bits: np.ndarray  # uint32 bitsets of the categorical splits
    leaf_depth: np.ndarray  # int32: distinct features on the leaf's path (d)
    leaf_path_start: np.ndarray  # int64, into path_feature / path_z
    leaf_value: np.ndarray  # float64
    path_feature: np.ndarray  # int32
    path_z: np.ndarray  # float64: share of the training rows that follow the path on it
    base: float  # expected raw score: the SHAP base value
    n_features: int


class TableExplainer:
    """Exact TreeSHAP from tables built once; `contributions` is `pred_contrib`'s twin."""

    def __init__(
        self, flat: _Flat, info: ExplainerInfo, table_start: np.ndarray, table: np.ndarray
    ) -> None:
        self._flat = flat
        self.info = info
        self._table_start = table_start
        self._table = table
        self._path_coef = (1.0 - flat.path_z) / flat.path_z
        self._weights = shapley_weights(int(flat.leaf_depth.max(initial=0)))
        self._max_nodes = max(int(flat.tree_nodes.max(initial=0)), 1)
        self._max_leaves = max(int(flat.tree_leaves.max(initial=1)), 1)
        leaves = int(flat.tree_leaves.sum())
        cached = 0 < info.table_bytes < CACHED_TABLE_BYTES
        # Few-row calls: the tables on one thread, or the polynomials on every core.
        self._few_rows_tables = table_start if cached else np.full_like(table_start, -1)
        self._ranges = tree_ranges(flat.tree_leaves, 1 if cached else split_parts(leaves))
        threads = f"{len(self._ranges)} thread{'s' if len(self._ranges) > 1 else ''}"
        self.info = replace(info, few_rows=f"{'tables' if cached else 'polynomials'}, {threads}")

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """rows x (features + 1) SHAP values in log-odds, the base value last."""
        x = np.ascontiguousarray(matrix, dtype=np.float64)
        f = self._flat
        if x.ndim != 2 or x.shape[1] != f.n_features:
            raise ValueError(
                f"the model has {f.n_features} features: expected a matrix of {f.n_features} "
                f"columns, got shape {x.shape}"
            )
        out = np.zeros((x.shape[0], f.n_features + 1))
        if len(x) < SERIAL_ROWS:
            self._split(x, out)
        else:
            # One parallel call at a time: it takes every core anyway, and numba's fallback
            # threading layer (workqueue, when no OpenMP or TBB) aborts on concurrent calls.
            with _PARALLEL:
                self._run(kernels.explain_parallel, x, out, 0, len(f.tree_nodes), self._table_start)
        out[:, -1] = f.base
        return out

    def _split(self, x: np.ndarray, out: np.ndarray) -> None:
        """The serial kernel on each tree range at once, the first on this thread, the others
        on helper threads (the kernel releases the GIL), each adding into its own array."""
        first, *others = self._ranges
        run, tables = self._run, self._few_rows_tables
        parts = [(np.zeros_like(out), *trees, tables) for trees in others]
        pending = [helpers().submit(run, kernels.explain_serial, x, *p) for p in parts]
        run(kernels.explain_serial, x, out, *first, tables)
        for future, (part, *_) in zip(pending, parts, strict=True):
            future.result()
            out += part

    def _run(  # noqa: PLR0913
        self, kernel, x: np.ndarray, out: np.ndarray, first: int, last: int, table_start: np.ndarray
    ) -> None:  # noqa: ANN001
        """`kernel` on trees first..last-1; leaves whose `table_start` is -1 by polynomial."""
        f = self._flat
        kernel(
            x,
            out,
            f.tree_node_start,
            f.tree_nodes,
            f.tree_leaf_start,
            f.tree_leaves,
            f.node_feature,
            f.node_threshold,
            f.node_flags,
            f.node_cat_start,
            f.node_cat_words,
            f.node_left,
            f.node_right,
            f.node_bit,
            f.cat_bits,
            f.leaf_depth,
            f.leaf_path_start,
            table_start,
            f.path_feature,
            self._path_coef,
            self._table,
            f.leaf_value,
            f.path_z,
            self._weights,
            self._max_nodes,
            self._max_leaves,
            first,
            last,
        )


class ContribExplainer:
    """LightGBM's own `pred_contrib`: the reference, and the fallback."""

    def __init__(self, booster: lgb.Booster, info: ExplainerInfo) -> None:
        self._booster = booster
        self.info = info

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        threads = lightgbm_threads(len(matrix))
        return self._booster.predict(matrix, pred_contrib=True, num_threads=threads)


def split_parts(leaves: int) -> int:
    """Tree ranges a call of a few rows is split into: one per usable core (at most MAX_SPLIT)
    for a model of SPLIT_LEAVES leaves or more, else one."""
    if leaves < SPLIT_LEAVES:
        return 1
    return max(1, min(MAX_SPLIT, scoring_threads()))


def tree_ranges(tree_leaves: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """`parts` consecutive ranges of trees with about as many leaves each (fewer ranges when
    there are fewer trees)."""
    total = np.cumsum(tree_leaves)
    if not len(total) or parts <= 1:
        return [(0, len(tree_leaves))]
    cuts = np.searchsorted(total, total[-1] * np.arange(1, parts) / parts, side="right")
    bounds = [0, *sorted({int(c) for c in cuts} - {0, len(total)}), len(total)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def helpers() -> ThreadPoolExecutor:
    """The threads that take the other tree ranges of a split call, started on first use."""
    global _helpers
    with _helpers_lock:
        if _helpers is None:
            _helpers = ThreadPoolExecutor(MAX_SPLIT - 1, thread_name_prefix="treeshap")
        return _helpers


def lightgbm_threads(rows: int) -> int:
    """LightGBM's num_threads for `rows`: one for small batches (waking an OpenMP team costs
    milliseconds, the trees do not), the process's scoring threads from 2,000 rows."""
    return 1 if rows < 2000 else scoring_threads()


def scoring_threads() -> int:
    """Threads one call may use: RISKSCORE_THREADS (set for each worker of a multi-process
    server to its share of the cores), else the cores this process may run on."""
    given = os.environ.get("RISKSCORE_THREADS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


Explainer = TableExplainer | ContribExplainer


def shapley_weights(depth: int) -> np.ndarray:
    """weights[d, s] = s!(d-s-1)!/d! for s < d (0 for s >= d): the Shapley weight of a subset of
    size s among d players."""
    weights = np.zeros((depth + 1, depth + 2))
    for d in range(1, depth + 1):
        weights[d, 0] = 1.0 / d
        for s in range(1, d):
            weights[d, s] = weights[d, s - 1] * s / (d - s)
    return weights


@dataclass(frozen=True)
class TableLayout:
    """Which leaves get a table: those with at most `depth` path features."""

    depth: int
    start: np.ndarray  # int64 per leaf: offset of its table, -1 for none
    entries: int

    @classmethod
    def of(cls, leaf_depth: np.ndarray, depth: int) -> TableLayout:
        sizes = np.where(leaf_depth <= depth, np.left_shift(1, leaf_depth.astype(np.int64)), 0)
        ends = np.cumsum(sizes)
        start = np.where(leaf_depth <= depth, ends - sizes, -1).astype(np.int64)
        return cls(depth, start, int(ends[-1]) if len(ends) else 0)

    @classmethod
    def within(cls, leaf_depth: np.ndarray, cap_bytes: int, most: int) -> TableLayout:
        """The deepest layout up to `most` whose tables fit `cap_bytes` (depth -1: no table)."""
        for depth in range(most, -1, -1):
            layout = cls.of(leaf_depth, depth)
            if layout.entries * 8 <= cap_bytes:
                return layout if layout.entries else cls.of(leaf_depth, -1)
        return cls.of(leaf_depth, -1)


def build_explainer(
    booster: lgb.Booster, cap_bytes: int, table_depth: int = TABLE_DEPTH
) -> Explainer:
    """The exact kernel: tables for the leaves with at most `table_depth` path features, as many
    as fit `cap_bytes`, the other leaves from their polynomials. LightGBM's `pred_contrib` only
    for a model the kernel does not reproduce, with the reason in `info.fallback_reason`."""
    started = time.perf_counter()
    try:
        flat = flatten(booster.model_to_string())
    except UnsupportedModel as exc:
        return _fallback(booster, str(exc), started)
    layout = TableLayout.within(flat.leaf_depth, cap_bytes, table_depth)
    wanted = TableLayout.of(flat.leaf_depth, table_depth)
    note = None
    if layout.depth < table_depth and layout.entries < wanted.entries:
        note = (
            f"tables for leaves of up to {layout.depth} path features only (the others from "
            f"their polynomials, slower): all would take {wanted.entries * 8 / 2**20:,.0f} MiB, "
            f"above the cap of {cap_bytes / 2**20:,.0f} MiB (RISKSCORE_SHAP_TABLE_CAP_MB)"
        )
    table = np.empty(layout.entries)
    kernels.fill_tables(
        flat.leaf_depth, flat.leaf_path_start, flat.path_z, flat.leaf_value, layout.start, table
    )
    return TableExplainer(flat, _info(flat, layout, note, started), layout.start, table)


def _info(flat: _Flat, layout: TableLayout, note: str | None, started: float) -> ExplainerInfo:
    return ExplainerInfo(
        kind=TABLES,
        table_bytes=layout.entries * 8,
        build_seconds=time.perf_counter() - started,
        trees=len(flat.tree_nodes),
        leaves=len(flat.leaf_depth),
        max_path_features=int(flat.leaf_depth.max(initial=0)),
        table_depth=layout.depth,
        note=note,
    )


def _fallback(booster: lgb.Booster, reason: str, started: float) -> ContribExplainer:
    info = ExplainerInfo(
        kind=PRED_CONTRIB,
        table_bytes=0,
        build_seconds=time.perf_counter() - started,
        trees=booster.num_trees(),
        leaves=0,
        max_path_features=0,
        fallback_reason=reason,
    )
    return ContribExplainer(booster, info)


# --- reading LightGBM's model text -----------------------------------------------------------


def _sections(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The header's key=value lines and one key=value dict per tree."""
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current = header
    for line in text.split("\n"):
        if line.startswith("Tree="):
            current = {}
            trees.append(current)
        elif line == "end of trees":
            break
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key] = value
        elif line and current is header:  # flags such as "average_output" stand alone
            header[line.strip()] = ""
    return header, trees


def _array(tree: dict[str, str], key: str, dtype: str) -> np.ndarray:
    value = tree.get(key, "").strip()
    return np.array(value.split(), dtype=dtype) if value else np.empty(0, dtype=dtype)


@dataclass
class _Tree:
    num_leaves: int
    split_feature: np.ndarray
    threshold: np.ndarray
    decision_type: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray
    leaf_count: np.ndarray
    internal_count: np.ndarray
    cat_boundaries: np.ndarray
    cat_threshold: np.ndarray

    @classmethod
    def parse(cls, tree: dict[str, str]) -> _Tree:
        if tree.get("is_linear", "0").strip() not in ("", "0"):
            raise UnsupportedModel("the model has linear trees")
        return cls(
            num_leaves=int(tree["num_leaves"]),
            split_feature=_array(tree, "split_feature", "int64"),
            threshold=_array(tree, "threshold", "float64"),
            decision_type=_array(tree, "decision_type", "int64"),
            left=_array(tree, "left_child", "int64"),
            right=_array(tree, "right_child", "int64"),
            leaf_value=_array(tree, "leaf_value", "float64"),
            leaf_count=_array(tree, "leaf_count", "float64"),
            internal_count=_array(tree, "internal_count", "float64"),
            cat_boundaries=_array(tree, "cat_boundaries", "int64"),
            cat_threshold=_array(tree, "cat_threshold", "uint32"),
        )

    def count(self, node: int) -> float:
        return float(self.internal_count[node] if node >= 0 else self.leaf_count[~node])

    def expected_value(self) -> float:
        """LightGBM's `Tree::ExpectedValue`, summed in the same order."""
        if self.num_leaves == 1:
            return float(self.leaf_value[0])
        total = float(self.internal_count[0])
        value = 0.0
        for count, leaf in zip(self.leaf_count.tolist(), self.leaf_value.tolist(), strict=True):
            value += (count / total) * leaf
        return value


class _Builder:
    """Accumulates the flat arrays tree by tree."""

    def __init__(self) -> None:
        self.trees: dict[str, list[int]] = {k: [] for k in ("node_start", "nodes", "leaf_start")}
        self.tree_leaves: list[int] = []
        self.nodes: dict[str, list] = {k: [] for k in _NODE_FIELDS}
        self.leaves: dict[str, list] = {k: [] for k in ("depth", "path_start", "value")}
        self.path_feature: list[int] = []
        self.path_z: list[float] = []
        self.cat_bits: list[np.ndarray] = []
        self.cat_offset = 0
        self.base = 0.0

    def add(self, tree: _Tree) -> None:
        if tree.num_leaves > 1 and (
            np.any(tree.leaf_count <= 0) or np.any(tree.internal_count <= 0)
        ):
            raise UnsupportedModel("a tree has a node that no training row reached (count 0)")
        self.base += tree.expected_value()
        self.trees["node_start"].append(len(self.nodes["feature"]))
        self.trees["leaf_start"].append(len(self.leaves["depth"]))
        if tree.num_leaves == 1:  # a constant: it only moves the base value
            self.trees["nodes"].append(0)
            self.tree_leaves.append(0)
            return
        self.trees["nodes"].append(tree.num_leaves - 1)
        self.tree_leaves.append(tree.num_leaves)
        self._walk(tree)
        self.cat_bits.append(tree.cat_threshold)
        self.cat_offset += len(tree.cat_threshold)

    def _walk(self, tree: _Tree) -> None:
        """Depth first from the root: internal nodes renumbered parents first, each leaf with the
        distinct features of its path and their zero fractions (LightGBM's cover ratios)."""
        order: list[int] = []  # original index of each internal node, in the new numbering
        bits: list[int] = []
        paths: dict[int, tuple[tuple[int, ...], tuple[float, ...]]] = {0: ((), ())}
        leaf_paths: dict[int, tuple[tuple[int, ...], tuple[float, ...]]] = {}
        stack = [0]
        while stack:
            node = stack.pop()
            features, zs = paths.pop(node)
            feature = int(tree.split_feature[node])
            bit = features.index(feature) if feature in features else len(features)
            if bit >= MAX_PATH_FEATURES:
                raise UnsupportedModel(f"a path splits on more than {MAX_PATH_FEATURES} features")
            order.append(node)
            bits.append(bit)
            for child in (int(tree.right[node]), int(tree.left[node])):
                share = tree.count(child) / tree.count(node)
                if bit < len(features):
                    path = (features, zs[:bit] + (zs[bit] * share,) + zs[bit + 1 :])
                else:
                    path = (features + (feature,), zs + (share,))
                if child >= 0:
                    paths[child] = path
                    stack.append(child)
                else:
                    leaf_paths[~child] = path
        renumbered = {old: new for new, old in enumerate(order)}
        for old, bit in zip(order, bits, strict=True):
            self._node(tree, old, bit, renumbered)
        for leaf in range(tree.num_leaves):
            features, zs = leaf_paths[leaf]
            self.leaves["depth"].append(len(features))
            self.leaves["path_start"].append(len(self.path_feature))
            self.leaves["value"].append(float(tree.leaf_value[leaf]))
            self.path_feature.extend(features)
            self.path_z.extend(zs)

    def _node(self, tree: _Tree, old: int, bit: int, renumbered: dict[int, int]) -> None:
        flags = int(tree.decision_type[old])
        cat_start = cat_words = 0
        if flags & CATEGORICAL:
            index = int(tree.threshold[old])
            first, end = tree.cat_boundaries[index], tree.cat_boundaries[index + 1]
            cat_start, cat_words = self.cat_offset + int(first), int(end - first)
        left, right = int(tree.left[old]), int(tree.right[old])
        values = {
            "feature": int(tree.split_feature[old]),
            "threshold": float(tree.threshold[old]),
            "flags": flags,
            "cat_start": cat_start,
            "cat_words": cat_words,
            # One index space per tree: internal nodes, then leaves (no branch in the kernel).
            "left": renumbered[left] if left >= 0 else left,
            "right": renumbered[right] if right >= 0 else right,
            "bit": bit,
        }
        for key, value in values.items():
            self.nodes[key].append(value)

    def finish(self, n_features: int) -> _Flat:
        def ints(values: list, dtype: str = "int32") -> np.ndarray:
            return np.asarray(values, dtype=dtype)

        nodes, leaves = self.nodes, self.leaves
        return _Flat(
            tree_node_start=ints(self.trees["node_start"]),
            tree_nodes=ints(self.trees["nodes"]),
            tree_leaf_start=ints(self.trees["leaf_start"]),
            tree_leaves=ints(self.tree_leaves),
            node_feature=ints(nodes["feature"]),
            node_threshold=np.asarray(nodes["threshold"], dtype="float64"),
            node_flags=ints(nodes["flags"]),
            node_cat_start=ints(nodes["cat_start"]),
            node_cat_words=ints(nodes["cat_words"]),
            node_left=ints(nodes["left"]),
            node_right=ints(nodes["right"]),
            node_bit=ints(nodes["bit"]),
            cat_bits=np.concatenate([np.empty(0, "uint32"), *self.cat_bits]).astype("uint32"),
            leaf_depth=ints(leaves["depth"]),
            leaf_path_start=ints(leaves["path_start"], "int64"),
            leaf_value=np.asarray(leaves["value"], dtype="float64"),
            path_feature=ints(self.path_feature),
            path_z=np.asarray(self.path_z, dtype="float64"),
            base=self.base,
            n_features=n_features,
        )


CATEGORICAL = 1  # LightGBM's kCategoricalMask in decision_type
_NODE_FIELDS = ("feature", "threshold", "flags", "cat_start", "cat_words", "left", "right", "bit")


def flatten(model_text: str) -> _Flat:
    """The booster's trees as flat arrays; UnsupportedModel for what the kernel cannot do."""
    header, trees = _sections(model_text)
    if header.get("num_tree_per_iteration", "1").strip() != "1":
        raise UnsupportedModel("the model has more than one tree per iteration (multiclass)")
    if "average_output" in header:
        raise UnsupportedModel("the model averages its trees (random forest mode)")
    builder = _Builder()
    for tree in trees:
        builder.add(_Tree.parse(tree))
    return builder.finish(int(header["max_feature_idx"]) + 1)
