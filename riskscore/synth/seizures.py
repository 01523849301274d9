"""The clean seizure records: the member's (linked to its shipments) and the region's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.features.contracts import SEIZURES
from riskscore.synth.linked_seizures import linked_seizures
from riskscore.synth.regional_seizures import background_seizures, regional_seizures
from riskscore.synth.schemas import SEIZURE_TRUTH_COLUMNS
from riskscore.synth.traders import World


def make_seizures(w: World, pool: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Seizures in date order, numbered SZ-<reporter>-<year>-<nnnnnn>, from the illicit pool.

    Returns the SEIZURES fields, the truth columns and `_day` (for the workbook's dates).
    """
    linked = pool[pool["_inspected"] | pool["_late"]].reset_index(drop=True)
    n_regional = max(10, round(1.2 * len(linked)))
    n_background = n_regional if pool.empty else round(0.15 * n_regional)
    templates = pool.iloc[rng.integers(0, max(1, len(pool)), n_regional - n_background)]
    parts = [
        linked_seizures(w.cat, linked, rng),
        regional_seizures(w.cat, templates.reset_index(drop=True), rng),
        background_seizures(w.cat, n_background, rng),
    ]
    df = pd.concat([p for p in parts if len(p)], ignore_index=True)
    df = df.sort_values(["_day", "reporting_country"], kind="stable").reset_index(drop=True)
    year = df["date"].str[:4]
    seq = df.groupby([df["reporting_country"], year]).cumcount() + 1
    df["id"] = "SZ-" + df["reporting_country"] + "-" + year + "-" + seq.astype(str).str.zfill(6)
    return df[SEIZURES.field_names + SEIZURE_TRUTH_COLUMNS + ["_day"]]
