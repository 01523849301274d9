"""The trader population of one data set: importers, declarants and exporters.

All identifiers are synthetic on purpose (IMP-GB-000123, EXP-CN-000045, DCL-GB-0007), so that no
real company is ever tagged as an offender.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from riskscore.synth.catalogue_arrays import Catalogue, catalogue
from riskscore.synth.columns import numbered_ids
from riskscore.synth.draws import cumulative, draw, seeded
from riskscore.synth.scope import N_DAYS


@dataclass
class World:
    """The catalogue and the trader population of one data set (depends on its size and seed)."""

    n: int
    cat: Catalogue
    importer_ids: pa.Array
    importer_cdf: np.ndarray  # Zipf-like activity over all importers
    established_cdf: np.ndarray  # the same over importers present from the start
    established: np.ndarray  # their indices
    entry_day: np.ndarray
    repeat_offender: np.ndarray
    home_products: np.ndarray  # [importer, 3]
    home_declarant: np.ndarray
    declarant_ids: pa.Array
    declarant_cdf: np.ndarray
    n_exporters: int
    exporter_cdf: np.ndarray

    @classmethod
    def build(cls, n: int, seed: int) -> World:
        """The traders of a data set of n shipments, from the stream (seed, 1)."""
        c = catalogue()
        rng = seeded(seed, 1)
        n_imp = max(200, n // 25)
        activity, entry_day, repeat = _importers(rng, n_imp)
        established = np.flatnonzero(entry_day == 0)
        n_decl = max(8, n // 2_500)
        decl_w = 1.0 / np.arange(1, n_decl + 1) ** 1.2
        n_exp = max(20, n // 500)
        return cls(
            n=n,
            cat=c,
            importer_ids=numbered_ids("IMP-GB-", np.arange(1, n_imp + 1), 6),
            importer_cdf=cumulative(activity),
            established_cdf=cumulative(activity[established]),
            established=established,
            entry_day=entry_day,
            repeat_offender=repeat,
            home_products=draw(rng, c.product_cdf, n_imp * 3).reshape(n_imp, 3),
            home_declarant=draw(rng, cumulative(decl_w), n_imp),
            declarant_ids=numbered_ids("DCL-GB-", np.arange(1, n_decl + 1), 4),
            declarant_cdf=cumulative(decl_w),
            n_exporters=n_exp,
            exporter_cdf=cumulative(1.0 / np.arange(1, n_exp + 1) ** 0.9),
        )


def _importers(rng: np.random.Generator, n_imp: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each importer's activity, entry day (0: present from the start) and repeat-offender flag."""
    # Activity follows rank^-0.75; ids are shuffled so that an id says nothing about size.
    rank_w = 1.0 / np.arange(1, n_imp + 1) ** 0.75
    activity = np.empty(n_imp)
    order = rng.permutation(n_imp)
    activity[order] = rank_w
    ranks = np.empty(n_imp, dtype=np.int64)
    ranks[order] = np.arange(n_imp)
    # New traders are small ones: 15 % of importers, all from the lower 70 % of ranks,
    # entering between April 2024 and the end of the period.
    small = np.flatnonzero(ranks >= int(0.3 * n_imp))
    late = rng.choice(small, size=int(0.15 * n_imp), replace=False)
    entry_day = np.zeros(n_imp, dtype=np.int64)
    entry_day[late] = rng.integers(90, N_DAYS - 30, size=len(late))
    # Repeat offenders: mid-sized established importers, active over the whole period.
    mid = np.flatnonzero((ranks >= int(0.02 * n_imp)) & (ranks < int(0.3 * n_imp)))
    mid = mid[entry_day[mid] == 0]
    repeat = np.zeros(n_imp, dtype=bool)
    repeat[rng.choice(mid, size=max(2, round(0.015 * n_imp)), replace=False)] = True
    return activity, entry_day, repeat
