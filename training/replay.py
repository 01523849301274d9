"""One inspection policy replayed week by week: score, select, reveal, retrain.

What the policy's world knows at the start of the simulated period is what the store records
before it. Inside the period a record's outcome is known only if this policy inspected it;
every other record is unlabelled, which training reads as 0 (the production rule), and the
feature state counts the same way. Seizure links inside the period are not used as labels:
those seizures followed the historical inspections, not this policy's, so they would hand
every policy the historical selection's finds. The seizures themselves stay in the feature
state (seizure rates per cell), the same for every policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from riskscore.features.dataset import History
from riskscore.features.pipeline import LABEL
from riskscore.models.risk_model import RiskModel
from riskscore.models.state import StateRef, with_state
from riskscore.training.config import TrainConfig
from riskscore.training.policies import Candidates, Policy, Revealed, segment_of, top
from riskscore.training.refresh import definition_of
from riskscore.training.state_update import fit
from riskscore.training.train import TrainingError, TrainResult
from riskscore.training.universe import Universe

WEEK = pd.Timedelta(days=7)
Trainer = Callable[[History, TrainConfig], TrainResult]


@dataclass(frozen=True)
class Plan:
    """The weeks and rules every policy is replayed under."""

    weeks: tuple[pd.Timestamp, ...]  # week starts, consecutive
    capacity: float
    retrain_every: int  # 0: never
    refresh: bool
    seed: int
    retrain: TrainConfig  # the fixed shape of the initial model


@dataclass
class WeekResult:
    """One week of one policy."""

    week: str  # ISO date of the week start
    inspected: int
    hits: int
    precision: float
    recall: float | None  # None when the week's population holds no offence
    revenue: float
    population: int
    offences: int
    revenue_available: float  # what inspecting every candidate would have recovered
    # Hits of the model's own top k among all candidates, whatever the policy selected: what
    # this policy's revealed outcomes taught the model, apart from what selecting cost.
    model_hits: int
    retrained: bool  # a new model was trained at the end of this week
    train_seconds: float
    refresh_seconds: float
    retrain_error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Labels:
    """The records with the labels one policy knows: before the period as the store records
    them, inside it only what this policy revealed."""

    frame: pd.DataFrame
    start: pd.Timestamp

    @classmethod
    def at_start(cls, records: pd.DataFrame, start: pd.Timestamp) -> Labels:
        frame = records.copy()
        inside = (frame["date"] >= start).to_numpy()
        frame.loc[inside, LABEL] = 0
        frame.loc[inside, "label_source"] = "none"
        frame.loc[inside, "link_method"] = None
        if "illicit" in frame:
            frame.loc[inside, "illicit"] = pd.NA
        if "revenue_recovered" in frame:
            frame.loc[inside, "revenue_recovered"] = np.nan
        return cls(frame, start)

    def reveal(self, rows: np.ndarray, universe: Universe) -> None:
        """The inspected `rows` (positions) now carry their outcome, as an inspection would."""
        if not len(rows):
            return
        self.frame.loc[rows, LABEL] = universe.outcome[rows]
        self.frame.loc[rows, "label_source"] = "inspection"
        if "illicit" in self.frame:
            self.frame.loc[rows, "illicit"] = universe.outcome[rows]
        if "revenue_recovered" in self.frame:
            self.frame.loc[rows, "revenue_recovered"] = universe.revenue[rows]

    def history(self, seizures: pd.DataFrame, before: pd.Timestamp) -> History:
        known = self.frame[self.frame["date"] < before].reset_index(drop=True)
        return History(known, seizures, None, {})


def replay(
    policy: Policy,
    records: pd.DataFrame,
    seizures: pd.DataFrame,
    universe: Universe,
    plan: Plan,
    model: RiskModel,
    trainer: Trainer,
    on_week: Callable[[int], None] | None = None,
) -> list[WeekResult]:
    """The weeks of `policy`, starting from `model`; `on_week(i)` after each week."""
    labels = Labels.at_start(records, plan.weeks[0])
    revealed = Revealed()
    segments = segment_of(records)
    days = records["date"].to_numpy()
    results = []
    for i, start in enumerate(plan.weeks):
        clock = time.perf_counter()
        current = refreshed(model, labels, seizures, start) if plan.refresh else model
        refresh_seconds = time.perf_counter() - clock
        rows = np.flatnonzero(
            universe.candidate
            & (days >= start.to_datetime64())
            & (days < (start + WEEK).to_datetime64())
        )
        chosen, ranked = _choose(policy, current, records, rows, revealed, plan, i)
        labels.reveal(chosen, universe)
        revealed.add(segments[chosen], universe.outcome[chosen])
        week = measure(start, rows, chosen, universe, refresh_seconds, ranked)
        last = i + 1 == len(plan.weeks)  # a model trained after the last week scores nothing
        if plan.retrain_every and (i + 1) % plan.retrain_every == 0 and not last:
            clock = time.perf_counter()
            try:
                model = trainer(labels.history(seizures, start + WEEK), plan.retrain).model
                week.retrained = True
            except TrainingError as exc:  # too little data: the current model goes on
                week.retrain_error = str(exc)
            week.train_seconds = round(time.perf_counter() - clock, 3)
        results.append(week)
        if on_week is not None:
            on_week(i)
    return results


def refreshed(
    model: RiskModel, labels: Labels, seizures: pd.DataFrame, day: pd.Timestamp
) -> RiskModel:
    """`model` with its feature state recomputed as of `day` from what this policy knows, as
    the daily `riskscore refresh` does (training.state_update.fit); the model itself when its
    state is already of that day (right after training)."""
    state = model.pipeline.state_
    as_of_day = int(np.datetime64(day.date(), "D").astype("int64"))
    if state is not None and state.as_of_day == as_of_day:
        return model
    fitted = fit(definition_of(model), labels.history(seizures, day), day)
    return with_state(model, fitted, StateRef("simulated", str(day.date()), None))


def _choose(
    policy: Policy,
    model: RiskModel,
    records: pd.DataFrame,
    rows: np.ndarray,
    revealed: Revealed,
    plan: Plan,
    week: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The record positions `policy` inspects among the candidate `rows`, and the positions
    of the model's own top k."""
    k = int(round(plan.capacity * len(rows)))
    if not k:
        return np.array([], dtype=int), np.array([], dtype=int)
    frame = records.iloc[rows].reset_index(drop=True)
    scored = model.score(frame, explain="none")
    # One stream per (seed, week): every policy draws from the same one, whatever it drew before.
    rng = np.random.default_rng([plan.seed, week])
    picked = policy.select(Candidates(frame, scored.raw, scored.score), revealed, rng, k)
    if len(picked) != k or len(np.unique(picked)) != k:
        raise AssertionError(f"policy {policy.name} selected {len(picked)} rows, not {k}")
    return rows[picked], rows[top(scored.raw, k)]


