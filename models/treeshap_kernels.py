"""The compiled parts of models.treeshap: filling the leaf tables, and explaining rows.

numba compiles these on first use and caches the machine code on disk, so only the first process
after an install pays the compilation (a few seconds). Array layout: models.treeshap._Flat.
"""

from __future__ import annotations

import numba
import numpy as np

ZERO = 1.0000000180025095e-35  # LightGBM's kZeroThreshold (1e-35f): below it an input is zero
DEFAULT_LEFT = 2  # decision_type bits, LightGBM's tree.h
MISSING_ZERO = 1
MISSING_NAN = 2
CHUNK = 256  # rows explained together, tree by tree, so one tree's tables stay in cache


@numba.njit(cache=True, nogil=True)
def fill_tables(depth, path_start, path_z, value, table_start, table):  # noqa: ANN001, ANN201
    """T_l[A] = v_l · Σ_{S⊆A} w(|S|) · Π_{k∈P_l∖S} z_k for every leaf l and subset A of its
    path features P_l, with w(s) = s!(d-s-1)!/d! the Shapley weight (w(d) = 0)."""
    for leaf in range(len(depth)):
        d = depth[leaf]
        z = path_z[path_start[leaf] : path_start[leaf] + d]
        start = table_start[leaf]
        if start < 0:  # no table: computed from its polynomial
            continue
        if d == 0:
            table[start] = 0.0
            continue
        weight = np.zeros(d + 1)
        weight[0] = 1.0 / d
        for s in range(1, d):
            weight[s] = weight[s - 1] * s / (d - s)
        # level L: polynomial coefficients g_k after deciding bits d-1 .. d-L of the subset A
        # (a bit in A: its feature is in S (k + 1) or in A∖S (× z); not in A: × z).
        g = np.zeros((d + 1, d + 1))
        g[0, 0] = 1.0
        first_level = 1
        for mask in range(1 << d):
            if mask > 0:
                low = 0
                while not (mask >> low) & 1:
                    low += 1
                first_level = d - low  # bits above `low` are as for the previous mask
            for level in range(first_level, d + 1):
                bit = d - level
                zb = z[bit]
                for k in range(level + 1):
                    g[level, k] = g[level - 1, k] * zb if k < level else 0.0
                if (mask >> bit) & 1:
                    for k in range(1, level + 1):
                        g[level, k] += g[level - 1, k - 1]
            total = 0.0
            for k in range(d):
                total += weight[k] * g[d, k]
            table[start + mask] = value[leaf] * total


@numba.njit(inline="always")
def _goes_left(x, flags, threshold, cat_start, cat_words, cat_bits):  # noqa: ANN001, ANN202
    """LightGBM's Tree::Decision for one value: True for the left child."""
    if flags & 1:  # categorical: NaN, negatives and codes outside the bitset go right
        if np.isnan(x):
            return False
        code = int(x)
        if code < 0:
            return False
        word = code // 32
        if word >= cat_words:
            return False
        return (cat_bits[cat_start + word] >> np.uint32(code % 32)) & np.uint32(1) == 1
    missing = (flags >> 2) & 3
    if np.isnan(x):
        if missing == MISSING_NAN:
            return (flags & DEFAULT_LEFT) != 0
        x = 0.0
    if missing == MISSING_ZERO and -ZERO <= x <= ZERO:
        return (flags & DEFAULT_LEFT) != 0
    return x <= threshold


@numba.njit(cache=True, nogil=True)
def _leaf_by_polynomial(out, row, subset, d, p, value, path_z, path_feature, weights, g):  # noqa: ANN001, ANN202, PLR0913
    """A leaf's contributions without a table, O(d·|A|): g holds Σ_{S⊆A} x^|S| Π_{k∉S} z_k;
    dividing it by (z_j + x), top coefficient first (no division, stable for z ≤ 1), gives the
    polynomial with j cold, whose weighted sum is T[A∖{j}] · z_j / v."""
    m = 0
    g[0] = 1.0
    for b in range(d):
        zb = path_z[p + b]
        if (subset >> b) & 1:
            g[m + 1] = g[m]
            for k in range(m, 0, -1):
                g[k] = g[k] * zb + g[k - 1]
            g[0] = g[0] * zb
            m += 1
        else:
            for k in range(m + 1):
                g[k] *= zb
    w = weights[d]
    here = 0.0
    for k in range(m + 1):
        here += w[k] * g[k]
    here *= value
    for b in range(d):
        feature = path_feature[p + b]
        if (subset >> b) & 1:
            zb = path_z[p + b]
            h = g[m]
            total = w[m - 1] * h
            for k in range(m - 1, 0, -1):
                h = g[k] - zb * h
                total += w[k - 1] * h
            out[row, feature] += value * (1.0 - zb) * total
        else:
            out[row, feature] -= here


