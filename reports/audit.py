"""Non-discrimination audit (WTO TFA Art. 7.4.2): is any group selected for control far more
often than its record of offences justifies?

Per group (origin country, trader size band) on the evaluation window:

- selection rate: share of the group's declarations the model sends to red or yellow;
- hit rate: share of the group's declarations found irregular (the label), smoothed toward the
  overall rate with `smoothing` pseudo-declarations so a small group's zero is not taken at
  face value;
- selection ratio = selection rate / overall selection rate; hit ratio = hit rate / overall
  hit rate; disparity = selection ratio / hit ratio.

A group is flagged when it has at least `min_rows` declarations, is selected more often than
average (selection ratio > 1) and its disparity exceeds `factor`: it is selected `factor` times
more, relative to the average, than its offences are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscore.features.hs_names import country_name

SELECTED_CHANNELS = ("red", "yellow")
TRADER_BANDS = ((1, 9), (10, 49), (50, 249), (250, None))


@dataclass(frozen=True)
class AuditRule:
    factor: float = 1.5
    min_rows: int = 100
    smoothing: float = 20.0

    def describe(self) -> str:
        return (
            f"A group is flagged when it has at least {self.min_rows} declarations, is selected "
            f"more often than average, and its selection ratio (its selection rate / the overall "
            f"selection rate) exceeds {self.factor:g} times its hit ratio (its offence rate / the "
            f"overall offence rate). Offence rates are smoothed toward the overall rate with "
            f"{self.smoothing:g} pseudo-declarations."
        )


def disparity_table(
    groups: pd.Series | np.ndarray,
    selected: np.ndarray,
    label: np.ndarray,
    rule: AuditRule | None = None,
) -> pd.DataFrame:
    """Selection and hit rates per group, with the disparity and the flag; flagged first."""
    rule = rule or AuditRule()
    frame = pd.DataFrame(
        {
            "group": np.asarray(groups, dtype=object),
            "selected": np.asarray(selected, dtype=bool),
            "label": np.asarray(label, dtype="float64"),
        }
    )
    overall_selection = frame["selected"].mean()
    overall_hit = frame["label"].mean()
    grouped = frame.groupby("group", sort=False)
    table = pd.DataFrame(
        {
            "declarations": grouped.size(),
            "selected": grouped["selected"].sum(),
            "offences": grouped["label"].sum(),
        }
    )
    hits_selected = frame[frame["selected"]].groupby("group")["label"].mean()
    table["selection_rate"] = table["selected"] / table["declarations"]
    table["hit_rate"] = table["offences"] / table["declarations"]
    m = rule.smoothing
    smoothed = (table["offences"] + m * overall_hit) / (table["declarations"] + m)
    table["selection_ratio"] = (
        table["selection_rate"] / overall_selection if overall_selection else np.nan
    )
    table["hit_ratio"] = smoothed / overall_hit if overall_hit else np.nan
    table["disparity"] = table["selection_ratio"] / table["hit_ratio"]
    table["hit_rate_selected"] = hits_selected.reindex(table.index)
    table["flagged"] = (
        (table["declarations"] >= rule.min_rows)
        & (table["selection_ratio"] > 1)
        & (table["disparity"] > rule.factor)
    )
    table = table.rename_axis("group").reset_index()
    return table.sort_values(["flagged", "disparity"], ascending=[False, False], ignore_index=True)


def trader_band(count: float) -> str:
    """'10-49 declarations' for an importer with 23 declarations."""
    if not count or np.isnan(count):
        return "no importer declared"
    for low, high in TRADER_BANDS:
        if high is None or count <= high:
            return f"{low}+ declarations" if high is None else f"{low}-{high} declarations"
    raise AssertionError(count)


@dataclass
class Audit:
    rule: AuditRule
    by_origin: pd.DataFrame  # groups with at least rule.min_rows declarations
    by_trader_size: pd.DataFrame
    small_origins: int  # origin countries with fewer than min_rows declarations (not judged)
    selection_rate: float
    hit_rate: float


def audit(
    frame: pd.DataFrame,
    channel: np.ndarray,
    label: np.ndarray,
    importer_counts: pd.Series,
    rule: AuditRule | None = None,
) -> Audit:
    """The audit of a scored window. `importer_counts`: declarations per importer in the
    history up to the window's end (the trader's size)."""
    rule = rule or AuditRule()
    selected = np.isin(channel, SELECTED_CHANNELS)
    origins = [country_name(None if pd.isna(c) else str(c)) for c in frame["origin_country"]]
    by_origin = disparity_table(origins, selected, label, rule)
    small = int((by_origin["declarations"] < rule.min_rows).sum())
    by_origin = by_origin[by_origin["declarations"] >= rule.min_rows].reset_index(drop=True)
    sizes = frame["importer_id"].map(importer_counts).astype("float64")
    bands = [trader_band(n) for n in sizes]
    by_size = disparity_table(bands, selected, label, rule)
    order = {trader_band(low): i for i, (low, _) in enumerate(TRADER_BANDS)}
    by_size = by_size.sort_values(
        "group", key=lambda s: s.map(order).fillna(len(order)), ignore_index=True
    )
    return Audit(rule, by_origin, by_size, small, float(selected.mean()), float(np.mean(label)))
