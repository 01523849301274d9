"""The model-shape search: real boosters, real timings; the choice follows its own measurements."""

from __future__ import annotations

import io

import lightgbm as lgb
import numpy as np
import pytest
from PIL import Image

from riskscore.models.metrics import top_mask
from riskscore.training.shape import Shape, explain_ms, frontier_figure, search_shapes

SHAPES = (Shape(3, learning_rate=0.3), Shape(15), Shape(31, max_depth=6), Shape(63))


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2500, 8))
    signal = x[:, 0] * x[:, 1] + np.sin(3 * x[:, 2]) + 0.5 * x[:, 3]
    y = (signal + rng.normal(scale=0.7, size=len(x)) > 1.0).astype(float)
    return {"x_train": x[:2000], "y_train": y[:2000], "x_valid": x[2000:], "y_valid": y[2000:]}


_FITTED: dict[Shape, tuple[lgb.Booster, np.ndarray]] = {}


def _fitter(data: dict[str, np.ndarray]):  # noqa: ANN202
    def fit(shape: Shape) -> tuple[lgb.Booster, np.ndarray]:
        if shape not in _FITTED:  # the same shape fits to the same booster: fit once
            _FITTED[shape] = _fit(shape)
        return _FITTED[shape]

    def _fit(shape: Shape) -> tuple[lgb.Booster, np.ndarray]:
        params = {"objective": "binary", "verbose": -1, "seed": 1, **shape.params()}
        train = lgb.Dataset(data["x_train"], data["y_train"])
        valid = lgb.Dataset(data["x_valid"], data["y_valid"], reference=train)
        booster = lgb.train(
            params,
            train,
            num_boost_round=300,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(20, verbose=False)],
        )
        booster = lgb.Booster(
            model_str=booster.model_to_string(num_iteration=booster.best_iteration)
        )
        return booster, booster.predict(data["x_valid"], raw_score=True)

    return fit


def _precision(data: dict[str, np.ndarray]):  # noqa: ANN202
    return lambda raw: float(data["y_valid"][top_mask(raw, 0.1)].mean())


def test_the_most_precise_shape_within_the_budget_is_kept(data):
    fit, precision = _fitter(data), _precision(data)
    everything = search_shapes(
        SHAPES, fit, precision, data["x_valid"], budget_ms=1e9, cap_bytes=2**30
    )
    assert all(c.fits for c in everything.candidates)
    best = max(everything.candidates, key=lambda c: (c.precision, -c.explain_ms))
    assert everything.chosen is best and best.chosen
    assert sum(c.chosen for c in everything.candidates) == 1
    assert everything.booster.num_trees() == best.trees
    np.testing.assert_allclose(
        everything.raw_valid, everything.booster.predict(data["x_valid"], raw_score=True)
    )
    # A budget between the cheapest and the dearest keeps only what its measurements allow.
    costs = sorted(c.explain_ms for c in everything.candidates)
    budget = (costs[0] + costs[-1]) / 2
    bounded = search_shapes(
        SHAPES, fit, precision, data["x_valid"], budget_ms=budget, cap_bytes=2**30
    )
    fits = [c for c in bounded.candidates if c.explain_ms <= budget]
    assert [c.fits for c in bounded.candidates] == [
        c.explain_ms <= budget for c in bounded.candidates
    ]
    if fits:
        assert bounded.chosen.precision == max(c.precision for c in fits)
        assert bounded.chosen.explain_ms <= budget and "within the budget" in bounded.note


def test_nothing_fits_the_cheapest_is_kept_and_said(data):
    result = search_shapes(
        SHAPES[:2], _fitter(data), _precision(data), data["x_valid"], budget_ms=0.0, cap_bytes=2**30
    )
    assert not any(c.fits for c in result.candidates)
    assert result.chosen.explain_ms == min(c.explain_ms for c in result.candidates)
    assert "no shape fits the budget" in result.note
    # The first shape already cost more than twice the budget: the dearer one is not fitted.
    assert [c.shape for c in result.candidates] == [SHAPES[0]] and result.skipped == [SHAPES[1]]
    assert "1 dearer not fitted" in result.note
    rows = [c.to_dict() for c in result.candidates]
    assert {"num_leaves", "precision", "explain_ms", "table_mib", "trees", "chosen"} <= set(rows[0])


def test_cost_is_measured_with_the_kernel_and_the_cap_as_served(data):
    booster, _ = _fitter(data)(Shape(15))
    ms, info = explain_ms(booster, data["x_valid"], cap_bytes=2**30)
    assert ms > 0 and info.kind == "treeshap-tables"
    ms, info = explain_ms(booster, data["x_valid"], cap_bytes=0)
    assert ms > 0 and info.table_bytes == 0 and "above the cap" in info.note


def test_frontier_plot_has_a_point_per_shape(data):
    result = search_shapes(
        SHAPES[:3], _fitter(data), _precision(data), data["x_valid"], budget_ms=1e9, cap_bytes=2**30
    )
    figure = frontier_figure(result)
    points = sum(len(c.get_offsets()) for c in figure.axes[0].collections)
    assert points == 3
    png = io.BytesIO()
    figure.savefig(png, format="png")
    assert Image.open(io.BytesIO(png.getvalue())).size[0] > 300
