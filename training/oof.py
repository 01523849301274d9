"""Out-of-fold outcome statistics for the rows of a training window (DESIGN.md, principle 2).

Strict point-in-time values starve the early rows of a training window: a trader's hit rate on
its first weeks is built from almost nothing, while the frozen state that scores validation and
serving rows holds the whole window. The out-of-fold variant gives each training row the outcome
statistics (the `Source.OUTCOMES` / `Source.POSITIVES` stats' sums) of the other K folds of the
training window instead, counting only outcomes known before the cutoff, exactly the outcomes
the frozen state holds. No label from after the cutoff can reach a training feature, and
validation, test and serving rows keep their strict point-in-time (frozen-state) values.

Only features computed from those sums alone are replaced; the registry decides which (see
`outcome_features`), so a new hit-rate feature needs no change here. Recency features such as
"days since the last offence" stay point in time: "the last offence" from another fold may lie
in the row's future.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.features import pit
from riskscore.features.pipeline import (
    LABEL,
    Columns,
    Context,
    FeaturePipeline,
    events_for,
    prepare_rows,
    prepare_seizures,
)
from riskscore.features.registry import STATS, Source

OUTCOME_SOURCES = (Source.OUTCOMES, Source.POSITIVES)
KEY_FIELDS = (
    "date",
    LABEL,
    "hs_code",
    "origin_country",
    "departure_country",
    "transport_mode",
    "importer_id",
    "exporter_id",
    "declarant_id",
)


class _NotOutcomeBased(KeyError):
    """A feature asked for something other than an outcome sum."""


class _OutcomeSums(dict):
    """Statistics that hold only outcome sums; asking for anything else marks the feature."""

    def __missing__(self, key: str) -> object:
        raise _NotOutcomeBased(key)


def fold_of_rows(n: int, folds: int, seed: int) -> np.ndarray:
    """A fold number per row, balanced and seeded."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(n) % folds)


def oof_outcome_stats(
    rows: Columns, seizures: Columns, fold: np.ndarray, folds: int, as_of_day: int, lag: int
) -> dict[str, dict[str, np.ndarray]]:
    """Per outcome stat and row: sums over the outcomes of the other folds known before as_of.

    Sums are scaled by K / (K - 1) so that they estimate the whole window's totals, the
    magnitude the frozen state gives validation and serving rows.
    """
    parts = [{k: v[fold == f] for k, v in rows.items()} for f in range(folds)]
    scale = folds / (folds - 1)
    out: dict[str, dict[str, np.ndarray]] = _OutcomeSums()
    for stat in STATS:
        if stat.source not in OUTCOME_SOURCES:
            continue
        # The events of each fold, through the pipeline's own definition of the statistic.
        keys, values, event_fold = [], [], []
        for f, part in enumerate(parts):
            events = events_for(stat, part, seizures, lag)
            known = events.days < as_of_day  # the outcomes the frozen state at the cutoff holds
            keys.append(np.asarray(events.keys, dtype=object)[known])
            values.append({name: v[known] for name, v in events.values.items()})
            event_fold.append(np.full(int(known.sum()), f))
        event_keys = np.concatenate(keys)
        codes, _ = pd.factorize(np.concatenate([event_keys, np.asarray(rows[stat.keys], object)]))
        event_codes, row_codes = codes[: len(event_keys)], codes[len(event_keys) :]
        folds_of_events = np.concatenate(event_fold)
        has_key = event_codes >= 0
        n_keys = int(codes.max()) + 1 if len(codes) else 0
        row_has_key = row_codes >= 0
        own = np.where(row_has_key, row_codes, 0)
        sums = _OutcomeSums()
        for name in values[0]:
            v = np.concatenate([part[name] for part in values])[has_key]
            c = event_codes[has_key]
            total = np.bincount(c, weights=v, minlength=n_keys)
            by_fold = np.bincount(
                c * folds + folds_of_events[has_key], weights=v, minlength=n_keys * folds
            )
            other = total[own] - by_fold[own * folds + fold] if n_keys else np.zeros(len(own))
            sums[name] = np.where(row_has_key, np.maximum(other, 0.0) * scale, 0.0)
        out[stat.name] = sums
    return out


def outcome_features(
    pipeline: FeaturePipeline, rows: Columns, stats: dict[str, dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The registry features computable from outcome sums alone, computed from `stats`."""

    def no_tokens() -> np.ndarray:
        raise _NotOutcomeBased("hs4_tokens")

    ctx = Context(rows, stats, pipeline.config, no_tokens)
    values: dict[str, np.ndarray] = {}
    for feature in pipeline.features():
        if feature.compute is None:
            continue
        try:
            values[feature.name] = np.asarray(feature.compute(ctx), dtype="float64")
        except _NotOutcomeBased:
            continue
    return values


def oof_features(
    pipeline: FeaturePipeline,
    declarations: pd.DataFrame,
    seizures: pd.DataFrame,
    until: pd.Timestamp,
    folds: int = 5,
    seed: int = 7,
) -> pd.DataFrame:
    """Out-of-fold values of the outcome-based features of the training rows (same index)."""
    if folds < 2:
        raise ValueError(f"out-of-fold statistics need at least 2 folds, got {folds}")
    # The outcome statistics' keys need only these fields; leaving out the free text skips
    # tokenising descriptions (two thirds of the cost on 1M rows).
    rows = prepare_rows(declarations[[c for c in KEY_FIELDS if c in declarations]])
    as_of_day = int(pit.days(pd.Series([pd.Timestamp(until)]))[0])
    fold = fold_of_rows(len(declarations), folds, seed)
    stats = oof_outcome_stats(
        rows,
        prepare_seizures(seizures),
        fold,
        folds,
        as_of_day,
        pipeline.config.outcome_lag_days,
    )
    return pd.DataFrame(outcome_features(pipeline, rows, stats), index=declarations.index)
