"""Population stability: bins, PSI, the reference a model carries and the serving monitor."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.models.drift import (
    FLOOR,
    SCORE,
    Bins,
    DriftReference,
    drift_table,
    level,
    psi,
    relied_on_drift,
)
from riskscore.serving.drift_monitor import DriftMonitor

NAMES = ["value", "mode"]


def _traffic(n: int, seed: int, shift: float = 0.0, air: float = 0.2) -> tuple:
    """A numeric input (lognormal, shifted in log space), a categorical code and a raw score."""
    rng = np.random.default_rng(seed)
    value = rng.lognormal(3 + shift, 1, n)
    value[rng.random(n) < 0.05] = np.nan
    mode = np.where(rng.random(n) < air, 1.0, rng.integers(2, 6, n).astype(float))
    raw = rng.normal(-3, 1, n) + 0.3 * shift
    return np.column_stack([value, mode]), raw


def _reference(n: int = 20_000) -> DriftReference:
    matrix, raw = _traffic(n, seed=0)
    return DriftReference.fit(matrix, raw, NAMES, ["mode"], "test window")


def test_same_population_is_stable_and_a_shift_is_major():
    reference = _reference()
    same = reference.psi(reference.counts(*_traffic(20_000, seed=1)))
    assert max(same.values()) < 0.01
    moved = reference.psi(reference.counts(*_traffic(20_000, seed=1, shift=1.0, air=0.6)))
    assert moved["value"] > 0.25 and moved["mode"] > 0.25 and moved[SCORE] > 0.05
    assert level(moved["value"]) == "major" and level(0.15) == "moderate"
    assert level(0.01) == "stable"


def test_psi_matches_its_definition_and_floors_empty_bins():
    expected = (0.5, 0.3, 0.2, 0.0)
    counts = np.array([40, 40, 20, 0])
    a = counts / counts.sum()
    e = np.maximum(np.array(expected), FLOOR)
    manual = np.sum((np.maximum(a, FLOOR) - e) * np.log(np.maximum(a, FLOOR) / e))
    assert psi(expected, counts) == pytest.approx(manual)
    assert psi(expected, np.zeros(4)) == 0.0
    assert np.isfinite(psi((1.0, 0.0), np.array([0, 10])))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False) | st.just(float("nan")), max_size=300),
)
def test_every_value_falls_in_exactly_one_bin(reference_values, values):
    bins = Bins.fit("x", np.array(reference_values), categorical=False)
    counts = bins.counts(np.array(values, dtype="float64"))
    assert counts.sum() == len(values) and len(counts) == bins.size
    assert sum(bins.expected) == pytest.approx(1.0)
    assert len(bins.labels()) == bins.size


def test_categories_outside_the_top_codes_share_other_and_missing_has_its_bin():
    codes = np.concatenate([np.repeat(np.arange(30.0), np.arange(30, 0, -1)), [np.nan] * 10])
    bins = Bins.fit("hs2", codes, categorical=True)
    assert len(bins.codes) == 20 and set(bins.codes) == set(range(20))
    index = bins.index(np.array([0.0, 19.0, 25.0, 99.0, np.nan]))
    assert list(index) == [0, 19, 20, 20, 21]


def test_the_reference_survives_json_as_model_info_stores_it():
    reference = _reference(2_000)
    again = DriftReference.from_dict(json.loads(json.dumps(reference.to_dict())))
    assert again == reference


def test_relied_on_drift_ignores_inputs_the_model_does_not_use():
    reference = _reference()
    counts = reference.counts(*_traffic(5_000, seed=2, shift=1.5))
    info = {
        "importance": [
            {"feature": "value", "mean_abs_shap": 0.001},  # 0.1 %: not relied on
            {"feature": "mode", "mean_abs_shap": 0.999},
        ]
    }
    table = drift_table(reference, counts, info)
    assert table.set_index("feature").loc["value", "psi"] > 0.25
    value, feature = relied_on_drift(table)
    assert feature in ("mode", SCORE) and value < table["psi"].max()


def _scored(matrix: np.ndarray, raw: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(matrix=matrix, raw=raw)


def test_the_monitor_keeps_a_window_and_restarts_for_another_model():
    reference = _reference()
    model = SimpleNamespace(info={"drift_reference": reference.to_dict()})
    monitor = DriftMonitor(window=3_000, pending_rows=1_000)
    assert monitor.snapshot() is None
    for seed in range(10):  # stable traffic, in requests of 500
        monitor.observe(model, _scored(*_traffic(500, seed=100 + seed)))
    stable = monitor.snapshot()
    assert 3_000 <= stable.rows < 4_000 and stable.psi["value"] < 0.05
    for seed in range(10):  # then moved traffic pushes the stable batches out of the window
        monitor.observe(model, _scored(*_traffic(500, seed=200 + seed, shift=1.0)))
    moved = monitor.snapshot()
    assert moved.rows < 4_000 and moved.psi["value"] > 0.25
    other = SimpleNamespace(info={"drift_reference": _reference(3_000).to_dict()})
    monitor.observe(other, _scored(*_traffic(100, seed=3)))
    assert monitor.snapshot().rows == 100
    no_reference = SimpleNamespace(info={})
    monitor.observe(no_reference, _scored(*_traffic(100, seed=4)))
    assert monitor.snapshot() is None
    names = {m.name for m in monitor.collect()}
    assert names == {"riskscore_feature_psi", "riskscore_score_psi", "riskscore_drift_declarations"}
