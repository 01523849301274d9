"""Point-in-time correctness and the absence of training/serving skew."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from factories import declarations, seizures

from riskscore.features import pit
from riskscore.features.pipeline import FeatureConfig, FeaturePipeline
from riskscore.features.registry import FEATURES


def _brute_force(keys, days, values, q_keys, q_days, half_life=None):
    rate = pit.decay_rate(half_life)
    out = []
    for qk, qd in zip(q_keys, q_days, strict=True):
        mask = (keys == qk) & (days < qd)
        weights = np.exp(-rate * (qd - days[mask]))
        out.append((values[mask] * weights).sum())
    return np.array(out)


@pytest.mark.parametrize("half_life", [None, 30.0])
def test_asof_sums_match_a_brute_force_count(half_life):
    rng = np.random.default_rng(3)
    keys = rng.choice(["a", "b", "c"], 300)
    days = rng.integers(19_000, 19_200, 300)
    values = rng.random(300)
    q_keys = rng.choice(["a", "b", "c", "never"], 100)
    q_days = rng.integers(19_000, 19_250, 100)
    got = pit.asof_sums(
        pd.Series(keys, dtype="string"),
        days,
        {"v": values},
        pd.Series(q_keys, dtype="string"),
        q_days,
        half_life_days=half_life,
        with_first_day=True,
        with_last_day=True,
    )
    expected = _brute_force(keys, days, values, q_keys, q_days, half_life)
    np.testing.assert_allclose(got["v"], expected)
    for i, (qk, qd) in enumerate(zip(q_keys, q_days, strict=True)):
        before = days[(keys == qk) & (days < qd)]
        expected = (before.min(), before.max()) if len(before) else (np.nan, np.nan)
        np.testing.assert_equal((got["first_day"][i], got["last_day"][i]), expected)


def test_snapshot_gives_the_asof_values_after_its_reference_day():
    rng = np.random.default_rng(4)
    keys = pd.Series(rng.choice(["a", "b"], 200), dtype="string")
    days = rng.integers(19_000, 19_100, 200)
    values = {"v": rng.random(200)}
    snap = pit.Snapshot.build(keys, days, values, ref_day=19_100, half_life_days=45.0)
    q_keys = pd.Series(["a", "b", "zz", "a"], dtype="string")
    q_days = np.array([19_100, 19_130, 19_100, 19_400])
    expected = pit.asof_sums(keys, days, values, q_keys, q_days, half_life_days=45.0)
    got = snap.lookup(q_keys.tolist(), q_days)
    np.testing.assert_allclose(got["v"], expected["v"], rtol=1e-12)


def test_a_batch_lookup_through_the_index_equals_the_dict_lookup(monkeypatch):
    """Large batches gather from an index of the keys; they must read exactly what the
    per-key lookup of single declarations reads, first and last days and unseen keys included,
    and the index must not travel with a pickled model."""
    import pickle

    rng = np.random.default_rng(9)
    keys = pd.Series(rng.choice([f"T{i}" for i in range(50)], 2000), dtype="string")
    days = rng.integers(19_000, 19_100, 2000)
    values = {"n": np.ones(2000), "pos": rng.integers(0, 2, 2000).astype(float)}
    snap = pit.Snapshot.build(
        keys, days, values, ref_day=19_100, half_life_days=30.0, with_first_day=True,
        with_last_day=True,
    )  # fmt: skip
    queries = [*rng.choice([f"T{i}" for i in range(60)], 3000).tolist(), None, "T1", "zz"]
    q_days = rng.integers(19_100, 19_300, len(queries))
    monkeypatch.setattr(pit, "VECTOR_LOOKUP_ROWS", 10**9)
    one_by_one = snap.lookup(queries, q_days)
    monkeypatch.setattr(pit, "VECTOR_LOOKUP_ROWS", 1)
    gathered = snap.lookup(queries, q_days)
    assert set(gathered) == {"n", "pos", "first_day", "last_day"}
    for name, column in one_by_one.items():
        np.testing.assert_array_equal(gathered[name], column)
    assert np.isnan(gathered["first_day"][-1]) and gathered["n"][-3] == 0.0  # "zz", None
    assert "_indexed" in snap.__dict__
    assert "_indexed" not in pickle.loads(pickle.dumps(snap)).__dict__


def _mutate_after(frame: pd.DataFrame, cutoff: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Change every record dated on or after the cutoff, delete some, add new ones."""
    rng = np.random.default_rng(seed)
    later = frame["date"] >= cutoff
    changed = frame.copy()
    changed.loc[later, "label"] = 1 - changed.loc[later, "label"]
    changed.loc[later, "declared_value"] = changed.loc[later, "declared_value"] * 7.0
    changed.loc[later, "importer_id"] = "IMP1"
    changed = changed[~(later & (rng.random(len(frame)) < 0.3))]
    extra = changed[changed["date"] >= cutoff].head(50).copy()
    extra["id"] = "NEW" + extra["id"]
    return pd.concat([changed, extra], ignore_index=True)


