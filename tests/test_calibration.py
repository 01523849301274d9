"""The calibrated score ranks as the raw score does, and is still a calibrated probability.

Issue 11: the isotonic step function mapped thousands of raw scores onto a few dozen values, so
the top N by `score` was a draw among ties. `Calibrator` now joins the isotonic blocks in logit
space and extrapolates beyond them: strictly increasing everywhere, strictly inside (0, 1).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.models.metrics import probability_quality
from riskscore.models.risk_model import Calibrator


def _grid(raw: np.ndarray, margin: float = 3.0) -> np.ndarray:
    """Every raw score of the data and a dense grid from well below to well above them."""
    low, high = float(raw.min()) - margin, float(raw.max()) + margin
    # Rounded: two points 1e-15 apart would be one score in float64, which is not a tie.
    return np.unique(np.round(np.concatenate([np.linspace(low, high, 4001), raw]), 9))


def _assert_strictly_increasing(calibrator: Calibrator, grid: np.ndarray) -> None:
    score = calibrator(grid)
    assert np.all((score > 0) & (score < 1)), (score.min(), score.max())
    # float64 cannot tell probabilities apart within a few 1e-16 of 1: checked below that.
    below = score < 1 - 1e-13
    assert below[(grid >= calibrator.x[0]) & (grid <= calibrator.x[-1])].all()
    steps = np.diff(score[below])
    assert np.all(steps > 0), grid[below][np.flatnonzero(steps <= 0)][:5]


def _logistic_data(n: int, seed: int, slope: float = 0.8, intercept: float = 0.5) -> tuple:
    rng = np.random.default_rng(seed)
    raw = rng.normal(-2.5, 1.6, n)
    truth = 1 / (1 + np.exp(-(intercept + slope * raw)))
    return raw, (rng.random(n) < truth).astype("float64"), truth


@pytest.mark.parametrize("seed", range(6))
def test_strictly_increasing_with_ties_and_pure_end_blocks(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 3000))
    # Coarse raw scores: many ties, as a booster with few trees gives.
    raw = np.round(rng.normal(0, 2, n), int(rng.integers(0, 2)))
    p = 1 / (1 + np.exp(-2 * raw))
    label = (rng.random(n) < p).astype("float64")
    label[raw < np.quantile(raw, 0.2)] = 0  # the lowest block all 0
    label[raw > np.quantile(raw, 0.9)] = 1  # the highest all 1
    calibrator = Calibrator.fit(raw, label)
    assert calibrator.method == "isotonic-logit"
    assert len(calibrator.x) >= 2
    # The pure end blocks were pulled inside (0, 1), not left at 0 and 1.
    assert 0 < calibrator.y[0] < calibrator.y[1] and calibrator.y[-2] < calibrator.y[-1] < 1
    _assert_strictly_increasing(calibrator, _grid(raw))
    # Tied raw scores get one score.
    tied = calibrator(raw)
    for value in np.unique(raw)[:20]:
        assert np.ptp(tied[raw == value]) == 0


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-40, 40), st.booleans()),
        min_size=2,
        max_size=300,
    )
)
def test_strictly_increasing_on_any_data(rows):
    raw = np.array([r / 4 for r, _ in rows], dtype="float64")  # ties on purpose
    label = np.array([float(y) for _, y in rows])
    calibrator = Calibrator.fit(raw, label)
    assert calibrator.method in ("isotonic-logit", "platt")
    _assert_strictly_increasing(calibrator, _grid(raw))


@pytest.mark.parametrize("label_value", [0.0, 1.0])
def test_one_class_falls_back_to_a_strictly_increasing_map(label_value):
    raw = np.random.default_rng(0).normal(size=500)
    calibrator = Calibrator.fit(raw, np.full(500, label_value))
    assert calibrator.method == "platt"
    _assert_strictly_increasing(calibrator, _grid(raw))
    # About the Jeffreys estimate of the rate at the centre: near 0 (or 1), never 0 (or 1).
    centre = float(calibrator(np.array([raw.mean()]))[0])
    assert abs(centre - label_value) < 0.01


def test_no_signal_is_platt_near_the_base_rate():
    rng = np.random.default_rng(3)
    raw = rng.normal(size=4000)
    label = (rng.random(4000) < 0.2).astype("float64")
    order = np.argsort(raw)
    label[order] = np.sort(label)[::-1]  # anti-correlated: isotonic finds one block
    calibrator = Calibrator.fit(raw, label)
    assert calibrator.method == "platt"
    _assert_strictly_increasing(calibrator, _grid(raw))
    assert calibrator(raw).mean() == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("seed", range(3))
def test_calibrated_on_a_logistic_data_set(seed):
    raw, label, _ = _logistic_data(20_000, seed)
    calibrator = Calibrator.fit(raw, label)
    # On fresh data from the same law: mean predicted = mean observed, overall and per decile.
    test_raw, test_label, truth = _logistic_data(50_000, seed + 100)
    score = calibrator(test_raw)
    assert score.mean() == pytest.approx(test_label.mean(), abs=0.005)
    deciles = np.array_split(np.argsort(test_raw), 10)
    for rows in deciles:
        assert score[rows].mean() == pytest.approx(test_label[rows].mean(), abs=0.02)
    # Close to the true probability, and no worse than the old step function out of sample.
    assert np.abs(score - truth).mean() < 0.01
    steps = _steps(raw, label)(test_raw)
    ours, old = probability_quality(score, test_label), probability_quality(steps, test_label)
    assert ours["brier"] <= old["brier"] + 1e-5
    assert ours["log_loss"] < old["log_loss"]


def test_the_top_scores_have_no_ties_where_the_step_function_had_many():
    raw, label, _ = _logistic_data(5_000, 11)
    top = np.sort(raw)[-500:]  # the top 10 %, beyond the last isotonic block's centre too
    assert len(np.unique(Calibrator.fit(raw, label)(top))) == len(np.unique(top))
    assert len(np.unique(_steps(raw, label)(top))) < 0.1 * len(top)


def _steps(raw: np.ndarray, label: np.ndarray):
    """The calibrator of earlier releases: isotonic thresholds under np.interp."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, label)
    return Calibrator(np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_))


LEGACY = Path(__file__).parent / "data" / "legacy_model"


def test_a_legacy_calibrator_is_the_old_step_function():
    model = mlflow.pyfunc.load_model(str(LEGACY / "model")).unwrap_python_model().model
    calibrator = model.calibrator
    assert set(vars(calibrator)) == {"x", "y"}  # pickled before the method field existed
    assert calibrator.method == "isotonic-steps"
    raw = np.linspace(calibrator.x[0] - 2, calibrator.x[-1] + 2, 1001)
    np.testing.assert_array_equal(calibrator(raw), np.interp(raw, calibrator.x, calibrator.y))
    # A fitted one survives pickling with its method and slopes.
    fitted = Calibrator.fit(*_logistic_data(2_000, 5)[:2])
    copy = pickle.loads(pickle.dumps(fitted))
    assert copy.method == "isotonic-logit" and copy.high_slope == fitted.high_slope
    np.testing.assert_array_equal(copy(raw), fitted(raw))
