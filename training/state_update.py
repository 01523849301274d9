"""A model's feature state from the store: recomputed in full, or updated with what is new.

`compute_state` returns the state and a `StateBase` (what it was computed from: the store parts
read, the API outcomes, the records seizures label irregular). Given the previous state and its
base, it folds in only what is new when that is exact, and says why not otherwise:

- new **seizures** are folded in: their counts per seizure-intelligence cell, and the records
  they now label irregular (one more positive outcome each, found by linking only the new
  seizures: every seizure links on its own, so the earlier links stand);
- new clearance records or declarations, other API outcomes, an explicit `as_of`, or seizures
  dated on or after the state's day mean a full recomputation: new records move the day of
  the state, and outcomes can relabel any record.

Nothing new at all is "unchanged": no state to publish.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscore.features.dataset import History, load_history, load_records
from riskscore.features.linking import labels_from_links, link_seizures
from riskscore.features.membership import is_in
from riskscore.features.pipeline import FeatureConfig, FeaturePipeline, FeatureState, fold_state
from riskscore.features.store import Store

KINDS = ("clearance", "declarations", "seizures")


@dataclass(frozen=True)
class StateBase:
    """What a state was computed from; the next update folds into it."""

    parts: dict[str, tuple[str, ...]]  # kind -> committed part file names read
    outcomes: str  # fingerprint of the API outcomes applied
    linked: frozenset[str]  # ids of the records some seizure links to
    as_of: str  # the state holds the records dated before this day
    complete: bool  # every record of those parts is dated before `as_of`


@dataclass
class Computed:
    state: FeatureState | None  # None: unchanged
    base: StateBase | None  # None: the store changed while it was read; next time in full
    mode: str  # "full", "incremental" or "unchanged"
    reason: str  # why this mode, in words
    as_of: pd.Timestamp
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Definition:
    """The model's definitions a state is computed with."""

    config: FeatureConfig
    train_from: pd.Timestamp | None
    extras: dict[str, bool]


def compute_state(
    store: Store,
    definition: Definition,
    outcomes: pd.DataFrame,
    previous: tuple[FeatureState, StateBase] | None = None,
    as_of: pd.Timestamp | None = None,
) -> Computed:
    """The state as of `as_of` (default: the day after the latest record), folded into
    `previous` when that is exact, else recomputed in full."""
    parts = _parts(store)
    fingerprint = _fingerprint(outcomes)
    why_not = _why_full(parts, fingerprint, previous, as_of)
    if why_not is None:
        assert previous is not None
        state, base = previous
        seizures = store.read_parts("seizures", _new_parts(parts, base))
        if len(seizures) and _days(seizures["date"]).max() >= state.as_of_day:
            why_not = "new seizures are dated on or after the earlier state's day"
        else:
            return _update(store, definition, outcomes, previous, parts, seizures)
    history = load_history(store, outcomes=outcomes)
    day = pd.Timestamp(as_of).normalize() if as_of is not None else default_as_of(history)
    fitted = fit(definition, history, day)
    latest = max(f["date"].max() for f in (history.declarations, history.seizures) if len(f))
    base = StateBase(
        parts,
        fingerprint,
        frozenset(history.declarations.loc[history.declarations["link_method"].notna(), "id"]),
        str(day.date()),
        complete=bool(latest < day),
    )
    counts = {
        "declarations": int((history.declarations["date"] < day).sum()),
        "seizures": int((history.seizures["date"] < day).sum()),
    }
    # A part committed while the history was read may or may not be in it: no base then.
    return Computed(fitted, base if _parts(store) == parts else None, "full", why_not, day, counts)


def default_as_of(history: History) -> pd.Timestamp:
    """The day after the latest record of the store: the state then holds everything known."""
    latest = [f["date"].max() for f in (history.declarations, history.seizures) if len(f)]
    if not latest:
        raise ValueError("the store holds no records: ingest data first")
    return max(latest).normalize() + pd.Timedelta(days=1)