def measure(
    start: pd.Timestamp,
    rows: np.ndarray,
    chosen: np.ndarray,
    universe: Universe,
    refresh_seconds: float = 0.0,
    ranked: np.ndarray | None = None,
) -> WeekResult:
    """The week's figures: precision over the inspected, recall over the week's offences."""
    found = universe.outcome[chosen] > 0
    hits = int(found.sum())
    offences = int(universe.outcome[rows].sum())
    return WeekResult(
        week=str(start.date()),
        inspected=len(chosen),
        hits=hits,
        precision=hits / len(chosen) if len(chosen) else 0.0,
        recall=hits / offences if offences else None,
        revenue=float(universe.revenue[chosen][found].sum()),
        population=len(rows),
        offences=offences,
        revenue_available=float(universe.revenue[rows].sum()),
        model_hits=int(universe.outcome[chosen if ranked is None else ranked].sum()),
        retrained=False,
        train_seconds=0.0,
        refresh_seconds=round(refresh_seconds, 3),
    )


def totals(weeks: list[WeekResult]) -> dict:
    """Over all weeks: precision = sum hits / sum inspected, recall = sum hits / sum offences."""
    inspected = sum(w.inspected for w in weeks)
    hits = sum(w.hits for w in weeks)
    offences = sum(w.offences for w in weeks)
    return {
        "precision": hits / inspected if inspected else 0.0,
        "recall": hits / offences if offences else None,
        "revenue": float(sum(w.revenue for w in weeks)),
        "inspected": inspected,
        "hits": hits,
        "offences": offences,
        "revenue_available": float(sum(w.revenue_available for w in weeks)),
        "model_precision": sum(w.model_hits for w in weeks) / inspected if inspected else 0.0,
        "retrains": sum(w.retrained for w in weeks),
        "failed_retrains": sum(w.retrain_error is not None for w in weeks),
    }
