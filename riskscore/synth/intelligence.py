"""A live-intelligence scenario on a store: a run of seizures in a heading x origin that had none.

Used by the refresh benchmark and tests (and usable on any store): pick the busiest recent cell
without a seizure, and write a seizure file for it, as a regional office would report them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.contracts import CLEARANCE
from riskscore.features.dataset import load_history
from riskscore.features.store import Store


def quiet_cell(store: Path, days: int = 60) -> pd.DataFrame:
    """The declarations of the last `days` in the busiest HS heading x origin with no seizure
    on record, as clearance records (contract columns only)."""
    history = load_history(Store(store))
    declarations, seizures = history.declarations, history.seizures
    last = declarations["date"].max()
    recent = declarations[declarations["date"] > last - pd.Timedelta(days=days)]
    cell = recent["hs_code"].str[:4] + "|" + recent["origin_country"]
    seized = set((seizures["hs_code"].str[:4] + "|" + seizures["origin_country"]).dropna())
    busiest = cell[~cell.isin(seized)].value_counts().index[0]
    fields = [f.name for f in CLEARANCE.fields if f.name in recent]
    return recent.loc[cell == busiest, fields].reset_index(drop=True)


def cell_seizures(rows: pd.DataFrame, path: Path, n: int = 40, seed: int = 0) -> Path:
    """`n` drug seizures of the rows' heading, origin, route and means of transport over their
    last 30 days, reported by other members, written as a CSV in the seizure contract."""
    rng = np.random.default_rng(seed)
    last = rows["date"].max()
    pd.DataFrame(
        {
            "id": [f"NEW-SZ-{seed}-{i:03d}" for i in range(n)],
            "date": [(last - pd.Timedelta(days=int(k))).date() for k in rng.integers(0, 30, n)],
            "reporting_country": rng.choice(["FR", "NL", "BE", "DE"], n),
            "commodity_category": "drugs",
            "description": "cocaine concealed in the goods",
            "hs_code": rows["hs_code"].iloc[0],
            "origin_country": rows["origin_country"].iloc[0],
            "departure_country": rows["departure_country"].mode().iloc[0],
            "transport_mode": rows["transport_mode"].mode().iloc[0],
        }
    ).to_csv(path, index=False)
    return path
