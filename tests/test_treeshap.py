"""The table TreeSHAP kernel against LightGBM's own pred_contrib, the oracle.

Random models (depths, leaves, categorical and numerical splits, every missing-value rule, one to
a thousand trees) and inputs that probe each decision rule: NaN, zero, values below LightGBM's
zero threshold, negative and unseen category codes, infinities, codes beyond 2^31.
"""

from __future__ import annotations

import re

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskscore.models.treeshap import (
    PRED_CONTRIB,
    TABLE_DEPTH,
    TABLES,
    UnsupportedModel,
    build_explainer,
    flatten,
)

TOLERANCE = 1e-9
SPECIAL = np.array([np.nan, 0.0, 1e-36, -1e-36, 1e-35, -5.0, np.inf, -np.inf, 3e9, 1e300])


def _data(seed: int, rows: int, missing: float, categories: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    x[:, 1] = np.round(x[:, 1])  # many exact zeros: zero-as-missing has something to do
    x[:, 4] = rng.integers(0, categories, rows)
    x[:, 5] = rng.integers(0, 3, rows)
    for column in (0, 2, 4):
        x[rng.random(rows) < missing, column] = np.nan
    signal = np.nan_to_num(x[:, 0]) + np.isin(x[:, 4], [1, 3, 7, 20]) - 0.5 * x[:, 5]
    y = (signal + rng.normal(scale=0.8, size=rows) > 0.5).astype(float)
    return x, y


def _probe(x: np.ndarray, seed: int) -> np.ndarray:
    """Training-like rows, then rows with a special value in each column, unseen categories."""
    rng = np.random.default_rng(seed + 1)
    rows = [x[rng.choice(len(x), size=60)]]
    for column in range(x.shape[1]):
        block = np.repeat(x[rng.choice(len(x), size=1)], len(SPECIAL), axis=0)
        block[:, column] = SPECIAL
        rows.append(block)
    unseen = x[:4].copy()
    unseen[:, 4] = [50, 63, 64, 1000]  # outside every bitset
    rows.append(unseen)
    return np.vstack(rows)


def _check_exact(booster: lgb.Booster, probe: np.ndarray, table_depth: int = TABLE_DEPTH) -> None:
    explainer = build_explainer(booster, cap_bytes=2**30, table_depth=table_depth)
    assert explainer.info.kind == TABLES, explainer.info.fallback_reason
    assert explainer.info.table_depth == table_depth
    expected = booster.predict(probe, pred_contrib=True)
    got = explainer.contributions(probe)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    raw = booster.predict(probe, raw_score=True)
    np.testing.assert_allclose(got.sum(axis=1), raw, rtol=0, atol=TOLERANCE)
    # Row by row (the API's path) gives the same numbers as the batch.
    for i in (0, len(probe) // 2, len(probe) - 1):
        np.testing.assert_allclose(
            explainer.contributions(probe[i : i + 1])[0], expected[i], rtol=0, atol=TOLERANCE
        )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    seed=st.integers(0, 10_000),
    leaves=st.sampled_from([2, 3, 7, 15, 31, 63]),
    depth=st.sampled_from([-1, 2, 4, 8]),
    rounds=st.integers(1, 40),
    missing=st.sampled_from([0.0, 0.15]),
    rule=st.sampled_from(["nan", "zero", "none"]),
    table_depth=st.sampled_from([TABLE_DEPTH, 2, -1]),  # tables, mixed, polynomials only
    categories=st.sampled_from([4, 40]),
    min_leaf=st.sampled_from([1, 5, 40]),
)
def test_contributions_equal_pred_contrib(
    seed: int,
    leaves: int,
    depth: int,
    rounds: int,
    missing: float,
    rule: str,
    categories: int,
    min_leaf: int,
    table_depth: int,
) -> None:
    x, y = _data(seed, 400, missing, categories)
    params = {
        "objective": "binary",
        "num_leaves": leaves,
        "max_depth": depth,
        "min_data_in_leaf": min_leaf,
        "min_data_per_group": 5,
        "cat_smooth": 1.0,
        "max_cat_to_onehot": 4,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "seed": seed,
        "verbose": -1,
        # "zero": zeros (and NaN) are missing; "none": missing values are not treated apart.
        "zero_as_missing": rule == "zero",
        "use_missing": rule != "none",
    }
    data = lgb.Dataset(x, y, categorical_feature=[4, 5], free_raw_data=False)
    booster = lgb.train(params, data, num_boost_round=rounds)
    _check_exact(booster, _probe(x, seed), table_depth)


def test_every_decision_rule_is_exercised() -> None:
    """The random models above do contain each kind of split the kernel copies."""
    seen: set[tuple[int, int, int]] = set()  # (categorical, default left, missing type)
    for seed, rule in [(1, "nan"), (2, "zero"), (3, "none"), (4, "nan")]:
        x, y = _data(seed, 2000, 0.15, 40)
        booster = lgb.train(
            {
                "objective": "binary",
                "num_leaves": 31,
                "verbose": -1,
                "zero_as_missing": rule == "zero",
                "use_missing": rule != "none",
                "min_data_per_group": 5,
            },
            lgb.Dataset(x, y, categorical_feature=[4, 5]),
            num_boost_round=20,
        )
        flat = flatten(booster.model_to_string())
        for flags in flat.node_flags.tolist():
            seen.add((flags & 1, (flags >> 1) & 1, (flags >> 2) & 3))
        _check_exact(booster, _probe(x, seed))
    assert any(cat for cat, _, _ in seen), "no categorical split"
    assert {missing for cat, _, missing in seen if not cat} >= {0, 1, 2}, seen
    assert {left for cat, left, missing in seen if not cat and missing} == {0, 1}, seen


def test_thousand_trees_and_one_leaf_trees() -> None:
    x, y = _data(5, 3000, 0.1, 40)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, "learning_rate": 0.3, "verbose": -1},
        lgb.Dataset(x, y, categorical_feature=[4, 5]),
        num_boost_round=1000,
    )
    assert booster.num_trees() == 1000
    _check_exact(booster, _probe(x, 5))
    # Trees that cannot split (every leaf needs more rows than there are) are constants.
    stumps = lgb.train(
        {"objective": "binary", "min_data_in_leaf": 5000, "verbose": -1},
        lgb.Dataset(x, y),
        num_boost_round=3,
    )
    explainer = build_explainer(stumps, cap_bytes=2**20)
    got = explainer.contributions(x[:5])
    np.testing.assert_allclose(got, stumps.predict(x[:5], pred_contrib=True), atol=TOLERANCE)
    assert np.all(got[:, :-1] == 0)


