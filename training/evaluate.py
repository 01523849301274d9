"""Evaluate any registered model on any window of labelled declarations, as serving would.

The window is scored by `models.window.score_window`: `RiskModel.score`, the path a scoring
request takes, with the feature state refrozen at the window start when the window begins
before the model's state date, so the figures stay out of time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.dataset import load_history
from riskscore.features.store import Store
from riskscore.models.metrics import (
    at_capacity,
    by_segment,
    precision_key,
    probability_quality,
    top_mask,
)
from riskscore.models.risk_model import RiskModel
from riskscore.models.unbiased import Unbiased, unbiased
from riskscore.models.window import ScoredWindow, WindowError, score_window

SEGMENTS = ("hs2", "origin_country", "transport_mode")


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
    unbiased: Unbiased | None = None  # from the selection records, when the window has some

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
            "unbiased": self.unbiased.to_dict() if self.unbiased else None,
        }


def judge(window: ScoredWindow, share: float = 0.05) -> Evaluation:
    """The window's ranking judged at capacity: precision, recall, revenue, PR-AUC, and the
    calibrated probability's Brier score and log-loss.

    Ranking uses the raw score (the calibrated score ranks the same; the step calibration of
    models from before issue 11 has plateaus that would tie rows).
    Segment tables use the top `share` of the window.
    """
    scored, label = window.scored, window.label
    found = at_capacity(scored.raw, label, window.revenue)
    gate = precision_key(share)
    if gate not in found:
        found[gate] = float(label[top_mask(scored.raw, share)].mean())
    found |= probability_quality(scored.score, label)
    # scored.features maps feature name -> values (a frame or plain arrays alike).
    columns = pd.DataFrame({name: np.asarray(scored.features[name]) for name in SEGMENTS})
    dates = window.frame["date"]
    return Evaluation(
        date_from=str(dates.min().date()),
        date_to=str(dates.max().date()),
        rows=len(window.frame),
        positives=int(label.sum()),
        metrics=found,
        segments={name: by_segment(columns, scored.raw, label, name, share) for name in SEGMENTS},
        note=window.note,
    )


def evaluate(
    model: RiskModel,
    store_dir: Path,
    date_from: pd.Timestamp | None = None,
    date_to: pd.Timestamp | None = None,
    *,
    outcomes: pd.DataFrame | None = None,
    selections: pd.DataFrame | None = None,
    capacity: float = 0.05,
) -> Evaluation:
    """Evaluate on the store's labelled declarations of a window (with the `outcomes` fed
    back through the API) and, from the `selections` records of the same window, without
    selection bias at `capacity` (models.unbiased).

    Without `date_from` the window starts at the model's state date: the first day the model
    has not seen, so the figures are out of time. Without `date_to` it runs to the last record.
    """
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise EvaluationError(f"{store_dir}: no such store; ingest data first")
    history = load_history(Store(store_dir), outcomes=outcomes)
    if date_from is None and model.info.get("state_as_of"):
        date_from = pd.Timestamp(model.info["state_as_of"])
    try:
        found = judge(score_window(model, history, date_from, date_to))
    except WindowError as exc:
        raise EvaluationError(f"{exc} (--from/--to)") from None
    if selections is not None and len(selections):
        found.unbiased = unbiased(
            {"model": model}, history, selections, capacity, date_from, date_to
        )
    return found
