"""What a simulated inspection reveals: the outcome of every record, or only of labelled ones.

Two universes:

- "truth": a file gives the outcome (`illicit`, and optionally `revenue`) of every record in
  the store, e.g. the demo's truth.parquet. Every record of the period is a candidate, and a
  policy is judged on all of them, the offences it never looked at included.
- "labelled": without such a file, the candidates are the store's declarations that carry
  their own inspection outcome (e.g. the KCS benchmark), and each reveals its recorded label.
  The historical selection decided which records are in that population, so the figures
  compare policies within it, not over all traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.pipeline import LABEL


class UniverseError(Exception):
    """The truth file or the store cannot give the outcomes; the message says why."""


@dataclass
class Universe:
    """Per record of the history (same row order): candidate or not, outcome, revenue."""

    kind: str  # "truth" or "labelled"
    note: str  # one sentence for people
    candidate: np.ndarray  # bool: in the population policies choose from (in the period)
    outcome: np.ndarray  # int8: 1 illicit (meaningful where candidate)
    revenue: np.ndarray  # float: what an inspection recovers, 0 when not known


def universe_of(records: pd.DataFrame, truth: Path | None, period: np.ndarray) -> Universe:
    """The universe of `records` (load_history's declarations) over the simulated `period`
    (a mask of the records): from `truth` when given, else the labelled declarations."""
    if truth is not None:
        return _from_truth(records, truth, period)
    labelled = (records["label_source"] == "inspection").to_numpy() & period
    if not labelled.any():
        raise UniverseError(
            "no declaration of the simulated period has an inspection outcome, and no --truth "
            "file was given: there is nothing to judge a policy by"
        )
    revenue = _revenue(records["revenue_recovered"]) if "revenue_recovered" in records else None
    revenue = np.where(labelled, revenue, 0.0) if revenue is not None else np.zeros(len(records))
    note = (
        "Labelled universe: no truth file, so the population is the store's declarations with "
        "their own inspection outcome, and a selected declaration reveals its recorded label. "
        "Which declarations are in it was decided by the historical inspections, so the figures "
        "compare policies within that population, not over all traffic."
    )
    return Universe(
        "labelled",
        note,
        labelled,
        np.where(labelled, records[LABEL].to_numpy(dtype="int8"), 0).astype("int8"),
        revenue,
    )


def read_truth(path: Path) -> pd.DataFrame:
    """id, illicit (0/1) and revenue (0 when the file has none) from a parquet or csv file."""
    if not path.is_file():
        raise UniverseError(f"{path}: no such truth file")
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype={"id": "string"})
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same answer
        raise UniverseError(f"{path}: cannot read it as parquet or csv ({exc})") from None
    missing = [c for c in ("id", "illicit") if c not in frame]
    if missing:
        raise UniverseError(f"{path}: the truth file needs columns id and illicit; no {missing}")
    illicit = pd.to_numeric(frame["illicit"], errors="coerce")
    if illicit.isna().any() or not illicit.isin([0, 1]).all():
        raise UniverseError(f"{path}: illicit must be 0 or 1 on every row")
    revenue = _revenue(frame["revenue"]) if "revenue" in frame else np.zeros(len(frame))
    if revenue is None:
        raise UniverseError(f"{path}: revenue must be a number (or empty) on every row")
    out = pd.DataFrame(
        {"id": frame["id"].astype("string"), "illicit": illicit.astype("int8"), "revenue": revenue}
    )
    repeated = out["id"][out["id"].duplicated()]
    if len(repeated):
        raise UniverseError(f"{path}: id {repeated.iloc[0]} appears more than once")
    return out


def _from_truth(records: pd.DataFrame, path: Path, period: np.ndarray) -> Universe:
    truth = read_truth(path).set_index("id")
    ids = records["id"].astype("string")
    known = ids.isin(truth.index).to_numpy()
    if not known[period].all():
        absent = ids[period & ~known]
        raise UniverseError(
            f"{path}: {len(absent):,} of the {int(period.sum()):,} records of the simulated "
            f"period have no row in the truth file (e.g. {absent.iloc[0]}); it must give the "
            "outcome of every record"
        )
    outcome = np.zeros(len(records), dtype="int8")
    revenue = np.zeros(len(records))
    rows = truth.loc[ids[period]]
    outcome[period] = rows["illicit"].to_numpy(dtype="int8")
    revenue[period] = rows["revenue"].to_numpy(dtype="float64")
    note = (
        f"Truth universe: {path.name} gives the outcome of every record, so every shipment of "
        "the period is a candidate and each policy is judged on all of them: recall counts "
        "the offences it never selected."
    )
    return Universe("truth", note, period.copy(), outcome, revenue)


def _revenue(values: pd.Series) -> np.ndarray | None:
    """Revenue as floats, missing as 0; None when some value is not a number."""
    numbers = pd.to_numeric(values, errors="coerce")
    if (numbers.isna() & values.notna()).any():
        return None
    return numbers.fillna(0.0).to_numpy(dtype="float64")
