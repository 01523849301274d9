"""`riskscore refresh`: the served model's feature state recomputed from the store, published.

Seizures, declarations and outcomes ingested after training reach scoring without retraining:
the statistics the model reads (trader records, hit rates, seizure rates, reference prices) are
recomputed as of now, with the model's own feature definitions, outcome lag and training-window
start, while the booster, encoders and calibration stay as registered. The new state is checked
(it must score the model's own example) before it is published (models.state); a refresh that
fails publishes nothing, so the served state stays as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskscore.features.dataset import History, load_history
from riskscore.features.outcomes import read_outcomes
from riskscore.features.pipeline import FeaturePipeline, FeatureState
from riskscore.features.store import Store
from riskscore.models import registry, state
from riskscore.models.risk_model import RiskModel
from riskscore.settings import Settings


class RefreshError(Exception):
    """The refresh cannot go on; nothing was published. The message says why."""


@dataclass
class RefreshResult:
    """What a refresh published, and what it was computed from."""

    name: str
    version: str
    alias: str
    state: state.StateRef
    previous: state.StateRef
    records: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "model": {"name": self.name, "version": self.version, "alias": self.alias},
            "state": self.state.to_dict(),
            "previous_state": self.previous.to_dict(),
            "records": self.records,
            "seconds": self.seconds,
        }


def default_as_of(history: History) -> pd.Timestamp:
    """The day after the latest record of the store: the state then holds everything known."""
    latest = [f["date"].max() for f in (history.declarations, history.seizures) if len(f)]
    if not latest:
        raise RefreshError("the store holds no records: ingest data first")
    return max(latest).normalize() + pd.Timedelta(days=1)


def fit_state(model: RiskModel, history: History, as_of: pd.Timestamp) -> FeatureState:
    """The model's feature state recomputed on `history` as of `as_of` (records dated before it).

    Same definitions as training: the model's feature config, its training window's start, and
    its member-specific columns (a column that appeared in the store since is not a model input).
    """
    declarations = history.declarations
    start = model.info.get("train_from")
    keep = declarations["date"] < as_of
    if start:
        keep &= declarations["date"] >= pd.Timestamp(start)
    seizures = history.seizures[history.seizures["date"] < as_of]
    pipeline = FeaturePipeline(model.pipeline.config).fit(declarations[keep], seizures, as_of)
    fitted = pipeline.state_
    assert fitted is not None
    fitted.extras = dict(model.pipeline.state_.extras) if model.pipeline.state_ else {}
    return fitted


def refresh(
    store_dir: Path,
    settings: Settings,
    alias: str | None = None,
    as_of: pd.Timestamp | None = None,
) -> RefreshResult:
    """Recompute and publish the feature state of `name@alias` (default: the settings' alias)."""
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    alias = alias or settings.model_alias
    name = settings.model_name
    if not Path(store_dir).is_dir():
        raise RefreshError(f"{store_dir}: no such store; ingest data first")
    registry.configure(settings)
    try:
        target = registry.alias_target(name, alias)
    except registry.NoVersionError as exc:
        raise RefreshError(str(exc)) from None
    model = registry.load_model(f"models:/{name}/{target.version}")
    previous = state.published(target.tags) or state.state_of(model)
    seconds["load_model"] = _lap(clock)

    history = load_history(Store(store_dir), outcomes=read_outcomes(settings.outcomes_db))
    seconds["load_history"] = _lap(clock, seconds)
    day = pd.Timestamp(as_of).normalize() if as_of is not None else default_as_of(history)
    fitted = fit_state(model, history, day)
    seconds["fit_state"] = _lap(clock, seconds)

    as_of_text = str(day.date())
    provisional = state.StateRef("unpublished", as_of_text, datetime.now(UTC).isoformat())
    _check(state.with_state(model, fitted, provisional))
    seconds["check"] = _lap(clock, seconds)
    total = time.perf_counter() - clock
    if not target.run_id:
        raise RefreshError(f"{name} version {target.version} has no run to publish the state in")
    published = state.publish(name, target.version, target.run_id, fitted, as_of_text, total)
    seconds["publish"] = _lap(clock, seconds)
    seconds["total"] = round(time.perf_counter() - clock, 3)
    records = {
        "declarations": int((history.declarations["date"] < day).sum()),
        "seizures": int((history.seizures["date"] < day).sum()),
        "labelled": int(history.declarations["label"].notna().sum()),
    }
    return RefreshResult(name, target.version, alias, published, previous, records, seconds)


def _check(model: RiskModel) -> None:
    """The refreshed model must score its own example, as serving checks before it swaps."""
    example = model.info.get("example")
    if not example:
        return
    try:
        model.score({k: [v] for k, v in example.items()}, explain="all")
    except Exception as exc:  # noqa: BLE001 - whatever breaks, nothing is published
        raise RefreshError(
            f"the refreshed state cannot score the model's example: {exc!r}"
        ) from None


def _lap(clock: float, seconds: dict[str, float] | None = None) -> float:
    """Seconds since `clock` minus the steps already timed."""
    return round(time.perf_counter() - clock - sum((seconds or {}).values()), 3)
