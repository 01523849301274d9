"""One declaration's case file for an officer: its score, channel, reasons and SHAP waterfall.

`explain_file(model, path, declaration_id)` reads the declaration from a clearance-format file
(csv, parquet, xlsx or jsonl) through the same contract as ingestion, scores it with every
contribution explained, and returns the reasons in words (`models.reasons`) and a waterfall
plot that adds the contributions up from the base value to the declaration's score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.contracts import CLEARANCE
from riskscore.features.intake import read_checked
from riskscore.features.readers import SOURCE_ROW
from riskscore.models.reasons import Reason, explained_reasons
from riskscore.models.risk_model import RiskModel
from riskscore.reports import plots
from riskscore.reports.labels import criterion_label, readable_value


class CaseFileError(Exception):
    """The declaration cannot be explained (not in the file, or invalid); says which and why."""


@dataclass
class CaseFile:
    """A scored and fully explained declaration."""

    declaration_id: str
    score: float  # calibrated probability of an offence
    raw: float  # log-odds
    channel: str
    base_value: float  # log-odds every declaration starts from
    reasons: list[Reason]
    contributions: np.ndarray  # one per model feature (log-odds), base value not included
    features: dict[str, object]  # the declaration's feature values


def read_declaration(path: Path, declaration_id: str) -> pd.DataFrame:
    """The declaration with this id from a clearance-format file, validated (one row).

    Raises BadInputError for an unreadable file and CaseFileError for an unknown id or a row
    that breaks the contract (with its reasons).
    """
    wanted = declaration_id.strip()
    searched = 0

    def this_one(mapped: pd.DataFrame) -> pd.DataFrame:
        nonlocal searched
        searched = len(mapped)
        return mapped[mapped["id"].astype("string").str.strip() == wanted]

    checked = read_checked(path, CLEARANCE, select=this_one)
    found = len(checked.accepted) + len(checked.reasons)
    if found == 0:
        raise CaseFileError(
            f"declaration {wanted} not found in {path} ({searched:,} rows searched)"
        )
    if found > 1:
        rows = sorted(
            checked.raw.loc[[*checked.accepted.index, *checked.reasons.index], SOURCE_ROW]
        )
        listed = ", ".join(str(r) for r in rows)
        raise CaseFileError(f"declaration {wanted} appears {found} times in {path} (rows {listed})")
    if len(checked.reasons):
        row, reasons = checked.rejected()[0]
        raise CaseFileError(f"declaration {wanted} ({path}, row {row}) is invalid: {reasons}")
    return checked.accepted.reset_index(drop=True)


def case_file(model: RiskModel, declaration: pd.DataFrame, k: int = 5) -> CaseFile:
    """Score one validated declaration (a one-row frame) with every contribution explained."""
    scored = model.score(declaration, explain="all")
    assert scored.contributions is not None  # explain="all" on one row
    contributions = scored.contributions[0]
    names = model.feature_names
    return CaseFile(
        declaration_id=str(declaration["id"].iloc[0]),
        score=float(scored.score[0]),
        raw=float(scored.raw[0]),
        channel=str(scored.channel[0]),
        base_value=float(contributions[-1]),
        reasons=explained_reasons(model, declaration, scored, k)[0],
        contributions=np.asarray(contributions[: len(names)], dtype="float64"),
        features={name: np.asarray(scored.features[name])[0] for name in names},
    )


def waterfall_png(model: RiskModel, case: CaseFile, max_display: int = 12) -> bytes:
    """The SHAP waterfall of a case as PNG: from the base value, feature by feature, to the
    declaration's log-odds; features named with their TFA criterion, values readable."""
    names, criteria = model.feature_names, model.criteria
    return plots.waterfall(
        contributions=case.contributions,
        base_value=case.base_value,
        labels=[f"{n} · {criterion_label(criteria[n].value)}" for n in names],
        numbers=np.array([_number(case.features[n]) for n in names], dtype="float64"),
        shown=np.array([readable_value(n, case.features[n]) for n in names], dtype=object),
        title=f"Declaration {case.declaration_id}: score {case.score:.2f}, channel {case.channel}",
        max_display=max_display,
    )


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def explain_file(
    model: RiskModel, path: Path, declaration_id: str, out: Path | None = None, k: int = 5
) -> CaseFile:
    """`riskscore explain`: read, score and explain one declaration; write its waterfall PNG."""
    case = case_file(model, read_declaration(path, declaration_id), k)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(waterfall_png(model, case))
    return case
