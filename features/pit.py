"""Point-in-time aggregates: for each query row, sums over the events dated strictly before it.

An event is (key, day, values); a query is (key, day). The sum for a query covers every event of
the same key with event day < query day, optionally with exponential time decay
(weight 0.5 ** ((query day - event day) / half_life)). Two ways to get the same numbers:

- `asof_sums(events, queries)` for a history of rows (training): cumulative sums per key joined
  as of the query day with `pandas.merge_asof`.
- `Snapshot` for serving: the totals of every event up to a reference day, kept per key in a dict,
  aged to the query day on lookup. For a query after the last event both give the same value.

Days are integers (days since 1970-01-01). Decay uses the identity
sum w_e v_e = exp(-l q) * sum exp(l e) v_e, with days measured from a fixed origin so that the
exponentials stay far from overflow for centuries of data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# From this many queries a lookup goes through a hash index of the keys and an array of the
# totals (one vectorised gather) instead of one dict lookup per query: the same numbers, about
# ten times faster for a batch file, slower for the single declarations of the API.
VECTOR_LOOKUP_ROWS = 1_000
DAY_ORIGIN = 18_000  # 2019-04-14: keeps exp(l * day) small for half-lives of weeks or more
KEY = "_key"
DAY = "_day"


def days(dates: pd.Series) -> np.ndarray:
    """Dates to integer days since the epoch."""
    return dates.to_numpy(dtype="datetime64[D]").astype("int64")


def decay_rate(half_life_days: float | None) -> float:
    return 0.0 if not half_life_days else float(np.log(2.0) / half_life_days)


def asof_sums(
    event_keys: pd.Series,
    event_days: np.ndarray,
    event_values: dict[str, np.ndarray],
    query_keys: pd.Series,
    query_days: np.ndarray,
    half_life_days: float | None = None,
    with_first_day: bool = False,
    with_last_day: bool = False,
) -> dict[str, np.ndarray]:
    """Per query, the (decayed) sums of event values of its key over events strictly before it.

    Optionally also the first and last event day of the key before the query (NaN when none).
    Queries with a missing key, or with no earlier event, get zero sums.
    """
    rate = decay_rate(half_life_days)
    names = list(event_values)
    # Integer keys make the as-of join several times faster than text keys.
    codes, _ = pd.factorize(pd.concat([event_keys, query_keys], ignore_index=True))
    event_codes, query_codes = codes[: len(event_keys)], codes[len(event_keys) :]
    events = pd.DataFrame({KEY: event_codes, DAY: event_days})
    for name in names:
        events[name] = event_values[name]
    events = events[events[KEY] >= 0]
    events = events.groupby([KEY, DAY], sort=False, observed=True)[names].sum().reset_index()
    events = events.sort_values([KEY, DAY], kind="stable")
    if rate:
        growth = np.exp(rate * (events[DAY].to_numpy() - DAY_ORIGIN))
        for name in names:
            events[name] = events[name].to_numpy() * growth
    cumulative = events.groupby(KEY, sort=False)[names].cumsum()
    cumulative[KEY] = events[KEY]
    cumulative[DAY] = events[DAY]
    if with_first_day:
        cumulative["_first"] = events.groupby(KEY, sort=False)[DAY].transform("min")
    if with_last_day:
        cumulative["_last"] = events[DAY]
    cumulative = cumulative.sort_values(DAY, kind="stable")

    queries = pd.DataFrame({KEY: query_codes, DAY: query_days, "_pos": np.arange(len(query_days))})
    queries = queries.sort_values(DAY, kind="stable")
    joined = pd.merge_asof(
        queries,
        cumulative,
        on=DAY,
        by=KEY,
        allow_exact_matches=False,  # strictly before the query day
        direction="backward",
    ).sort_values("_pos")
    shrink = np.exp(-rate * (joined[DAY].to_numpy() - DAY_ORIGIN)) if rate else 1.0
    out = {name: np.nan_to_num(joined[name].to_numpy(dtype="float64")) * shrink for name in names}
    if with_first_day:
        out["first_day"] = joined["_first"].to_numpy(dtype="float64")
    if with_last_day:
        out["last_day"] = joined["_last"].to_numpy(dtype="float64")
    return out


@dataclass
class Snapshot:
    """Totals per key of all events up to `ref_day`, aged on lookup: the serving-side state."""

    ref_day: int
    half_life_days: float | None
    names: tuple[str, ...]
    totals: dict[str, tuple[float, ...]]  # key -> sums decayed to ref_day (+ first/last day)
    with_first_day: bool = False
    with_last_day: bool = False

    @classmethod
    def build(
        cls,
        event_keys: pd.Series,
        event_days: np.ndarray,
        event_values: dict[str, np.ndarray],
        ref_day: int,
        half_life_days: float | None = None,
        with_first_day: bool = False,
        with_last_day: bool = False,
    ) -> Snapshot:
        """Totals of the events dated before `ref_day` (the first day the snapshot serves)."""
        rate = decay_rate(half_life_days)
        names = tuple(event_values)
        # Object keys, as given: an inferred Arrow string column costs a copy of every key.
        keys = pd.Series(event_keys.to_numpy(dtype=object), dtype=object)
        frame = pd.DataFrame({KEY: keys, DAY: event_days})
        for name in names:
            weight = np.exp(-rate * (ref_day - event_days)) if rate else 1.0
            frame[name] = event_values[name] * weight
        frame = frame[frame[KEY].notna() & (frame[DAY] < ref_day)]
        grouped = frame.groupby(KEY, sort=False)
        table = grouped[list(names)].sum()
        if with_first_day:
            table["first_day"] = grouped[DAY].min().astype("float64")
        if with_last_day:
            table["last_day"] = grouped[DAY].max().astype("float64")
        totals = dict(zip(table.index, table.itertuples(index=False, name=None), strict=True))
        return cls(ref_day, half_life_days, names, totals, with_first_day, with_last_day)

    def folded(
        self, event_keys: pd.Series, event_days: np.ndarray, event_values: dict[str, np.ndarray]
    ) -> Snapshot:
        """A copy with more events folded in (those dated before `ref_day`): what `build` gives
        on the earlier events and these together, up to the order of the float additions."""
        rate = decay_rate(self.half_life_days)
        keys = event_keys.to_numpy(dtype=object)
        keep = pd.notna(keys) & (np.asarray(event_days) < self.ref_day)
        if not keep.any():
            return self
        frame = pd.DataFrame(
            {KEY: pd.Series(keys[keep], dtype=object), DAY: np.asarray(event_days)[keep]}
        )
        for name in self.names:
            weight = np.exp(-rate * (self.ref_day - frame[DAY].to_numpy())) if rate else 1.0
            frame[name] = np.asarray(event_values[name], dtype="float64")[keep] * weight
        grouped = frame.groupby(KEY, sort=False)
        sums = grouped[list(self.names)].sum()
        first, last = grouped[DAY].min(), grouped[DAY].max()
        totals = dict(self.totals)
        n = len(self.names)
        for key, added in zip(sums.index, sums.itertuples(index=False, name=None), strict=True):
            old = totals.get(key)
            new = [float(v) for v in added] if old is None else [
                a + float(b) for a, b in zip(old[:n], added, strict=True)
            ]  # fmt: skip
            col = n
            if self.with_first_day:
                day = float(first[key])
                new.append(day if old is None else min(old[col], day))
                col += 1
            if self.with_last_day:
                day = float(last[key])
                new.append(day if old is None else max(old[col], day))
            totals[key] = tuple(new)
        return Snapshot(
            self.ref_day,
            self.half_life_days,
            self.names,
            totals,
            self.with_first_day,
            self.with_last_day,
        )

    def __getstate__(self) -> dict:
        # The lookup index follows from `totals`: rebuilt where the model loads, never pickled.
        state = dict(self.__dict__)
        state.pop("_indexed", None)
        return state

    def lookup(self, query_keys: list, query_days: np.ndarray) -> dict[str, np.ndarray]:
        """The same numbers `asof_sums` gives for queries on or after `ref_day`."""
        width = len(self.names) + self.with_first_day + self.with_last_day
        if len(query_keys) >= VECTOR_LOOKUP_ROWS:
            index, table = self._index()
            rows = table[index.get_indexer(pd.Index(query_keys, dtype=object))]  # -1: missing
        else:
            missing = self._missing(width)
            rows = np.array([self.totals.get(k, missing) for k in query_keys], dtype="float64")
            rows = rows.reshape(len(query_keys), width)
        rate = decay_rate(self.half_life_days)
        age = np.exp(-rate * (query_days - self.ref_day)) if rate else 1.0
        out = {name: rows[:, i] * age for i, name in enumerate(self.names)}
        col = len(self.names)
        if self.with_first_day:
            out["first_day"] = rows[:, col]
            col += 1
        if self.with_last_day:
            out["last_day"] = rows[:, col]
        return out

    def _missing(self, width: int) -> tuple[float, ...]:
        """A key never seen: no events, and no first or last day."""
        return (0.0,) * len(self.names) + (np.nan,) * (width - len(self.names))

    def _index(self) -> tuple[pd.Index, np.ndarray]:
        """The keys as a hash index, and their totals as rows of an array whose last row is the
        missing key's (so position -1, get_indexer's "not found", reads it). Built on first use."""
        indexed = self.__dict__.get("_indexed")
        if indexed is None:
            width = len(self.names) + self.with_first_day + self.with_last_day
            table = np.array([*self.totals.values(), self._missing(width)], dtype="float64")
            index = pd.Index(list(self.totals), dtype=object)
            indexed = self.__dict__["_indexed"] = (index, table.reshape(-1, width))
        return indexed
