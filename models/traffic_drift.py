"""Drift of a window of the store against a model's reference: `riskscore drift`, the report's
drift section and `retrain --if-drift`.

The window's declarations (every record, labelled or not: drift is about traffic, not outcomes)
are featurised as serving would have featurised them on their day (the feature state refrozen
at the window start when it begins before the model's state date), then binned with the
model's reference bins (models.drift).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from riskscore.features.dataset import History
from riskscore.models.drift import SCORE, drift_table, reference_of, relied_on_drift
from riskscore.models.risk_model import RiskModel
from riskscore.models.window import model_as_of

DEFAULT_DAYS = 30
MIN_ROWS = 200  # fewer declarations than this and a PSI is mostly sampling noise


class DriftError(ValueError):
    """Drift cannot be measured (no reference, no declarations in the window); says why."""


@dataclass
class TrafficDrift:
    """PSI per input and for the score over one window of declarations."""

    date_from: str
    date_to: str
    rows: int
    reference: str  # the traffic the model's reference describes
    table: pd.DataFrame  # feature, psi, importance_share, level, relied_on

    @property
    def relied_on(self) -> tuple[float, str]:
        """The largest PSI among the score and the inputs the model relies on, and whose."""
        return relied_on_drift(self.table)

    @property
    def score_psi(self) -> float:
        return float(self.table.loc[self.table["feature"] == SCORE, "psi"].iloc[0])

    def to_dict(self) -> dict:
        value, feature = self.relied_on
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "rows": self.rows,
            "reference": self.reference,
            "score_psi": self.score_psi,
            "relied_on_max_psi": value,
            "relied_on_max_feature": feature,
            "features": self.table.to_dict("records"),
        }


def traffic_drift(
    model: RiskModel,
    history: History,
    date_from: pd.Timestamp | None = None,
    date_to: pd.Timestamp | None = None,
    days: int = DEFAULT_DAYS,
) -> TrafficDrift:
    """Drift of the declarations dated `date_from`..`date_to` (inclusive). Without `date_from`,
    the last `days` days up to `date_to` (default: the last record)."""
    reference = reference_of(model.info)
    if reference is None:
        raise DriftError(
            "this model version has no drift reference (trained before drift was measured): "
            "retrain it to measure drift"
        )
    records = history.declarations
    if records.empty:
        raise DriftError("the store holds no declarations")
    end = pd.Timestamp(date_to).normalize() if date_to is not None else records["date"].max()
    end = end.normalize()
    start = (
        pd.Timestamp(date_from).normalize()
        if date_from is not None
        else end - pd.Timedelta(days=days - 1)
    )
    window = records[(records["date"] >= start) & (records["date"] < end + pd.Timedelta(days=1))]
    if window.empty:
        raise DriftError(f"no declarations from {start.date()} to {end.date()}: choose a window")
    state = model.info.get("state_as_of")
    served = model_as_of(model, history, start) if state and start < pd.Timestamp(state) else model
    scored = served.score(window.reset_index(drop=True), explain="none")
    counts = reference.counts(scored.matrix, scored.raw)
    return TrafficDrift(
        date_from=str(start.date()),
        date_to=str(end.date()),
        rows=len(window),
        reference=reference.window,
        table=drift_table(reference, counts, model.info),
    )
