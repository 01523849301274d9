"""Evaluate any registered model on any window of labelled declarations, as serving would.

The rows are scored by `RiskModel.score`, the path a scoring request takes. The model's own
feature state is used for a window after its state date; for a window that starts earlier, the
state is refrozen from the records before the window (`model_as_of`), so no row sees its own
outcome or later seizures and the figures stay out of time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.dataset import History, load_history
from riskscore.features.pipeline import LABEL, FeaturePipeline
from riskscore.features.store import Store
from riskscore.models.risk_model import RiskModel
from riskscore.training.metrics import at_capacity, by_segment, top_mask
from riskscore.training.train import revenue_of

SEGMENTS = ("hs2", "origin_country", "transport_mode")
MIN_ROWS = 50


class EvaluationError(Exception):
    """The window cannot be evaluated (no rows, no positives...); the message says why."""


@dataclass
class Evaluation:
    """Quality of one model on one window."""

    date_from: str
    date_to: str
    rows: int
    positives: int
    metrics: dict[str, float]
    segments: dict[str, pd.DataFrame] = field(default_factory=dict)
    note: str | None = None  # how the window was scored, when not with the served state

    def to_dict(self) -> dict:
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "rows": self.rows,
            "positives": self.positives,
            "metrics": self.metrics,
            "segments": {
                name: table.reset_index().replace({np.nan: None}).to_dict("records")
                for name, table in self.segments.items()
            },
            "note": self.note,
        }


def model_as_of(model: RiskModel, history: History, as_of: pd.Timestamp) -> RiskModel:
    """The model with its feature state refrozen from the records dated before `as_of`.

    Booster, encoder, calibration and thresholds are unchanged. The registered model carries a
    state that already holds the validation window's outcomes and seizures; scoring that window
    with it would let rows see their own labels. Refrozen at the window start, the validation
    metrics logged at training are reproduced exactly.
    """
    declarations, seizures = history.declarations, history.seizures
    pipeline = FeaturePipeline(model.pipeline.config).fit(
        declarations[declarations["date"] < as_of], seizures[seizures["date"] < as_of], as_of
    )
    return dataclasses.replace(model, pipeline=pipeline)


def evaluate_rows(model: RiskModel, declarations: pd.DataFrame, share: float = 0.05) -> Evaluation:
    """Score labelled declarations with the model and judge the ranking at capacity.

    Ranking uses the raw score (calibration only relabels it, and its plateaus would tie rows).
    Segment tables use the top `share` of the window.
    """
    if len(declarations) == 0:
        raise EvaluationError("no labelled declarations in the window")
    label = declarations[LABEL].to_numpy(dtype="float64")
    scored = model.score(declarations, explain="none")
    revenue = revenue_of(declarations)
    found = at_capacity(scored.raw, label, revenue)
    gate = precision_key(share)
    if gate not in found:
        found[gate] = float(label[top_mask(scored.raw, share)].mean())
    found["brier"] = float(np.mean((scored.score - label) ** 2))
    # scored.features maps feature name -> values (a frame or plain arrays alike).
    columns = pd.DataFrame({name: np.asarray(scored.features[name]) for name in SEGMENTS})
    segments = {name: by_segment(columns, scored.raw, label, name, share) for name in SEGMENTS}
    dates = declarations["date"]
    return Evaluation(
        date_from=str(dates.min().date()),
        date_to=str(dates.max().date()),
        rows=len(declarations),
        positives=int(label.sum()),
        metrics=found,
        segments=segments,
    )


def precision_key(share: float) -> str:
    """The metric name of precision at an inspected share (as `metrics.at_capacity` names it)."""
    return f"precision_at_{share * 100:g}pct"


def window(
    declarations: pd.DataFrame,
    date_from: pd.Timestamp | None,
    date_to: pd.Timestamp | None,
) -> pd.DataFrame:
    """Labelled declarations dated from `date_from` to `date_to`, both included."""
    rows = declarations[declarations[LABEL].notna()]
    if date_from is not None:
        rows = rows[rows["date"] >= pd.Timestamp(date_from)]
    if date_to is not None:
        rows = rows[rows["date"] <= pd.Timestamp(date_to)]
    return rows


def evaluate(
    model: RiskModel,
    store_dir: Path,
    date_from: pd.Timestamp | None = None,
    date_to: pd.Timestamp | None = None,
) -> Evaluation:
    """Evaluate on the store's labelled declarations of a window.

    Without `date_from` the window starts at the model's state date: the first day the model
    has not seen, so the figures are out of time. Without `date_to` it runs to the last record.
    """
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise EvaluationError(f"{store_dir}: no such store; ingest data first")
    history = load_history(Store(store_dir))
    if date_from is None and model.info.get("state_as_of"):
        date_from = pd.Timestamp(model.info["state_as_of"])
    rows = window(history.declarations, date_from, date_to)
    span = _span(history.declarations)
    if len(rows) < MIN_ROWS:
        raise EvaluationError(
            f"the window {_day(date_from)} to {_day(date_to)} holds {len(rows)} labelled "
            f"declarations (need at least {MIN_ROWS}; the store spans {span}): "
            "choose --from/--to"
        )
    if rows[LABEL].sum() == 0:
        raise EvaluationError("the window has no positive declaration: precision is undefined")
    start = rows["date"].min()
    state_as_of = model.info.get("state_as_of")
    if state_as_of and start < pd.Timestamp(state_as_of):
        result = evaluate_rows(model_as_of(model, history, start), rows)
        result.note = (
            f"the window starts before {state_as_of}, the date of the model's feature state: "
            f"it was scored with the state refrozen at {start.date()}"
        )
        return result
    return evaluate_rows(model, rows)


def _span(declarations: pd.DataFrame) -> str:
    if declarations.empty:
        return "nothing"
    return f"{declarations['date'].min().date()} to {declarations['date'].max().date()}"


def _day(value: pd.Timestamp | None) -> str:
    return str(pd.Timestamp(value).date()) if value is not None else "(open)"