def test_changing_the_future_does_not_change_the_past():
    history, seized = declarations(800, seed=5), seizures(150, seed=6)
    cutoff = pd.Timestamp("2024-07-01")
    pipeline = FeaturePipeline()
    before = pipeline.historical(history, seized)

    future_history = _mutate_after(history, cutoff, seed=7)
    future_seized = seized[seized["date"] < cutoff]  # delete every later seizure...
    extra = seized[seized["date"] >= cutoff].assign(origin_country="EC", hs_code="10063000")
    future_seized = pd.concat([future_seized, extra], ignore_index=True)  # ...and add others
    after = pipeline.historical(future_history, future_seized)

    past = history["date"] < cutoff
    assert past.sum() > 200
    ids_before = history.loc[past, "id"].to_numpy()
    by_id = after.set_index(future_history["id"].to_numpy())
    pd.testing.assert_frame_equal(
        before[past.to_numpy()].set_index(ids_before),
        by_id.loc[ids_before],
        check_exact=True,
    )
    # ...while the mutation did change later rows, so the check can fail.
    later_ids = history.loc[~past, "id"]
    later_ids = later_ids[later_ids.isin(future_history["id"])].to_numpy()
    assert (
        not before.set_index(history["id"].to_numpy()).loc[later_ids].equals(by_id.loc[later_ids])
    )


def test_outcomes_count_only_after_the_lag():
    history = declarations(400, seed=8)
    pipeline = FeaturePipeline(FeatureConfig(outcome_lag_days=60))
    table = pipeline.historical(history, seizures(0))
    early = (history["date"] - history["date"].min()).dt.days < 60
    assert (table.loc[early.to_numpy(), "importer_offences"] == 0).all()
    assert (table.loc[~early.to_numpy(), "importer_offences"] > 0).any()


def test_one_declaration_at_a_time_equals_the_batch():
    history, seized = declarations(700, seed=9), seizures(150, seed=10)
    as_of = pd.Timestamp("2024-10-01")
    pipeline = FeaturePipeline().fit(
        history[history["date"] < as_of], seized[seized["date"] < as_of], as_of
    )
    new = declarations(300, seed=11, start="2024-10-01")
    new.loc[new.index[:5], "importer_id"] = "BRAND-NEW-TRADER"
    new.loc[new.index[5:10], "origin_country"] = "ZZ"
    new.loc[new.index[10:15], "hs_code"] = "01012100"
    new.loc[new.index[15:20], "goods_description"] = pd.NA
    batch = pipeline.transform(new)
    singles = pd.concat([pipeline.transform(new.iloc[[i]]) for i in range(len(new))])
    pd.testing.assert_frame_equal(batch, singles, check_exact=True)
    assert list(batch.columns) == [f.name for f in FEATURES]


def test_serving_state_reproduces_the_historical_features():
    history, seized = declarations(900, seed=12), seizures(200, seed=13)
    day = pd.Timestamp("2024-11-15")
    history = history[history["date"] <= day]
    pipeline = FeaturePipeline()
    historical = pipeline.historical(history, seized[seized["date"] < day])
    on_day = (history["date"] == day).to_numpy()
    assert on_day.sum() >= 1
    pipeline.fit(history[~on_day], seized[seized["date"] < day], day)
    served = pipeline.transform(history[on_day])
    expected = historical[on_day]
    for feature in FEATURES:
        if feature.categorical:
            assert served[feature.name].equals(expected[feature.name]), feature.name
        else:
            np.testing.assert_allclose(
                served[feature.name], expected[feature.name], rtol=1e-9, err_msg=feature.name
            )


def test_unknown_values_and_new_traders_get_defined_values():
    history = declarations(300, seed=14)
    pipeline = FeaturePipeline().fit(history, seizures(50), pd.Timestamp("2025-01-01"))
    odd = history.head(3).copy()
    odd["importer_id"] = ["NEVER-SEEN", pd.NA, ""]
    odd["hs_code"] = ["97011000", pd.NA, "0101"]
    odd["origin_country"] = ["ZZ", pd.NA, "AQ"]
    odd["declared_value"] = [np.nan, 0.0, 1e12]
    odd["gross_weight_kg"] = [0.0, np.nan, 1.0]
    odd["transport_mode"] = [pd.NA, "unknown", "rail"]
    table = pipeline.transform(odd)
    assert table.loc[odd.index[0], "importer_declarations"] == 0
    assert table.loc[odd.index[0], "importer_days_known"] == 0
    assert table.loc[odd.index[0], "importer_days_since_offence"] == 3650
    rates = table[[f.name for f in FEATURES if f.name.endswith("hit_rate")]]
    assert rates.notna().all().all()
    assert ((rates >= 0) & (rates <= 1)).all().all()
