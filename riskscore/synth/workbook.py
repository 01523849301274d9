"""Writing the seizures twice: a clean seizures.csv and a messy CEN bulk-upload seizures.xlsx.

The workbook has the same seizures in the same order, spelled as a member would type them, plus a
few rows corrupted in place that ingestion must quarantine; those rows are left out of the CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from riskscore.features.contracts import SEIZURES
from riskscore.synth.schemas import SEIZURE_TRUTH_COLUMNS
from riskscore.synth.spellings import messy_countries, messy_dates, messy_hs, messy_transit, respell

BAD_ROW_KINDS = (
    "invalid_hs_code",
    "unknown_country",
    "negative_quantity",
    "bad_date",
    "missing_id",
)
_COUNTRY_FIELDS = (
    "reporting_country",
    "origin_country",
    "departure_country",
    "destination_country",
)

Columns = dict[str, np.ndarray | list[object]]


def write_seizures(
    df: pd.DataFrame, xlsx: Path, csv_path: Path, rng: np.random.Generator
) -> np.ndarray:
    """Write the clean CSV and the messy workbook; return the mask of rows made bad in the xlsx."""
    n = len(df)
    n_bad = 0 if n < 20 else max(min(len(BAD_ROW_KINDS), n // 40), round(0.005 * n))
    bad_rows = np.sort(rng.choice(n, size=n_bad, replace=False)) if n_bad else np.array([], int)
    bad = np.zeros(n, dtype=bool)
    bad[bad_rows] = True
    df.loc[~bad, SEIZURES.field_names + SEIZURE_TRUTH_COLUMNS].to_csv(csv_path, index=False)

    cols = _messy_columns(df, rng)
    for i, r in enumerate(bad_rows):
        _corrupt(cols, int(r), BAD_ROW_KINDS[i % len(BAD_ROW_KINDS)])
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Seizures")
    ws.append(SEIZURES.field_names)
    for row in zip(*(cols[f] for f in SEIZURES.field_names), strict=True):
        ws.append([_cell(v) for v in row])
    wb.save(xlsx)
    return bad


def _messy_columns(df: pd.DataFrame, rng: np.random.Generator) -> Columns:
    """The SEIZURES fields with dates, countries, HS codes and aliases spelled as members do."""
    cols: Columns = {f: df[f].to_numpy(dtype=object) for f in SEIZURES.field_names}
    cols["date"] = messy_dates(df["_day"].to_numpy(), rng)
    for f in _COUNTRY_FIELDS:
        cols[f] = messy_countries(cols[f], rng)
    cols["transit_countries"] = messy_transit(cols["transit_countries"], rng)
    cols["hs_code"] = messy_hs(cols["hs_code"], rng)
    u = rng.random(
        len(df)
    )  # 45 % words, 25 % UN/ECE Rec 19 digits (couriers have none), 30 % clean
    words = respell(cols["transport_mode"], "mode_words", rng, 0.45, u=u)
    cols["transport_mode"] = respell(words, "rec19", rng, 0.25, lo=0.45, u=u)
    cols["quantity_unit"] = respell(cols["quantity_unit"], "unit", rng, 0.4)
    cols["place_type"] = respell(cols["place_type"], "place_type", rng, 0.4)
    cols["commodity_category"] = respell(cols["commodity_category"], "commodity", rng, 0.3)
    return cols


def _corrupt(cols: Columns, i: int, kind: str) -> None:
    """Genuinely invalid values that ingestion must quarantine."""
    if kind == "invalid_hs_code":
        cols["hs_code"][i] = "9999"
    elif kind == "unknown_country":
        cols["origin_country"][i] = "Atlantis"
    elif kind == "negative_quantity":
        q = cols["quantity"][i]
        cols["quantity"][i] = -abs(float(q)) if q == q and q else -1.0  # q == q: not NaN
    elif kind == "bad_date":
        cols["date"][i] = "31/02/2024"
    elif kind == "missing_id":
        cols["id"][i] = None


def _cell(value: object) -> object:
    """A workbook cell: empty for empty text and NaN, numpy scalars as Python values."""
    if isinstance(value, str) and value == "":
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
