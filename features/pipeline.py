"""The feature pipeline: registry features for a history of declarations or for new ones.

Two entry points compute the registry's features with the same code:

- `historical(declarations, seizures)`: every row gets point-in-time values from the records
  dated strictly before it (outcomes only once known, `outcome_lag_days` later). For training.
- `fit(declarations, seizures, as_of)` then `transform(rows)`: the statistics up to `as_of`
  are frozen into a `FeatureState` (saved inside the model) and looked up for new rows. For
  serving, one declaration or a batch.

Both go through `Context`, which derives every feature from the row itself and from the
statistics, so the formulas exist once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from riskscore.features import pit, text
from riskscore.features.contracts import EXTRA_PREFIX
from riskscore.features.registry import (
    FEATURES,
    STATS,
    Feature,
    Source,
    Stat,
    extra_feature,
)

LABEL = "label"  # 1 irregular, 0 compliant, <NA> not known


@dataclass(frozen=True)
class FeatureConfig:
    """Knobs of the statistics."""

    outcome_lag_days: int = 30  # an inspection result reaches the data this long after the date
    smoothing: float = 20.0  # pseudo-declarations pulling a small group's rate to the average
    seizure_half_life_days: float = 365.0
    min_reference: int = 10  # earlier unit values needed before an HS6 reference price is used


# ---------------------------------------------------------------------------------------------
# Row-local preparation: depends on the row only, so it is the same in training and serving.
# Columns are plain numpy arrays (text as objects, None when missing): the same code then serves
# a million-row history and a single declaration, where pandas' per-call overhead would dominate.

Columns = dict[str, np.ndarray]
RowsLike = pd.DataFrame | Mapping[str, Sequence | np.ndarray]


def _length(frame: RowsLike) -> int:
    return len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values())))


def _text(frame: RowsLike, column: str) -> np.ndarray:
    """Text values as an object array, None for missing or blank."""
    if column not in frame:
        return np.full(_length(frame), None, dtype=object)
    values = frame[column]
    if isinstance(values, pd.Series):
        values = values.astype("string").to_numpy(dtype=object, na_value=None)
    return np.array(
        [v.strip() or None if isinstance(v, str) else None for v in values], dtype=object
    )


def _number(frame: RowsLike, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(_length(frame), np.nan)
    values = frame[column]
    if isinstance(values, pd.Series):
        if pd.api.types.is_float_dtype(values.dtype):
            return values.to_numpy(dtype="float64", na_value=np.nan)
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.array([_to_float(v) for v in values], dtype="float64")


def _to_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan


def _days(frame: RowsLike) -> np.ndarray:
    values = frame["date"]
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pit.days(values)
    return np.array(values, dtype="datetime64[D]").astype("int64")


def _join(left: np.ndarray, sep: str, right: np.ndarray) -> np.ndarray:
    """left + sep + right, None where either side is missing."""
    return np.array(
        [
            a + sep + b if a is not None and b is not None else None
            for a, b in zip(left, right, strict=True)
        ],
        dtype=object,
    )


def _prefix(values: np.ndarray, n: int) -> np.ndarray:
    return np.array([v[:n] if v is not None and len(v) >= n else None for v in values], object)


def _upper(values: np.ndarray) -> np.ndarray:
    return np.array([v.upper() if v is not None else None for v in values], dtype=object)


def _log_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(numerator / denominator)
    ratio[~np.isfinite(ratio)] = np.nan
    return ratio


def prepare_rows(frame: RowsLike) -> Columns:
    """Keys and row-local values of declarations (contract fields in, prepared columns out)."""
    hs = _text(frame, "hs_code")
    origin = _text(frame, "origin_country")
    departure = _text(frame, "departure_country")
    departure = np.where(departure == None, origin, departure)  # noqa: E711 - elementwise
    mode = _text(frame, "transport_mode")
    mode = np.where(mode == None, "unknown", mode).astype(object)  # noqa: E711
    hs4 = _prefix(hs, 4)
    transit = _text(frame, "transit_countries")
    value = _number(frame, "declared_value")
    weight = _number(frame, "gross_weight_kg")
    words = text.tokenise(_text(frame, "goods_description"))
    n = len(hs)
    prepared: Columns = {
        "day": _days(frame),
        "hs2": _prefix(hs, 2),
        "hs4": hs4,
        "hs6": _prefix(hs, 6),
        "origin_country": origin,
        "departure_country": departure,
        "transport_mode": mode,
        "route": _join(origin, ">", departure),
        "hs4_origin": _join(hs4, "|", origin),
        "hs4_departure": _join(hs4, "|", departure),
        "mode": mode,
        "mode_origin": _join(mode, "|", origin),
        "importer_id": _upper(_text(frame, "importer_id")),
        "exporter_id": _upper(_text(frame, "exporter_id")),
        "declarant_id": _upper(_text(frame, "declarant_id")),
        "*": np.full(n, "*", dtype=object),
        "origin_differs": np.array(
            [
                float(o != d) if o is not None else np.nan
                for o, d in zip(origin, departure, strict=True)
            ]
        ),
        "n_transit": np.array([t.count(";") + 1 if t else 0 for t in transit], dtype="float64"),
        "log_value": np.log1p(np.clip(value, 0, None)),
        "log_weight": np.log1p(np.clip(weight, 0, None)),
        "log_unit_value": _log_ratio(value, weight),
        "tokens": words,
        "desc_vague": text.vague_share(words),
        "desc_words": np.array([len(w) for w in words], dtype="float64"),
    }
    for column in frame:
        if str(column).startswith(EXTRA_PREFIX):
            values = frame[column]
            prepared[column] = (
                values.to_numpy(dtype=object, na_value=None)
                if isinstance(values, pd.Series)
                else np.asarray(values, dtype=object)
            )
    if LABEL in frame:
        prepared[LABEL] = _number(frame, LABEL)
    return prepared


def prepare_seizures(frame: pd.DataFrame) -> Columns:
    """The keys seizures are counted under (the seizure-intelligence cells)."""
    hs4 = _prefix(_text(frame, "hs_code"), 4)
    origin = _text(frame, "origin_country")
    departure = _text(frame, "departure_country")
    departure = np.where(departure == None, origin, departure)  # noqa: E711
    mode = _text(frame, "transport_mode")
    mode = np.where(mode == None, "unknown", mode).astype(object)  # noqa: E711
    return {
        "day": _days(frame) if len(frame) else np.array([], dtype="int64"),
        "hs4_origin": _join(hs4, "|", origin),
        "hs4_departure": _join(hs4, "|", departure),
        "route": _join(origin, ">", departure),
        "mode": mode,
        "*": np.full(len(hs4), "*", dtype=object),
    }


# ---------------------------------------------------------------------------------------------
# Events: what each statistic counts, taken from prepared history.


@dataclass
class Events:
    keys: pd.Series
    days: np.ndarray
    values: dict[str, np.ndarray]


def events_for(stat: Stat, rows: Columns, seizures: Columns, lag: int) -> Events:
    """The events a statistic sums, from prepared declarations and seizures."""
    n = len(rows["day"])
    match stat.source:
        case Source.DECLARATIONS:
            return Events(_keys(rows[stat.keys]), rows["day"], {"n": np.ones(n)})
        case Source.OUTCOMES | Source.POSITIVES:
            label = rows.get(LABEL, np.full(n, np.nan))
            known = ~np.isnan(label) if stat.source is Source.OUTCOMES else label == 1
            values = {"n": np.ones(int(known.sum()))}
            if stat.source is Source.OUTCOMES:
                values["pos"] = label[known]
            return Events(_keys(rows[stat.keys][known]), rows["day"][known] + lag, values)
        case Source.VALUES:
            valued = np.isfinite(rows["log_unit_value"])
            return Events(
                _keys(rows[stat.keys][valued]),
                rows["day"][valued],
                {"n": np.ones(int(valued.sum())), "sum": rows["log_unit_value"][valued]},
            )
        case Source.TOKENS:
            row_of, keys = _token_keys(rows)
            return Events(_keys(keys), rows["day"][row_of], {"n": np.ones(len(keys))})
        case Source.SEIZURES:
            m = len(seizures["day"])
            return Events(_keys(seizures[stat.keys]), seizures["day"], {"n": np.ones(m)})
    raise AssertionError(stat.source)


def _keys(values: np.ndarray | list) -> pd.Series:
    """Keys as a Series of Python objects: pandas would otherwise copy a million keys into an
    Arrow string array first (seconds per fit), only to hash them."""
    return pd.Series(values, dtype=object)


def _token_keys(rows: Columns) -> tuple[np.ndarray, list[str]]:
    """(row position, "HS4|word") for every description word of every row with an HS4."""
    positions: list[int] = []
    keys: list[str] = []
    for i, (hs4, words) in enumerate(zip(rows["hs4"], rows["tokens"], strict=True)):
        if hs4 is not None:
            for word in words:
                positions.append(i)
                keys.append(hs4 + "|" + word)
    return np.asarray(positions, dtype="int64"), keys


# ---------------------------------------------------------------------------------------------
# Context: features from a prepared row frame and its statistics.


@dataclass
class Context:
    """Prepared rows and their point-in-time statistics; the registry computes from this."""

    rows: Columns
    stats: dict[str, dict[str, np.ndarray]]
    config: FeatureConfig
    token_counts: Callable[[], np.ndarray]  # per row: tokens seen often enough with the HS4

    def stat(self, name: str, value: str) -> np.ndarray:
        return self.stats[name][value]

    def days_since(self, stat: str, which: str, default: float) -> np.ndarray:
        since = self.rows["day"] - self.stats[stat][which]
        return np.where(np.isnan(since), default, since)

    @cached_property
    def prior_rate(self) -> np.ndarray:
        """Share of positive outcomes of all earlier declarations (once per batch: every hit
        rate is pulled toward it)."""
        out = self.stats["all_out"]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = out["pos"] / out["n"]
        return np.where(out["n"] > 0, rate, 0.0)

    def hit_rate(self, stat: str) -> np.ndarray:
        """Smoothed share of positive outcomes of the row's group, pulled toward the average."""
        out = self.stats[stat]
        m = self.config.smoothing
        return (out["pos"] + m * self.prior_rate) / (out["n"] + m)

    def seizure_lift(self, cell: str) -> np.ndarray:
        """Seizures per declaration in the row's cell over the same ratio for all cells."""
        seized, traffic = self.stats[f"sz_{cell}"]["n"], self.stats[f"tr_{cell}"]["n"]
        all_seized, all_traffic = self.stats["sz_all"]["n"], self.stats["tr_all"]["n"]
        with np.errstate(invalid="ignore", divide="ignore"):
            average = all_seized / all_traffic
            m = self.config.smoothing
            lift = (seized + m * average) / ((traffic + m) * average)
        return np.where((all_seized > 0) & (all_traffic > 0), lift, 1.0)

    def value_vs_reference(self) -> np.ndarray:
        """Log of unit value over the usual unit value of the HS6 (HS4 when HS6 is thin)."""
        hs6, hs4 = self.stats["hs6_value"], self.stats["hs4_value"]
        use6 = hs6["n"] >= self.config.min_reference
        use4 = ~use6 & (hs4["n"] >= self.config.min_reference)
        with np.errstate(invalid="ignore", divide="ignore"):
            reference = np.where(use6, hs6["sum"] / hs6["n"], hs4["sum"] / hs4["n"])
        reference = np.where(use6 | use4, reference, np.nan)
        return self.rows["log_unit_value"] - reference

    def description_match(self) -> np.ndarray:
        """Share of the description's words seen in >= 1 % of earlier declarations of the HS4."""
        n_words = self.rows["desc_words"]
        known = self.stats["hs4_decl"]["n"] >= self.config.min_reference
        with np.errstate(invalid="ignore", divide="ignore"):
            share = self.token_counts() / n_words
        return np.where(known & (n_words > 0), share, np.nan)


