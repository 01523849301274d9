"""`riskscore refresh`: the served model's feature state recomputed from the store, published.

Seizures, declarations and outcomes ingested after training reach scoring without retraining:
the statistics the model reads (trader records, hit rates, seizure rates, reference prices) are
recomputed as of now, with the model's own feature definitions, outcome lag and training-window
start, while the booster, encoders and calibration stay as registered; new seizures alone are
folded into the published state (training.state_update). The new state is checked (it must
score the model's own example) before it is published (models.state); a refresh that fails
publishes nothing, so the served state stays as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskscore.database import locate
from riskscore.features.outcomes import read_outcomes
from riskscore.features.store import Store
from riskscore.models import registry, state
from riskscore.models.risk_model import RiskModel
from riskscore.settings import Settings
from riskscore.training.state_update import Definition, StateBase, compute_state


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
    mode: str = "full"  # "full", "incremental" or "unchanged" (nothing published)
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "model": {"name": self.name, "version": self.version, "alias": self.alias},
            "mode": self.mode,
            "reason": self.reason,
            "state": self.state.to_dict(),
            "previous_state": self.previous.to_dict(),
            "records": self.records,
            "seconds": self.seconds,
        }


def definition_of(model: RiskModel) -> Definition:
    """The definitions the model's state is computed with: its feature config, the start of its
    training window, its member-specific columns (a column that appeared in the store since is
    not an input of this model)."""
    start = model.info.get("train_from")
    extras = dict(model.pipeline.state_.extras) if model.pipeline.state_ else {}
    return Definition(model.pipeline.config, pd.Timestamp(start) if start else None, extras)


def refresh(
    store_dir: Path,
    settings: Settings,
    alias: str | None = None,
    as_of: pd.Timestamp | None = None,
    full: bool = False,
) -> RefreshResult:
    """Recompute and publish the feature state of `name@alias` (default: the settings' alias):
    new seizures folded into the published state when that is exact (training.state_update),
    else (or with `full`) recomputed from the whole store."""
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
    if not target.run_id:
        raise RefreshError(f"{name} version {target.version} has no run to publish the state in")
    model = registry.load_model(f"models:/{name}/{target.version}")
    published = state.published(target.tags)
    previous_ref = published or state.state_of(model)
    earlier = None if full else _earlier(target.run_id, published)
    seconds["load"] = _lap(clock)

    try:
        computed = compute_state(
            Store(store_dir),
            definition_of(model),
            read_outcomes(locate(settings).outcomes),
            earlier,
            as_of,
        )
    except ValueError as exc:  # an empty store
        raise RefreshError(str(exc)) from None
    seconds["compute"] = _lap(clock, seconds)
    reason = "--full given" if full and computed.mode == "full" else computed.reason
    if computed.state is None:  # nothing new: the published state stands
        seconds["total"] = round(time.perf_counter() - clock, 3)
        return RefreshResult(name, target.version, alias, previous_ref, previous_ref,
                             computed.counts, seconds, "unchanged", reason)  # fmt: skip

    as_of_text = str(computed.as_of.date())
    provisional = state.StateRef("unpublished", as_of_text, datetime.now(UTC).isoformat())
    _check(state.with_state(model, computed.state, provisional))
    seconds["check"] = _lap(clock, seconds)
    total = time.perf_counter() - clock
    ref = state.publish(
        name, target.version, target.run_id, computed.state, as_of_text, total,
        base=computed.base, mode=computed.mode,
    )  # fmt: skip
    seconds["publish"] = _lap(clock, seconds)
    seconds["total"] = round(time.perf_counter() - clock, 3)
    return RefreshResult(name, target.version, alias, ref, previous_ref, computed.counts,
                         seconds, computed.mode, reason)  # fmt: skip


def _earlier(run_id: str, ref: state.StateRef | None) -> tuple | None:
    """The published state and what it was computed from, when both can be fetched (else
    the refresh is a full one)."""
    if ref is None or not ref.base:
        return None
    try:
        base = state.fetch_base(run_id, ref)
        if not isinstance(base, StateBase):
            return None
        return state.fetch(run_id, ref), base
    except state.StateError:
        return None


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
