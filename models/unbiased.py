"""Models judged on the declarations the service actually scored, without selection bias.

The selection records of a window (models.selection_log) give the population and how each
declaration came to be inspected; the store gives their fields and outcomes (the member's
labelled declarations and the outcomes fed back through /v1/outcomes). Any model, not only the
one that selected, ranks the whole population as serving would, and its precision and recall
at capacity are estimated from the outcomes by inverse propensity (models.selection_estimates):
off-policy evaluation, which is what lets a retraining gate compare a challenger with the
champion on the champion's own traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscore.features.dataset import History
from riskscore.models.metrics import top_mask
from riskscore.models.risk_model import RiskModel
from riskscore.models.selection_estimates import (
    MIN_RANDOM_OUTCOMES,
    Estimate,
    Estimates,
    estimate,
)
from riskscore.models.selection_log import with_outcomes
from riskscore.models.window import model_as_of


@dataclass
class Unbiased:
    """The estimates of one window, and what part of the selection records they rest on."""

    date_from: str
    date_to: str
    capacity: float
    scored: int  # selection records in the window
    in_store: int  # of them, declarations the store holds (the population judged)
    estimates: Estimates

    def figures(
        self, inspected: Mapping[str, float] | None = None
    ) -> list[tuple[str, Estimate | None, float | None]]:
        """(figure, unbiased estimate, the same on inspected declarations) for the tables of
        `riskscore evaluate` and the report; `inspected` the window's metrics."""
        e, inspected = self.estimates, inspected or {}
        share, key = f"{self.capacity * 100:g} %", f"{self.capacity * 100:g}pct"
        at = e.at_capacity.get("model", {})
        return [
            ("offence rate, all declarations", e.offence_rate, e.inspected.get("offence_rate")),
            ("offence rate, declarations left uninspected", e.green_offence_rate, None),
            ("precision of the red and yellow channels", e.policy_precision, None),
            (f"precision at {share}", at.get("precision"), inspected.get(f"precision_at_{key}")),
            (f"recall at {share}", at.get("recall"), inspected.get(f"recall_at_{key}")),
        ]

    def to_dict(self) -> dict:
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "capacity": self.capacity,
            "scored": self.scored,
            "in_store": self.in_store,
        } | self.estimates.to_dict()


def outcomes_of(history: History) -> pd.DataFrame:
    """member, declaration_id, illicit: the inspection outcomes the history holds (never a
    label inferred from a seizure link: only inspections count as the policy's outcomes)."""
    rows = history.declarations
    if "illicit" not in rows:
        return pd.DataFrame({"member": [], "declaration_id": [], "illicit": []})
    known = rows[rows["illicit"].notna()]
    return pd.DataFrame(
        {
            "member": known["reporting_country"].astype(str).to_numpy(),
            "declaration_id": known["id"].astype(str).to_numpy(),
            "illicit": known["illicit"].astype("float64").to_numpy(),
        }
    )


def unbiased(
    models: Mapping[str, RiskModel],
    history: History,
    selections: pd.DataFrame,
    capacity: float,
    date_from: pd.Timestamp | None = None,
    date_to: pd.Timestamp | None = None,
    *,
    compare: tuple[str, str] | None = None,
    seed: int = 0,
    min_random_outcomes: int = MIN_RANDOM_OUTCOMES,
) -> Unbiased | None:
    """Estimates for the declarations scored `date_from`..`date_to` (inclusive), each model in
    `models` ranking them all; None when no selection record falls in the window.

    `compare` (a, b) adds the bootstrap interval of a's precision at capacity minus b's.
    """
    if selections.empty:
        return None
    records = _window(selections, date_from, date_to)
    if records.empty:
        return None
    rows = history.declarations
    keyed = pd.MultiIndex.from_arrays(
        [rows["reporting_country"].astype(str), rows["id"].astype(str)]
    )
    wanted = pd.MultiIndex.from_arrays([records["member"], records["declaration_id"]])
    position = keyed.get_indexer(wanted)
    found = position >= 0
    population = records[found].reset_index(drop=True)
    frame = rows.iloc[position[found]].reset_index(drop=True)
    joined = with_outcomes(population, outcomes_of(history))
    tops = {}
    if len(frame):
        first = frame["date"].min().normalize()
        for name, model in models.items():
            state = model.info.get("state_as_of")
            served = (
                model_as_of(model, history, first)
                if state and first < pd.Timestamp(state)
                else model
            )
            tops[name] = top_mask(served.score(frame, explain="none").raw, capacity)
    pairs = [compare] if compare else []
    found_estimates = estimate(
        joined, tops, pairs=pairs, seed=seed, min_random_outcomes=min_random_outcomes
    )
    days = records["declaration_date"].dropna()
    return Unbiased(
        date_from=str(days.min()) if len(days) else "",
        date_to=str(days.max()) if len(days) else "",
        capacity=capacity,
        scored=len(records),
        in_store=int(found.sum()),
        estimates=found_estimates,
    )


def _window(
    selections: pd.DataFrame, date_from: pd.Timestamp | None, date_to: pd.Timestamp | None
) -> pd.DataFrame:
    days = pd.to_datetime(selections["declaration_date"], errors="coerce")
    keep = np.ones(len(selections), dtype=bool)
    if date_from is not None:
        keep &= (days >= pd.Timestamp(date_from).normalize()).to_numpy()
    if date_to is not None:
        keep &= (days <= pd.Timestamp(date_to).normalize()).to_numpy()
    return selections[keep].reset_index(drop=True)