def _token_hits(
    rows: Columns, lookup: Callable[[list[str], np.ndarray], np.ndarray], hs4_n: np.ndarray
) -> np.ndarray:
    """Per row, how many of its words were seen with its HS4 in >= 1 % of earlier declarations."""
    row_of, keys = _token_keys(rows)
    n = len(rows["day"])
    if not keys:
        return np.zeros(n)
    counts = lookup(keys, rows["day"][row_of])
    common = counts >= np.maximum(1.0, 0.01 * hs4_n[row_of])
    return np.bincount(row_of, weights=common.astype("float64"), minlength=n)


# ---------------------------------------------------------------------------------------------
# The pipeline.


@dataclass
class FeatureState:
    """Everything `transform` needs, fitted on history up to `as_of_day` (exclusive)."""

    as_of_day: int
    config: FeatureConfig
    snapshots: dict[str, pit.Snapshot]
    extras: dict[str, bool]  # member-specific column -> categorical?


@dataclass
class FeaturePipeline:
    """Computes the registry's features; see the module docstring for the two entry points."""

    config: FeatureConfig = field(default_factory=FeatureConfig)
    state_: FeatureState | None = None

    # -- registry ------------------------------------------------------------------------------

    def features(self, extras: dict[str, bool] | None = None) -> list[Feature]:
        """The registry, plus the member-specific columns present in the data."""
        extras = extras if extras is not None else (self.state_.extras if self.state_ else {})
        return [*FEATURES, *(extra_feature(c, cat) for c, cat in extras.items())]

    def feature_names_out(self) -> list[str]:
        return [f.name for f in self.features()]

    # -- training side -------------------------------------------------------------------------

    def historical(self, declarations: pd.DataFrame, seizures: pd.DataFrame) -> pd.DataFrame:
        """Point-in-time features of every declaration, from records strictly before it."""
        rows = prepare_rows(declarations)
        seized = prepare_seizures(seizures)
        lag = self.config.outcome_lag_days
        half_life = self.config.seizure_half_life_days
        query_days = rows["day"]
        stats: dict[str, dict[str, np.ndarray]] = {}
        for stat in STATS:
            if stat.source is Source.TOKENS:
                continue
            ev = events_for(stat, rows, seized, lag)
            stats[stat.name] = pit.asof_sums(
                ev.keys,
                ev.days,
                ev.values,
                _keys(rows[stat.keys]),
                query_days,
                half_life_days=half_life if stat.decayed else None,
                with_first_day=stat.first_day,
                with_last_day=stat.last_day,
            )
        token_stat = next(s for s in STATS if s.source is Source.TOKENS)
        token_events = events_for(token_stat, rows, seized, lag)

        def lookup(keys: list[str], days: np.ndarray) -> np.ndarray:
            found = pit.asof_sums(
                token_events.keys, token_events.days, token_events.values, _keys(keys), days
            )
            return found["n"]

        ctx = Context(
            rows, stats, self.config, lambda: _token_hits(rows, lookup, stats["hs4_decl"]["n"])
        )
        extras = _extra_kinds(declarations)
        return self._frame(self._assemble(ctx, extras), extras, declarations.index)

    def fit(
        self, declarations: pd.DataFrame, seizures: pd.DataFrame, as_of: pd.Timestamp
    ) -> FeaturePipeline:
        """Freeze the statistics of every record dated before `as_of` into `state_`."""
        rows = prepare_rows(declarations)
        seized = prepare_seizures(seizures)
        as_of_day = int(np.datetime64(pd.Timestamp(as_of).date(), "D").astype("int64"))
        snapshots = {}
        for stat in STATS:
            ev = events_for(stat, rows, seized, self.config.outcome_lag_days)
            snapshots[stat.name] = pit.Snapshot.build(
                ev.keys,
                ev.days,
                ev.values,
                ref_day=as_of_day,
                half_life_days=self.config.seizure_half_life_days if stat.decayed else None,
                with_first_day=stat.first_day,
                with_last_day=stat.last_day,
            )
        self.state_ = FeatureState(as_of_day, self.config, snapshots, _extra_kinds(declarations))
        return self

    # -- serving side --------------------------------------------------------------------------

    def transform(self, declarations: RowsLike) -> pd.DataFrame:
        """Features of new declarations from the fitted state, as a frame."""
        state = self._state()
        index = declarations.index if isinstance(declarations, pd.DataFrame) else None
        return self._frame(self.transform_columns(declarations), state.extras, index)

    def transform_columns(self, declarations: RowsLike) -> Columns:
        """Features of new declarations from the fitted state (one row or a batch alike).

        `declarations` is a frame or a mapping of field name -> sequence (the serving path).
        """
        state = self._state()
        rows = prepare_rows(declarations)
        # A declaration dated before the snapshot is scored as of the snapshot: the state
        # cannot be wound back, and it never holds anything after `as_of_day`.
        rows["day"] = query_days = np.maximum(rows["day"], state.as_of_day)
        stats = {
            stat.name: state.snapshots[stat.name].lookup(rows[stat.keys].tolist(), query_days)
            for stat in STATS
            if stat.source is not Source.TOKENS
        }
        tokens = state.snapshots["hs4_tokens"]

        def lookup(keys: list[str], days: np.ndarray) -> np.ndarray:
            return tokens.lookup(keys, days)["n"]

        ctx = Context(
            rows, stats, self.config, lambda: _token_hits(rows, lookup, stats["hs4_decl"]["n"])
        )
        return self._assemble(ctx, state.extras)

    # -- shared --------------------------------------------------------------------------------

    def _state(self) -> FeatureState:
        if self.state_ is None:
            raise RuntimeError("FeaturePipeline.transform called before fit")
        return self.state_

    def _assemble(self, ctx: Context, extras: dict[str, bool]) -> Columns:
        columns: Columns = {}
        n = len(ctx.rows["day"])
        for feature in self.features(extras):
            if feature.compute is not None:
                columns[feature.name] = feature.compute(ctx)
                continue
            # A member-specific column absent from a request is missing, not an error.
            column = ctx.rows.get(feature.name)
            if column is None:
                column = np.full(n, None if feature.categorical else np.nan, dtype=object)
            if feature.categorical:
                columns[feature.name] = np.array(
                    [None if v is None or v is pd.NA else str(v) for v in column], dtype=object
                )
            else:
                columns[feature.name] = _number({feature.name: column}, feature.name)
        return columns

    def _frame(
        self, columns: Columns, extras: dict[str, bool], index: pd.Index | None
    ) -> pd.DataFrame:
        table = pd.DataFrame(columns, index=index)
        for feature in self.features(extras):
            if feature.categorical:
                table[feature.name] = table[feature.name].astype("string")
        return table