def test_deep_unconstrained_model() -> None:
    x, y = _data(9, 6000, 0.1, 40)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 255, "min_data_in_leaf": 2, "verbose": -1},
        lgb.Dataset(x, y, categorical_feature=[4, 5]),
        num_boost_round=5,
    )
    explainer = build_explainer(booster, cap_bytes=2**30)
    assert explainer.info.max_path_features == 6  # every feature on some path
    for depth in (TABLE_DEPTH, 3, -1):
        _check_exact(booster, _probe(x, 9), depth)


def _small_model() -> lgb.Booster:
    x, y = _data(11, 500, 0.1, 8)
    return lgb.train(
        {"objective": "binary", "num_leaves": 15, "verbose": -1},
        lgb.Dataset(x, y, categorical_feature=[4]),
        num_boost_round=10,
    )


def test_the_cap_limits_the_tables_and_the_values_stay_exact() -> None:
    booster = _small_model()
    x = _probe(_data(11, 500, 0.1, 8)[0], 11)
    expected = booster.predict(x, pred_contrib=True)
    full = build_explainer(booster, cap_bytes=2**30)
    assert full.info.note is None and full.info.table_bytes > 0
    smaller = build_explainer(booster, cap_bytes=full.info.table_bytes - 1)
    assert smaller.info.table_depth < full.info.table_depth
    assert 0 < smaller.info.table_bytes < full.info.table_bytes
    assert "above the cap" in (smaller.info.note or "")
    none = build_explainer(booster, cap_bytes=0)
    assert none.info.table_bytes == 0 and none.info.table_depth == -1
    for explainer in (smaller, none):
        assert explainer.info.kind == TABLES and explainer.info.fallback_reason is None
        np.testing.assert_allclose(explainer.contributions(x), expected, rtol=0, atol=TOLERANCE)


def test_a_model_the_kernel_cannot_do_is_explained_by_pred_contrib() -> None:
    x, y = _data(12, 600, 0.0, 8)
    multiclass = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1},
        lgb.Dataset(x, (y + (x[:, 2] > 1)).astype(int)),
        num_boost_round=3,
    )
    explainer = build_explainer(multiclass, cap_bytes=2**30)
    assert explainer.info.kind == PRED_CONTRIB
    assert "multiclass" in (explainer.info.fallback_reason or "")
    np.testing.assert_array_equal(
        explainer.contributions(x[:5]), multiclass.predict(x[:5], pred_contrib=True)
    )


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: re.sub(r"leaf_count=\d+", "leaf_count=0", t, count=1), "count 0"),
        (lambda t: t.replace("is_linear=0", "is_linear=1", 1), "linear trees"),
        (lambda t: t.replace("num_tree_per_iteration=1", "num_tree_per_iteration=3"), "multiclass"),
        (lambda t: t.replace("objective=", "average_output\nobjective=", 1), "random forest"),
    ],
)
def test_what_the_kernel_does_not_do_is_refused(edit, reason: str) -> None:  # noqa: ANN001
    text = _small_model().model_to_string()
    with pytest.raises(UnsupportedModel, match=reason):
        flatten(edit(text))


def test_wrong_width_is_an_error_not_garbage() -> None:
    explainer = build_explainer(_small_model(), cap_bytes=2**30)
    with pytest.raises(ValueError, match="6 columns"):
        explainer.contributions(np.zeros((2, 5)))


