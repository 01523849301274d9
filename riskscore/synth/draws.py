"""Seeded random draws shared by every part of the generator."""

from __future__ import annotations

import numpy as np


def seeded(seed: int, *keys: int) -> np.random.Generator:
    """An independent stream for one part of the data set: (seed, *keys) fixes it."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def cumulative(weights: object) -> np.ndarray:
    """The cdf of some weights, for `draw`."""
    w = np.asarray(weights, dtype=float)
    c = np.cumsum(w)
    return c / c[-1]


def draw(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """n indices drawn from a cdf."""
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def weighted(items: dict[str, float], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Keys mapped through index, and the cdf of the weights."""
    return np.array([index[k] for k in items]), cumulative(list(items.values()))


def pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
    """n options drawn uniformly, as an object array that concatenates with +."""
    return np.array(options, dtype=object)[rng.integers(0, len(options), n)]