def fit(definition: Definition, history: History, as_of: pd.Timestamp) -> FeatureState:
    """The state of `history` as of `as_of`, with the model's definitions (training's window
    start, feature config, member-specific columns)."""
    declarations = history.declarations
    keep = _window(declarations, definition, as_of)
    seizures = history.seizures[history.seizures["date"] < as_of]
    pipeline = FeaturePipeline(definition.config).fit(declarations[keep], seizures, as_of)
    fitted = pipeline.state_
    assert fitted is not None
    fitted.extras = dict(definition.extras)
    return fitted


def _window(declarations: pd.DataFrame, definition: Definition, as_of: pd.Timestamp) -> pd.Series:
    keep = declarations["date"] < as_of
    if definition.train_from is not None:
        keep &= declarations["date"] >= definition.train_from
    return keep


def _why_full(
    parts: dict[str, tuple[str, ...]],
    fingerprint: str,
    previous: tuple[FeatureState, StateBase] | None,
    as_of: pd.Timestamp | None,
) -> str | None:
    """Why the state must be recomputed in full, as far as the store's parts and the outcomes
    tell; None when folding new seizures in is exact."""
    if previous is None:
        return "no earlier state to update"
    _, base = previous
    if as_of is not None:
        return "--as-of given"
    if not base.complete:
        return "the earlier state does not hold every record of its store"
    for kind in ("clearance", "declarations"):
        if parts[kind] != base.parts.get(kind):
            return f"{kind} changed since the earlier state"
    if not set(base.parts.get("seizures", ())) <= set(parts["seizures"]):
        return "seizure parts were removed since the earlier state"
    if fingerprint != base.outcomes:
        return "outcomes fed back through the API changed since the earlier state"
    return None


def _update(
    store: Store,
    definition: Definition,
    outcomes: pd.DataFrame,
    previous: tuple[FeatureState, StateBase],
    parts: dict[str, tuple[str, ...]],
    seizures: pd.DataFrame,
) -> Computed:
    """Fold the new `seizures`, and the records they label irregular, into the earlier state."""
    state, base = previous
    as_of = pd.Timestamp(base.as_of)
    if seizures.empty:
        return Computed(None, base, "unchanged", "nothing new in the store", as_of)
    records, _ = load_records(store, outcomes)
    linked = labels_from_links(link_seizures(seizures, records).links)["clearance_id"]
    newly = is_in(records["id"], linked) & ~is_in(records["id"], list(base.linked))
    # A record with its own inspection outcome keeps it; a link labels only the others.
    irregular = newly & records["illicit"].isna().to_numpy() & _window(records, definition, as_of)
    folded = fold_state(state, seizures, records[irregular])
    new_base = StateBase(
        parts,
        base.outcomes,
        base.linked | frozenset(linked.astype(str)),
        base.as_of,
        base.complete,
    )
    counts = {"new_seizures": len(seizures), "newly_irregular": int(irregular.sum())}
    reason = f"{len(seizures)} new seizures folded in"
    unchanged_store = _parts(store) == parts
    return Computed(folded, new_base if unchanged_store else None, "incremental", reason, as_of,
                    counts)  # fmt: skip


def _parts(store: Store) -> dict[str, tuple[str, ...]]:
    return {kind: tuple(p.name for p in store.parts(kind)) for kind in KINDS}


def _new_parts(parts: dict[str, tuple[str, ...]], base: StateBase) -> list[str]:
    seen = set(base.parts.get("seizures", ()))
    return [p for p in parts["seizures"] if p not in seen]


def _days(dates: pd.Series) -> pd.Series:
    return dates.dt.normalize().astype("datetime64[s]").astype("int64") // 86_400


def _fingerprint(outcomes: pd.DataFrame) -> str:
    if outcomes is None or outcomes.empty:
        return "none"
    hashed = pd.util.hash_pandas_object(outcomes, index=False).to_numpy(dtype="uint64")
    return hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()[:16]
