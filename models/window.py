"""A window of labelled declarations, scored as serving scores them and with no row seeing its
own outcome: the one way evaluation, retraining and the analyst report judge a model.

A registered model carries a feature state that already holds its validation window's outcomes
and seizures. A window that starts before that state's date is scored with the state refrozen
from the records dated before the window (`model_as_of`); a window after it with the model as
served. Booster, encoder, calibration and thresholds never change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscore.features.dataset import History
from riskscore.features.pipeline import LABEL, FeaturePipeline
from riskscore.models.metrics import revenue_of
from riskscore.models.risk_model import RiskModel, Scored

# Fewer rows than this say nothing at 1 % capacity (not one row selected below 100).
MIN_ROWS = 50


class WindowError(ValueError):
    """The window cannot be judged (too few rows, no offence); the message says why."""


@dataclass
class ScoredWindow:
    """The labelled declarations of a window and how the model scored them."""

    model: RiskModel  # the model as it scored the window (state refrozen when it had to be)
    frame: pd.DataFrame
    label: np.ndarray
    revenue: np.ndarray | None
    scored: Scored
    start: pd.Timestamp
    end: pd.Timestamp  # last day, inclusive
    refrozen_at: pd.Timestamp | None = None  # when the state was refrozen, its date

    @property
    def note(self) -> str | None:
        """How the window was scored, when not with the state the model serves with."""
        if self.refrozen_at is None:
            return None
        return (
            f"the window starts before {self.model.info.get('state_as_of')}, the date of the "
            f"model's feature state: it was scored with the state refrozen at "
            f"{self.refrozen_at.date()}"
        )


def labelled(
    declarations: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> pd.DataFrame:
    """The labelled declarations dated from `start` to `end`, both included (None: open)."""
    rows = declarations[declarations[LABEL].notna()]
    if start is not None:
        rows = rows[rows["date"] >= pd.Timestamp(start)]
    if end is not None:
        rows = rows[rows["date"] <= pd.Timestamp(end)]
    return rows


def model_as_of(model: RiskModel, history: History, as_of: pd.Timestamp) -> RiskModel:
    """The model with its feature state refrozen from the records dated before `as_of`."""
    declarations, seizures = history.declarations, history.seizures
    pipeline = FeaturePipeline(model.pipeline.config).fit(
        declarations[declarations["date"] < as_of], seizures[seizures["date"] < as_of], as_of
    )
    served = dataclasses.replace(model, pipeline=pipeline)
    served.info = dict(model.info)  # a copy: the caller's model keeps its own info
    return served


def score_window(
    model: RiskModel,
    history: History,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    min_rows: int = MIN_ROWS,
) -> ScoredWindow:
    """Score the labelled declarations dated `start`..`end` (inclusive; None: open).

    Raises WindowError when the window holds fewer than `min_rows` labelled declarations or
    no offence at all.
    """
    start = None if start is None else pd.Timestamp(start).normalize()
    end = None if end is None else pd.Timestamp(end).normalize()
    frame = labelled(history.declarations, start, end).reset_index(drop=True)
    if len(frame) < min_rows:
        raise WindowError(
            f"the window {_day(start)} to {_day(end)} holds {len(frame)} labelled declarations "
            f"(need at least {min_rows}; the store spans {_span(history.declarations)}): "
            "choose another window"
        )
    label = frame[LABEL].to_numpy(dtype="float64")
    first, last = frame["date"].min().normalize(), frame["date"].max().normalize()
    if label.sum() == 0:
        raise WindowError(
            f"no offence from {first.date()} to {last.date()}: precision is undefined"
        )
    as_of = start if start is not None else first
    state_as_of = model.info.get("state_as_of")
    refrozen_at = None
    if state_as_of and as_of < pd.Timestamp(state_as_of):
        model, refrozen_at = model_as_of(model, history, as_of), as_of
    scored = model.score(frame, explain="none")
    return ScoredWindow(
        model=model,
        frame=frame,
        label=label,
        revenue=revenue_of(frame),
        scored=scored,
        start=start if start is not None else first,
        end=end if end is not None else last,
        refrozen_at=refrozen_at,
    )


def _span(declarations: pd.DataFrame) -> str:
    if declarations.empty:
        return "nothing"
    return f"{declarations['date'].min().date()} to {declarations['date'].max().date()}"


def _day(value: pd.Timestamp | None) -> str:
    return str(pd.Timestamp(value).date()) if value is not None else "(open)"