def fold_state(
    state: FeatureState, seizures: pd.DataFrame, newly_irregular: pd.DataFrame
) -> FeatureState:
    """`state` with new records folded in, as `fit` would give on all of them: `seizures`
    (seizures not yet counted) and `newly_irregular` (declarations the state counted as
    compliant that a new seizure now labels irregular: one more positive outcome each, known
    `outcome_lag_days` after the declaration, and no more outcomes)."""
    lag = state.config.outcome_lag_days
    seized = prepare_seizures(seizures)
    rows = prepare_rows(newly_irregular)
    rows[LABEL] = np.ones(len(rows["day"]))
    snapshots = dict(state.snapshots)
    for stat in STATS:
        if stat.source is Source.SEIZURES and len(seized["day"]):
            events = events_for(stat, rows, seized, lag)
        elif stat.source in (Source.OUTCOMES, Source.POSITIVES) and len(rows["day"]):
            events = events_for(stat, rows, seized, lag)
            if stat.source is Source.OUTCOMES:  # already counted as outcomes: a positive more
                events.values["n"] = np.zeros(len(events.days))
        else:
            continue
        snapshots[stat.name] = snapshots[stat.name].folded(events.keys, events.days, events.values)
    return FeatureState(state.as_of_day, state.config, snapshots, dict(state.extras))


def _extra_kinds(frame: pd.DataFrame) -> dict[str, bool]:
    """Member-specific columns, and whether each is categorical (stored as text)."""
    return {
        column: not pd.api.types.is_numeric_dtype(frame[column])
        for column in sorted(c for c in frame.columns if c.startswith(EXTRA_PREFIX))
    }
