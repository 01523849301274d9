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

from collections.abc import Callable
from dataclasses import dataclass, field

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


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame:
        return frame[column].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _number(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _log_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(numerator / denominator)
    ratio[~np.isfinite(ratio)] = np.nan
    return ratio


def prepare_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Keys and row-local values of declarations (stored contract form in, prepared out)."""
    hs = _text(frame, "hs_code")
    origin = _text(frame, "origin_country")
    departure = _text(frame, "departure_country").fillna(origin)
    mode = _text(frame, "transport_mode").fillna("unknown")
    hs4 = hs.str.slice(0, 4)
    hs6 = hs.str.slice(0, 6)
    transit = _text(frame, "transit_countries").fillna("")
    value = _number(frame, "declared_value")
    weight = _number(frame, "gross_weight_kg")
    words = text.tokenise(_text(frame, "goods_description"))
    prepared = pd.DataFrame(
        {
            "day": pit.days(frame["date"]),
            "hs2": hs.str.slice(0, 2),
            "hs4": hs4,
            "hs6": hs6.mask(hs6.str.len() < 6),
            "origin_country": origin,
            "departure_country": departure,
            "transport_mode": mode,
            "route": origin + ">" + departure,
            "hs4_origin": hs4 + "|" + origin,
            "hs4_departure": hs4 + "|" + departure,
            "mode": mode,
            "mode_origin": mode + "|" + origin,
            "importer_id": _text(frame, "importer_id").str.strip().str.upper(),
            "exporter_id": _text(frame, "exporter_id").str.strip().str.upper(),
            "declarant_id": _text(frame, "declarant_id").str.strip().str.upper(),
            "*": pd.Series("*", index=frame.index, dtype="string"),
            "origin_differs": (departure != origin).astype("float64").to_numpy(),
            "n_transit": transit.str.count(";").to_numpy() + (transit != "").to_numpy(),
            "log_value": np.log1p(np.clip(value, 0, None)),
            "log_weight": np.log1p(np.clip(weight, 0, None)),
            "log_unit_value": _log_ratio(value, weight),
            "tokens": words,
            "desc_vague": text.vague_share(words),
            "desc_words": words.map(len).to_numpy(dtype="float64"),
        },
        index=frame.index,
    )
    for column in frame.columns:
        if column.startswith(EXTRA_PREFIX):
            prepared[column] = frame[column]
    if LABEL in frame:
        prepared[LABEL] = pd.to_numeric(frame[LABEL], errors="coerce").astype("float64")
    return prepared


def prepare_seizures(frame: pd.DataFrame) -> pd.DataFrame:
    """The keys seizures are counted under (the seizure-intelligence cells)."""
    hs4 = _text(frame, "hs_code").str.slice(0, 4)
    origin = _text(frame, "origin_country")
    departure = _text(frame, "departure_country").fillna(origin)
    mode = _text(frame, "transport_mode").fillna("unknown")
    return pd.DataFrame(
        {
            "day": pit.days(frame["date"]),
            "hs4_origin": hs4 + "|" + origin,
            "hs4_departure": hs4 + "|" + departure,
            "route": origin + ">" + departure,
            "mode": mode,
            "*": pd.Series("*", index=frame.index, dtype="string"),
        },
        index=frame.index,
    )


# ---------------------------------------------------------------------------------------------
# Events: what each statistic counts, taken from prepared history.


@dataclass
class Events:
    keys: pd.Series
    days: np.ndarray
    values: dict[str, np.ndarray]


def events_for(stat: Stat, rows: pd.DataFrame, seizures: pd.DataFrame, lag: int) -> Events:
    """The events a statistic sums, from prepared declarations and seizures."""
    n = len(rows)
    match stat.source:
        case Source.DECLARATIONS:
            return Events(rows[stat.keys], rows["day"].to_numpy(), {"n": np.ones(n)})
        case Source.OUTCOMES | Source.POSITIVES:
            label = rows[LABEL] if LABEL in rows else pd.Series(np.nan, index=rows.index)
            known = label.notna() if stat.source is Source.OUTCOMES else label.eq(1)
            known_rows = rows[known.to_numpy()]
            values = {"n": np.ones(len(known_rows))}
            if stat.source is Source.OUTCOMES:
                values["pos"] = label[known].to_numpy(dtype="float64")
            return Events(known_rows[stat.keys], known_rows["day"].to_numpy() + lag, values)
        case Source.VALUES:
            valued = rows[np.isfinite(rows["log_unit_value"].to_numpy())]
            return Events(
                valued[stat.keys],
                valued["day"].to_numpy(),
                {"n": np.ones(len(valued)), "sum": valued["log_unit_value"].to_numpy()},
            )
        case Source.TOKENS:
            exploded = rows[["hs4", "tokens", "day"]].explode("tokens")
            exploded = exploded[exploded["tokens"].notna()]
            keys = exploded["hs4"] + "|" + exploded["tokens"].astype("string")
            return Events(keys, exploded["day"].to_numpy(), {"n": np.ones(len(exploded))})
        case Source.SEIZURES:
            return Events(
                seizures[stat.keys], seizures["day"].to_numpy(), {"n": np.ones(len(seizures))}
            )
    raise AssertionError(stat.source)


# ---------------------------------------------------------------------------------------------
# Context: features from a prepared row frame and its statistics.


@dataclass
class Context:
    """Prepared rows and their point-in-time statistics; the registry computes from this."""

    rows: pd.DataFrame
    stats: dict[str, dict[str, np.ndarray]]
    config: FeatureConfig
    token_counts: Callable[[], np.ndarray]  # per row: tokens seen often enough with the HS4

    def stat(self, name: str, value: str) -> np.ndarray:
        return self.stats[name][value]

    def days_since(self, stat: str, which: str, default: float) -> np.ndarray:
        since = self.rows["day"].to_numpy() - self.stats[stat][which]
        return np.where(np.isnan(since), default, since)

    def prior_rate(self) -> np.ndarray:
        out = self.stats["all_out"]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = out["pos"] / out["n"]
        return np.where(out["n"] > 0, rate, 0.0)

    def hit_rate(self, stat: str) -> np.ndarray:
        """Smoothed share of positive outcomes of the row's group, pulled toward the average."""
        out = self.stats[stat]
        m = self.config.smoothing
        return (out["pos"] + m * self.prior_rate()) / (out["n"] + m)

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
        return self.rows["log_unit_value"].to_numpy() - reference

    def description_match(self) -> np.ndarray:
        """Share of the description's words seen in >= 1 % of earlier declarations of the HS4."""
        n_words = self.rows["desc_words"].to_numpy()
        known = self.stats["hs4_decl"]["n"] >= self.config.min_reference
        with np.errstate(invalid="ignore", divide="ignore"):
            share = self.token_counts() / n_words
        return np.where(known & (n_words > 0), share, np.nan)


def _token_hits(
    rows: pd.DataFrame, lookup: Callable[[pd.Series, np.ndarray], np.ndarray], hs4_n: np.ndarray
) -> np.ndarray:
    """Per row, how many of its words were seen with its HS4 in >= 1 % of earlier declarations."""
    exploded = rows[["hs4", "tokens", "day"]].assign(_row=np.arange(len(rows)))
    exploded = exploded.explode("tokens")
    exploded = exploded[exploded["tokens"].notna()]
    if exploded.empty:
        return np.zeros(len(rows))
    keys = exploded["hs4"] + "|" + exploded["tokens"].astype("string")
    counts = lookup(keys, exploded["day"].to_numpy())
    rows_of = exploded["_row"].to_numpy()
    common = counts >= np.maximum(1.0, 0.01 * hs4_n[rows_of])
    return np.bincount(rows_of, weights=common.astype("float64"), minlength=len(rows))


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
        query_days = rows["day"].to_numpy()
        stats: dict[str, dict[str, np.ndarray]] = {}
        for stat in STATS:
            if stat.source is Source.TOKENS:
                continue
            ev = events_for(stat, rows, seized, lag)
            stats[stat.name] = pit.asof_sums(
                ev.keys,
                ev.days,
                ev.values,
                rows[stat.keys],
                query_days,
                half_life_days=half_life if stat.decayed else None,
                with_first_day=stat.first_day,
                with_last_day=stat.last_day,
            )
        token_stat = next(s for s in STATS if s.source is Source.TOKENS)
        token_events = events_for(token_stat, rows, seized, lag)

        def lookup(keys: pd.Series, days: np.ndarray) -> np.ndarray:
            return pit.asof_sums(
                token_events.keys, token_events.days, token_events.values, keys, days
            )["n"]

        ctx = Context(
            rows, stats, self.config, lambda: _token_hits(rows, lookup, stats["hs4_decl"]["n"])
        )
        extras = _extra_kinds(declarations)
        return self._assemble(ctx, extras, declarations)

    def fit(
        self, declarations: pd.DataFrame, seizures: pd.DataFrame, as_of: pd.Timestamp
    ) -> FeaturePipeline:
        """Freeze the statistics of every record dated before `as_of` into `state_`."""
        rows = prepare_rows(declarations)
        seized = prepare_seizures(seizures)
        as_of_day = int(pit.days(pd.Series([pd.Timestamp(as_of)]))[0])
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

    def transform(self, declarations: pd.DataFrame) -> pd.DataFrame:
        """Features of new declarations from the fitted state (one row or a batch alike)."""
        if self.state_ is None:
            raise RuntimeError("FeaturePipeline.transform called before fit")
        state = self.state_
        rows = prepare_rows(declarations)
        # A declaration dated before the snapshot is scored as of the snapshot: the state
        # cannot be wound back, and it never holds anything after `as_of_day`.
        query_days = np.maximum(rows["day"].to_numpy(), state.as_of_day)
        stats = {
            stat.name: state.snapshots[stat.name].lookup(rows[stat.keys].tolist(), query_days)
            for stat in STATS
            if stat.source is not Source.TOKENS
        }
        tokens = state.snapshots["hs4_tokens"]

        def lookup(keys: pd.Series, days: np.ndarray) -> np.ndarray:
            return tokens.lookup(keys.tolist(), np.maximum(days, state.as_of_day))["n"]

        ctx = Context(
            rows, stats, self.config, lambda: _token_hits(rows, lookup, stats["hs4_decl"]["n"])
        )
        return self._assemble(ctx, state.extras, declarations)

    # -- shared --------------------------------------------------------------------------------

    def _assemble(
        self, ctx: Context, extras: dict[str, bool], declarations: pd.DataFrame
    ) -> pd.DataFrame:
        columns: dict[str, object] = {}
        missing = pd.Series(pd.NA, index=ctx.rows.index, dtype="string")
        for feature in self.features(extras):
            if feature.compute is not None:
                columns[feature.name] = feature.compute(ctx)
                continue
            # A member-specific column absent from a request is missing, not an error.
            column = ctx.rows.get(feature.name, missing)
            if feature.categorical:
                columns[feature.name] = column.astype("string").to_numpy()
            else:
                columns[feature.name] = pd.to_numeric(column, errors="coerce").to_numpy(
                    dtype="float64"
                )
        table = pd.DataFrame(columns, index=declarations.index)
        for feature in self.features(extras):
            if feature.categorical:
                table[feature.name] = table[feature.name].astype("string")
        return table


def _extra_kinds(frame: pd.DataFrame) -> dict[str, bool]:
    """Member-specific columns, and whether each is categorical (stored as text)."""
    return {
        column: not pd.api.types.is_numeric_dtype(frame[column])
        for column in sorted(c for c in frame.columns if c.startswith(EXTRA_PREFIX))
    }
