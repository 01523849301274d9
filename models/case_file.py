"""One declaration's case file for an officer: its score, channel, reasons and SHAP waterfall.

`explain_file(model, path, declaration_id)` reads the declaration from a clearance-format file
(csv, parquet, xlsx or jsonl) through the same contract as ingestion, scores it with every
contribution explained, and returns the reasons in words (`models.reasons`) and a waterfall
plot that adds the contributions up from the base value to the declaration's score.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.contracts import CLEARANCE
from riskscore.features.hs_names import country_name, hs_label
from riskscore.features.mapping import ColumnMapping, apply_mapping
from riskscore.features.readers import SOURCE_ROW, read_raw
from riskscore.features.validation import validate
from riskscore.models.reasons import Reason, top_reasons
from riskscore.models.risk_model import RiskModel

CRITERION_LABELS = {
    "hs_code": "HS code",
    "goods_description": "nature and description of goods",
    "origin": "country of origin",
    "shipped_from_route": "country shipped from / route",
    "value": "value",
    "trader_record": "compliance record of traders",
    "transport_mode": "means of transport",
    "seizure_intelligence": "seizure intelligence",
    "declaration_attributes": "member-specific fields",
}
HS_FEATURES = ("hs2", "hs4", "hs6")
COUNTRY_FEATURES = ("origin_country", "departure_country")


class CaseFileError(Exception):
    """The declaration cannot be explained (not in the file, or invalid); says which and why."""


def criterion_label(criterion: str) -> str:
    """'compliance record of traders' for trader_record."""
    return CRITERION_LABELS.get(criterion, criterion.replace("_", " "))


def readable_value(feature: str, value: object) -> str:
    """A feature value as an officer reads it: '1006 (cereals)', 'Ecuador', '0.23'."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if feature in HS_FEATURES:
        return hs_label(str(value))
    if feature in COUNTRY_FEATURES:
        return country_name(str(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return f"{float(value):.3g}"
    return str(value)


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
    raw = read_raw(path, kind="clearance")
    mapped, _ = apply_mapping(raw.frame, CLEARANCE, ColumnMapping(), path)
    wanted = declaration_id.strip()
    rows = mapped[mapped["id"].astype("string").str.strip() == wanted]
    if rows.empty:
        raise CaseFileError(
            f"declaration {wanted} not found in {path} ({len(mapped):,} rows searched)"
        )
    if len(rows) > 1:
        found = ", ".join(str(r) for r in rows[SOURCE_ROW])
        raise CaseFileError(
            f"declaration {wanted} appears {len(rows)} times in {path} (rows {found})"
        )
    checked = validate(CLEARANCE, rows)
    if not checked.rejected_reasons.empty:
        row = rows[SOURCE_ROW].iloc[0]
        reasons = checked.rejected_reasons.iloc[0]
        raise CaseFileError(f"declaration {wanted} ({path}, row {row}) is invalid: {reasons}")
    return checked.accepted.reset_index(drop=True)


def case_file(model: RiskModel, declaration: pd.DataFrame, k: int = 5) -> CaseFile:
    """Score one validated declaration (a one-row frame) with every contribution explained."""
    scored = model.score(declaration, explain="all")
    assert scored.contributions is not None  # explain="all" on one row
    contributions = scored.contributions[0]
    names = model.feature_names
    features = {name: np.asarray(scored.features[name])[0] for name in names}
    fields = {
        column: (None if _missing(value) else value)
        for column, value in declaration.iloc[0].to_dict().items()
    }
    reasons = top_reasons(contributions, model.registry, names, fields, features, k)
    return CaseFile(
        declaration_id=str(fields.get("id")),
        score=float(scored.score[0]),
        raw=float(scored.raw[0]),
        channel=str(scored.channel[0]),
        base_value=float(contributions[-1]),
        reasons=reasons,
        contributions=np.asarray(contributions[: len(names)], dtype="float64"),
        features=features,
    )


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def waterfall_png(model: RiskModel, case: CaseFile, max_display: int = 12) -> bytes:
    """The SHAP waterfall of a case as PNG: from the base value, feature by feature, to the
    declaration's log-odds; features named with their TFA criterion, values readable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    names = model.feature_names
    criteria = model.criteria
    labels = [f"{n} · {criterion_label(criteria[n].value)}" for n in names]
    numbers = np.array([_number(case.features[n]) for n in names], dtype="float64")
    shown = np.array([readable_value(n, case.features[n]) for n in names], dtype=object)
    explanation = shap.Explanation(
        values=case.contributions,
        base_values=case.base_value,
        data=numbers,
        display_data=shown,
        feature_names=labels,
    )
    plt.figure()
    shap.plots.waterfall(explanation, max_display=max_display, show=False)
    fig = plt.gcf()
    ax = fig.axes[0]
    ax.set_title(
        f"Declaration {case.declaration_id}: score {case.score:.2f}, channel {case.channel}",
        fontsize=12,
        fontweight="bold",
        pad=28,  # room for shap's f(x) annotation above the axes
    )
    # labelpad clears shap's E[f(X)] annotation under the axis
    ax.set_xlabel(
        "Log-odds of an offence: base value plus each feature's SHAP contribution",
        labelpad=26,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


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