@numba.njit(cache=True, nogil=True)
def _explain_chunk(  # noqa: ANN202, PLR0913
    x, out, first, last, tree_node_start, tree_nodes, tree_leaf_start, tree_leaves,
    node_feature, node_threshold, node_flags, node_cat_start, node_cat_words, node_left,
    node_right, node_bit, cat_bits, leaf_depth, leaf_path_start, leaf_table_start,
    path_feature, path_coef, table, mask, leaf_mask, leaf_value, path_z, weights, poly,
    tree_first, tree_last,
):  # fmt: skip  # noqa: ANN001
    """Rows first..last-1, trees tree_first..tree_last-1, tree by tree. A mask bit per path
    feature says whether the row follows the path on that feature (hot); a cold split clears
    it. At leaf l with mask A:
    φ_j += (1-z_j)/z_j · T_l[A∖{j}] when j is hot, φ_j -= T_l[A] when it is not."""
    for tree in range(tree_first, tree_last):
        nodes = tree_nodes[tree]
        if nodes == 0:
            continue
        n0 = tree_node_start[tree]
        l0 = tree_leaf_start[tree]
        leaves = tree_leaves[tree]
        for row in range(first, last):
            mask[0] = -1
            for node in range(nodes):
                g = n0 + node
                value = x[row, node_feature[g]]
                if -ZERO <= value <= ZERO:  # LightGBM's dense input: tiny values are zero
                    value = 0.0
                left = _goes_left(
                    value, node_flags[g], node_threshold[g], node_cat_start[g],
                    node_cat_words[g], cat_bits,
                )  # fmt: skip
                hot = mask[node]
                cold = hot & ~(np.int64(1) << node_bit[g])
                child = node_left[g]
                m = hot if left else cold
                if child >= 0:
                    mask[child] = m
                else:
                    leaf_mask[~child] = m
                child = node_right[g]
                m = cold if left else hot
                if child >= 0:
                    mask[child] = m
                else:
                    leaf_mask[~child] = m
            for leaf in range(leaves):
                gl = l0 + leaf
                d = leaf_depth[gl]
                subset = leaf_mask[leaf] & ((np.int64(1) << d) - 1)
                start = leaf_table_start[gl]
                p = leaf_path_start[gl]
                if start < 0:  # a deep leaf: no table, its polynomial instead
                    _leaf_by_polynomial(
                        out, row, subset, d, p, leaf_value[gl], path_z, path_feature, weights,
                        poly,
                    )  # fmt: skip
                    continue
                here = table[start + subset]
                for j in range(d):
                    # Branch-free: hot or cold is a coin toss per feature, a branch would
                    # mispredict half the time. For a cold j, A ∖ {j} = A: the line just read.
                    hot = np.float64((subset >> j) & 1)
                    other = table[start + (subset & ~(np.int64(1) << j))]
                    out[row, path_feature[p + j]] += (
                        hot * path_coef[p + j] * other - (1.0 - hot) * here
                    )


@numba.njit(cache=True, nogil=True)
def explain_serial(  # noqa: ANN201, PLR0913
    x, out, tree_node_start, tree_nodes, tree_leaf_start, tree_leaves, node_feature,
    node_threshold, node_flags, node_cat_start, node_cat_words, node_left, node_right, node_bit,
    cat_bits, leaf_depth, leaf_path_start, leaf_table_start, path_feature, path_coef, table,
    leaf_value, path_z, weights, max_nodes, max_leaves, tree_first, tree_last,
):  # fmt: skip  # noqa: ANN001
    """Every row on this thread, trees tree_first..tree_last-1 (added into `out`)."""
    mask = np.empty(max_nodes, dtype=np.int64)
    leaf_mask = np.empty(max_leaves, dtype=np.int64)
    poly = np.empty(weights.shape[0] + 1)
    n = x.shape[0]
    for first in range(0, n, CHUNK):
        _explain_chunk(
            x, out, first, min(n, first + CHUNK), tree_node_start, tree_nodes, tree_leaf_start,
            tree_leaves, node_feature, node_threshold, node_flags, node_cat_start,
            node_cat_words, node_left, node_right, node_bit, cat_bits, leaf_depth,
            leaf_path_start, leaf_table_start, path_feature, path_coef, table, mask,
            leaf_mask, leaf_value, path_z, weights, poly, tree_first, tree_last,
        )  # fmt: skip


@numba.njit(cache=True, nogil=True, parallel=True)
def explain_parallel(  # noqa: ANN201, PLR0913
    x, out, tree_node_start, tree_nodes, tree_leaf_start, tree_leaves, node_feature,
    node_threshold, node_flags, node_cat_start, node_cat_words, node_left, node_right, node_bit,
    cat_bits, leaf_depth, leaf_path_start, leaf_table_start, path_feature, path_coef, table,
    leaf_value, path_z, weights, max_nodes, max_leaves, tree_first, tree_last,
):  # fmt: skip  # noqa: ANN001
    """Chunks of rows spread over numba's threads, trees tree_first..tree_last-1."""
    n = x.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    for c in numba.prange(chunks):
        mask = np.empty(max_nodes, dtype=np.int64)
        leaf_mask = np.empty(max_leaves, dtype=np.int64)
        poly = np.empty(weights.shape[0] + 1)
        first = c * CHUNK
        _explain_chunk(
            x, out, first, min(n, first + CHUNK), tree_node_start, tree_nodes, tree_leaf_start,
            tree_leaves, node_feature, node_threshold, node_flags, node_cat_start,
            node_cat_words, node_left, node_right, node_bit, cat_bits, leaf_depth,
            leaf_path_start, leaf_table_start, path_feature, path_coef, table, mask,
            leaf_mask, leaf_value, path_z, weights, poly, tree_first, tree_last,
        )  # fmt: skip
