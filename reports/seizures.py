"""Seizure intelligence for the analyst report: which criteria cells (HS heading x origin, HS
heading x country shipped from, route, means of transport) have the highest seizure rates, and
which are rising fastest.

A cell's rate is its seizures (member and regional) per declaration of the member's traffic in
the same cell and period, the same ratio the `seizure_lift_*` features use. Small cells are
smoothed toward the period's average rate with `smoothing` pseudo-declarations, so three
seizures against ten declarations do not top the list. Lift = cell rate / average rate.

An "HS heading x country shipped from" cell whose traffic is almost all shipped from the
country of origin repeats the "HS heading x origin" cell; it is left out of the rankings so the
ten lines say ten things.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscore.features.dataset import History
from riskscore.features.hs_names import country_name, hs_label
from riskscore.features.pipeline import prepare_rows, prepare_seizures
from riskscore.features.registry import SEIZURE_CELLS

CELL_KINDS = {
    "hs4_origin": "HS heading x origin",
    "hs4_departure": "HS heading x country shipped from",
    "route": "route (origin to country shipped from)",
    "mode": "means of transport",
}
assert set(CELL_KINDS) == set(SEIZURE_CELLS)  # the cells the features count seizures in


@dataclass(frozen=True)
class IntelConfig:
    """Periods and thresholds of the seizure-intelligence tables."""

    recent_days: int = 90  # the "now" of the rise
    base_days: int = 365  # compared with the year before it; also the window of "highest"
    smoothing: float = 20.0  # pseudo-declarations at the average rate
    min_traffic: int = 30  # member declarations in the cell over the year, to rank it at all
    min_seizures: int = 3  # seizures in the cell over the year, to rank its rate
    min_rising_seizures: int = 5  # seizures in the cell over the recent days, to rank its rise
    top: int = 10


@dataclass
class SeizureIntel:
    highest: pd.DataFrame
    rising: pd.DataFrame
    as_of: pd.Timestamp  # first day after the data
    seizures: int  # over the last `base_days`
    declarations: int
    unranked_cells: int  # cells with seizures but too little member traffic to rank
    config: IntelConfig  # the periods and thresholds these tables were made with


def cell_label(kind: str, key: str) -> str:
    """'1006 (cereals) from Ecuador', 'China shipped via Hong Kong', 'by sea'."""
    match kind:
        case "hs4_origin":
            hs4, origin = key.split("|", 1)
            return f"{hs_label(hs4)} from {country_name(origin)}"
        case "hs4_departure":
            hs4, departure = key.split("|", 1)
            return f"{hs_label(hs4)} shipped from {country_name(departure)}"
        case "route":
            origin, departure = key.split(">", 1)
            if origin == departure:
                return f"from {country_name(origin)}, shipped direct"
            return f"from {country_name(origin)}, shipped from {country_name(departure)}"
        case _:
            return f"by {key}"


def _counts(keys: np.ndarray, days: np.ndarray, first: int, last: int) -> pd.Series:
    """Events per key with first <= day < last."""
    inside = (days >= first) & (days < last) & pd.notna(keys)
    return pd.Series(keys[inside], dtype=object).value_counts()


def _period(
    seized: dict[str, np.ndarray], traffic: dict[str, np.ndarray], first: int, last: int
) -> pd.DataFrame:
    """Seizures and traffic per (kind, cell) over [first, last)."""
    frames = []
    for kind in CELL_KINDS:
        s = _counts(seized[kind], seized["day"], first, last)
        t = _counts(traffic[kind], traffic["day"], first, last)
        both = pd.DataFrame({"seizures": s, "declarations": t}).fillna(0)
        both.index.name = "key"
        frames.append(both.reset_index().assign(kind=kind))
    return pd.concat(frames, ignore_index=True)


def _lift(table: pd.DataFrame, seizures: float, declarations: float, m: float) -> pd.Series:
    average = seizures / declarations if declarations else 0.0
    if average == 0:
        return pd.Series(1.0, index=table.index)
    rate = (table["seizures"] + m * average) / (table["declarations"] + m)
    return rate / average


def seizure_intelligence(history: History, config: IntelConfig | None = None) -> SeizureIntel:
    """Highest and fastest-rising seizure rates per criteria cell, as of the end of the data."""
    config = config or IntelConfig()
    seized = prepare_seizures(history.seizures)
    traffic = prepare_rows(history.declarations)
    as_of = _day_after(seized, traffic)
    year_start = as_of - config.base_days
    repeats = _repeats_origin_cell(traffic, year_start, as_of)
    highest, unranked = _highest(_year(seized, traffic, as_of, repeats, config), config)
    return SeizureIntel(
        highest=_labelled(highest),
        rising=_labelled(_rising(seized, traffic, as_of, repeats, config)),
        as_of=pd.Timestamp(np.datetime64(as_of, "D")),
        seizures=int(_total(seized["day"], year_start, as_of)),
        declarations=int(_total(traffic["day"], year_start, as_of)),
        unranked_cells=unranked,
        config=config,
    )


def _day_after(seized: dict[str, np.ndarray], traffic: dict[str, np.ndarray]) -> int:
    """The first day after the data (seizures and declarations)."""
    last_day = max(
        int(seized["day"].max()) if len(seized["day"]) else 0,
        int(traffic["day"].max()) if len(traffic["day"]) else 0,
    )
    return last_day + 1


def _with_lift(
    seized: dict[str, np.ndarray],
    traffic: dict[str, np.ndarray],
    first: int,
    last: int,
    smoothing: float,
) -> pd.DataFrame:
    """`_period` with each cell's lift over the period's average rate."""
    table = _period(seized, traffic, first, last)
    table["lift"] = _lift(
        table, _total(seized["day"], first, last), _total(traffic["day"], first, last), smoothing
    )
    return table


def _year(
    seized: dict[str, np.ndarray],
    traffic: dict[str, np.ndarray],
    as_of: int,
    repeats: set[str],
    config: IntelConfig,
) -> pd.DataFrame:
    """Every cell over the last `base_days`, with its lift and rate, less the repeated ones."""
    year = _with_lift(seized, traffic, as_of - config.base_days, as_of, config.smoothing)
    year["rate_per_1000"] = (
        1000 * year["seizures"] / year["declarations"].where(year["declarations"] > 0)
    )
    return year[~((year["kind"] == "hs4_departure") & year["key"].isin(repeats))]


def _highest(year: pd.DataFrame, config: IntelConfig) -> tuple[pd.DataFrame, int]:
    """The `top` cells by lift, and the number of cells with enough seizures to rank but too
    little member traffic."""
    seized_cells = year["seizures"] >= config.min_seizures
    ranked = seized_cells & (year["declarations"] >= config.min_traffic)
    highest = year[ranked].sort_values("lift", ascending=False).head(config.top)
    return highest, int((seized_cells & ~ranked).sum())


def _rising(
    seized: dict[str, np.ndarray],
    traffic: dict[str, np.ndarray],
    as_of: int,
    repeats: set[str],
    config: IntelConfig,
) -> pd.DataFrame:
    """The `top` cells by rise: lift over the last `recent_days` / lift over the `base_days`
    before them."""
    split = as_of - config.recent_days
    recent = _with_lift(seized, traffic, split, as_of, config.smoothing)
    before = _with_lift(seized, traffic, split - config.base_days, split, config.smoothing)
    both = recent.merge(before, on=["kind", "key"], how="left", suffixes=("_recent", "_before"))
    both = both.fillna({"seizures_before": 0, "declarations_before": 0, "lift_before": 1.0})
    both["rise"] = both["lift_recent"] / both["lift_before"]
    eligible = (both["seizures_recent"] >= config.min_rising_seizures) & (
        both["declarations_recent"] + both["declarations_before"] >= config.min_traffic
    )
    eligible &= ~((both["kind"] == "hs4_departure") & both["key"].isin(repeats))
    rising = both[eligible & (both["rise"] > 1)].sort_values("rise", ascending=False)
    return rising.head(config.top)


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    """The ranked cells with their readable label and kind in front."""
    table.insert(
        0, "cell", [cell_label(k, c) for k, c in zip(table["kind"], table["key"], strict=True)]
    )
    table.insert(1, "cell_type", table["kind"].map(CELL_KINDS))
    return table.reset_index(drop=True)


def _total(days: np.ndarray, first: int, last: int) -> float:
    return float(((days >= first) & (days < last)).sum())


def _repeats_origin_cell(traffic: dict[str, np.ndarray], first: int, last: int) -> set[str]:
    """hs4_departure keys whose traffic was at least 90 % shipped from the origin country."""
    inside = (traffic["day"] >= first) & (traffic["day"] < last)
    frame = pd.DataFrame(
        {
            "key": traffic["hs4_departure"][inside],
            "direct": traffic["origin_country"][inside] == traffic["departure_country"][inside],
        }
    ).dropna(subset=["key"])
    share = frame.groupby("key")["direct"].mean()
    return set(share.index[share >= 0.9])
