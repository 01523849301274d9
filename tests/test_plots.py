"""The report's plots are reproducible: the same data draws the same picture."""

from __future__ import annotations

import numpy as np

from riskscore.reports import plots


def test_the_beeswarm_is_the_same_picture_whatever_the_global_random_state():
    rng = np.random.default_rng(1)
    contributions, data = rng.normal(size=(300, 5)), rng.normal(size=(300, 5))
    labels = [f"feature {i}" for i in range(5)]
    np.random.seed(1)
    first = plots.beeswarm(contributions, data, labels, top=5)
    np.random.seed(2)
    second = plots.beeswarm(contributions, data, labels, top=5)
    assert first == second
    # The caller's random state is left where it was.
    after = np.random.random()
    np.random.seed(2)
    assert after == np.random.random()