def _edit_arrays(text: str, key: str, change) -> str:  # noqa: ANN001
    """Apply `change` to the values of `key=` on every tree of a model text."""
    out = []
    for line in text.split("\n"):
        if line.startswith("tree_sizes="):
            continue  # byte offsets of the trees: wrong once a value is rewritten
        if line.startswith(f"{key}="):
            values = line.partition("=")[2].split()
            line = f"{key}=" + " ".join(change(values))
        out.append(line)
    return "\n".join(out)


def test_edge_values_on_hand_edited_models() -> None:
    """Thresholds inside LightGBM's zero band and full bitsets: the rules that trained models
    rarely reach (tiny inputs read as zero; negative codes go right whatever the bitset)."""
    x, y = _data(13, 2000, 0.1, 40)
    trained = lgb.train(
        {"objective": "binary", "num_leaves": 15, "verbose": -1, "min_data_per_group": 5},
        lgb.Dataset(x, y, categorical_feature=[4, 5]),
        num_boost_round=10,
    )
    text = _edit_arrays(
        trained.model_to_string(),
        "threshold",
        lambda values: ["1e-40" if "." in v or "e" in v else v for v in values],
    )
    text = _edit_arrays(text, "cat_threshold", lambda values: ["4294967295"] * len(values))
    booster = lgb.Booster(model_str=text)
    tiny = np.array([0.0, 1e-36, -1e-36, 5e-41, -5e-41, 1.000000005e-35, 2e-35, -2e-35, np.nan])
    probe = np.repeat(x[:1], len(tiny) * 3, axis=0)
    for column in range(6):
        block = np.repeat(x[:1], len(tiny), axis=0)
        block[:, column] = tiny
        probe = np.vstack([probe, block])
    codes = np.repeat(x[:1], 6, axis=0)
    codes[:, 4] = [-1, -0.5, -32, 0.9, 31, 32]
    codes[:, 5] = [-1, -33, 2.5, -0.0, 1e10, 0]
    _check_exact(booster, np.vstack([probe, codes]))


def test_concurrent_calls_from_threads_give_the_same_values() -> None:
    """Serving calls the explainer from a thread pool: batches (parallel kernel) and single rows
    (serial kernel) at once."""
    from concurrent.futures import ThreadPoolExecutor

    booster = _small_model()
    x = _probe(_data(11, 500, 0.1, 8)[0], 11)
    big = np.vstack([x] * 3)  # above SERIAL_ROWS: the parallel kernel
    explainer = build_explainer(booster, cap_bytes=2**30)
    expected_big = booster.predict(big, pred_contrib=True)

    def one(i: int) -> bool:
        if i % 2:
            got = explainer.contributions(big)
            return bool(np.allclose(got, expected_big, rtol=0, atol=TOLERANCE))
        row = x[i % len(x) : i % len(x) + 1]
        return bool(
            np.allclose(explainer.contributions(row), booster.predict(row, pred_contrib=True))
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert all(pool.map(one, range(60)))


def test_few_rows_of_a_model_with_large_tables_split_over_cores(monkeypatch) -> None:  # noqa: ANN001
    """Tables too large for the caches: single rows take the polynomials, each range of trees
    on its own thread, and the sum is still pred_contrib's."""
    from riskscore.models import treeshap

    monkeypatch.setattr(treeshap, "CACHED_TABLE_BYTES", 1)
    monkeypatch.setattr(treeshap, "SPLIT_LEAVES", 1)
    monkeypatch.setattr(treeshap.os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    x, y = _data(14, 2000, 0.1, 40)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 31, "verbose": -1},
        lgb.Dataset(x, y, categorical_feature=[4, 5]),
        num_boost_round=40,
    )
    explainer = build_explainer(booster, cap_bytes=2**30)
    assert len(explainer._ranges) == 3 and np.all(explainer._few_rows_tables == -1)
    assert explainer.info.few_rows == "polynomials, 3 threads"
    monkeypatch.setattr(treeshap, "CACHED_TABLE_BYTES", 2**30)
    assert build_explainer(booster, cap_bytes=2**30).info.few_rows == "tables, 1 thread"
    probe = _probe(x, 14)
    expected = booster.predict(probe, pred_contrib=True)
    for i in range(0, len(probe), 7):
        got = explainer.contributions(probe[i : i + 1])
        np.testing.assert_allclose(got[0], expected[i], rtol=0, atol=TOLERANCE)
    # A batch still reads the tables, all trees in one call.
    np.testing.assert_allclose(explainer.contributions(probe), expected, rtol=0, atol=TOLERANCE)


@given(
    leaves=st.lists(st.integers(0, 255), min_size=0, max_size=40),
    parts=st.integers(1, 5),
)
def test_tree_ranges_cover_every_tree_once(leaves: list[int], parts: int) -> None:
    from riskscore.models.treeshap import tree_ranges

    ranges = tree_ranges(np.array(leaves, dtype=np.int32), parts)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(leaves)
    assert all(a < b for a, b in ranges) or not leaves
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    assert len(ranges) <= max(parts, 1)
    if parts > 1 and len(ranges) == parts:
        sums = [sum(leaves[a:b]) for a, b in ranges]
        assert max(sums) <= sum(leaves) / parts + max(leaves)  # balanced to within one tree
