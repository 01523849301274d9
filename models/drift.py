"""Population stability: how far recent traffic has moved from the traffic a model was validated on.

At training, each model input (and the raw score) is cut into bins on the validation window,
featurised as serving featurises a request: deciles for numbers (cut halfway between two
observed values), the 20 most frequent codes for
categories (the rest share an "other" bin), and one bin for missing values. The bins and their
shares travel in `model.info["drift_reference"]`, so serving, `riskscore drift`, the report and
`retrain --if-drift` all measure against the same reference.

The population stability index of a feature is sum((a - e) * ln(a / e)) over its bins, `e` the
reference share and `a` the recent one, both floored at FLOOR so an empty bin costs a finite
amount. Read it as the industry does: below 0.1 stable, 0.1-0.25 moderate, above 0.25 major.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

DECILES = np.linspace(0.1, 0.9, 9)
TOP_CODES = 20
FLOOR = 1e-4  # share given to an empty bin: one in ten thousand
MODERATE, MAJOR = 0.1, 0.25
SCORE = "(score)"  # the row of the raw score in drift tables
# A feature the model relies on carries at least this share of its mean |SHAP|.
RELIED_ON_SHARE = 0.02


@dataclass(frozen=True)
class Bins:
    """The bins of one input and their reference shares (missing last)."""

    name: str
    kind: str  # "numeric" or "categorical"
    edges: tuple[float, ...] = ()  # numeric: cut points, len(edges) + 1 bins of values
    codes: tuple[int, ...] = ()  # categorical: codes with a bin of their own, then "other"
    expected: tuple[float, ...] = ()

    @property
    def size(self) -> int:
        """Bins, missing included."""
        return (len(self.edges) + 1 if self.kind == "numeric" else len(self.codes) + 1) + 1

    def index(self, values: np.ndarray) -> np.ndarray:
        """The bin of each value."""
        values = np.asarray(values, dtype="float64")
        missing = np.isnan(values)
        if self.kind == "numeric":
            out = np.searchsorted(np.asarray(self.edges), values, side="right")
        else:
            codes = np.asarray(self.codes, dtype="float64")  # sorted by fit
            out = np.full(len(values), len(codes))  # "other"
            if len(codes):
                at = np.minimum(np.searchsorted(codes, values), len(codes) - 1)
                own = codes[at] == values
                out[own] = at[own]
        out[missing] = self.size - 1
        return out

    def counts(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.index(values), minlength=self.size)

    def labels(self) -> list[str]:
        """A readable name per bin, for tables."""
        if self.kind == "numeric":
            cuts = [f"{e:.4g}" for e in self.edges]
            inner = [f"{a} to {b}" for a, b in zip(cuts, cuts[1:], strict=False)]
            names = [f"< {cuts[0]}", *inner, f">= {cuts[-1]}"] if cuts else ["all"]
        else:
            names = [f"code {c}" for c in self.codes] + ["other"]
        return [*names, "missing"]

    @classmethod
    def fit(cls, name: str, values: np.ndarray, categorical: bool) -> Bins:
        values = np.asarray(values, dtype="float64")
        present = values[~np.isnan(values)]
        if categorical:
            found, counts = np.unique(present, return_counts=True)
            top = found[np.argsort(-counts, kind="stable")[:TOP_CODES]]
            bins = cls(name, "categorical", codes=tuple(float(c) for c in np.sort(top)))
        else:
            bins = cls(name, "numeric", edges=tuple(float(e) for e in _between(present)))
        counts = bins.counts(values)
        return cls(bins.name, bins.kind, bins.edges, bins.codes, _shares(counts))


@dataclass(frozen=True)
class DriftReference:
    """The bins of every input and of the raw score, fitted on `rows` declarations."""

    features: tuple[Bins, ...]
    score: Bins
    rows: int
    window: str  # the traffic the reference describes, in words

    @classmethod
    def fit(
        cls,
        matrix: np.ndarray,
        raw: np.ndarray,
        names: Sequence[str],
        categorical: Sequence[str],
        window: str,
    ) -> DriftReference:
        chosen = set(categorical)
        features = tuple(
            Bins.fit(name, matrix[:, j], name in chosen) for j, name in enumerate(names)
        )
        return cls(features, Bins.fit(SCORE, raw, False), len(raw), window)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> DriftReference:
        def bins(d: Mapping) -> Bins:
            return Bins(
                d["name"], d["kind"], tuple(d["edges"]), tuple(d["codes"]), tuple(d["expected"])
            )

        return cls(
            tuple(bins(d) for d in data["features"]),
            bins(data["score"]),
            int(data["rows"]),
            str(data["window"]),
        )

    def counts(self, matrix: np.ndarray, raw: np.ndarray) -> list[np.ndarray]:
        """Counts per bin of each input (in order), then of the raw score."""
        found = [b.counts(matrix[:, j]) for j, b in enumerate(self.features)]
        return [*found, self.score.counts(raw)]

    def psi(self, counts: Sequence[np.ndarray]) -> dict[str, float]:
        """Input name (and SCORE) -> PSI of the traffic these counts describe."""
        every = [*self.features, self.score]
        return {b.name: psi(b.expected, c) for b, c in zip(every, counts, strict=True)}


def reference_of(info: Mapping) -> DriftReference | None:
    """The model's reference, or None for a model trained before drift was measured."""
    data = info.get("drift_reference")
    return DriftReference.from_dict(data) if data else None


def psi(expected: Sequence[float], counts: np.ndarray) -> float:
    """Population stability index of `counts` against the `expected` shares (0 with no rows)."""
    counts = np.asarray(counts, dtype="float64")
    if counts.sum() == 0:
        return 0.0
    e = np.maximum(np.asarray(expected, dtype="float64"), FLOOR)
    a = np.maximum(counts / counts.sum(), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float) -> str:
    """stable / moderate / major, by the usual PSI thresholds."""
    return "major" if value > MAJOR else "moderate" if value > MODERATE else "stable"


def drift_table(
    reference: DriftReference, counts: Sequence[np.ndarray], info: Mapping
) -> pd.DataFrame:
    """One row per input and one for the score: PSI, level, the model's reliance on the input
    (share of its mean |SHAP| at training) and whether it counts as relied on; by PSI."""
    values = reference.psi(counts)
    share = importance_shares(info)
    table = pd.DataFrame(
        {
            "feature": list(values),
            "psi": list(values.values()),
            "importance_share": [1.0 if name == SCORE else share.get(name, 0.0) for name in values],
        }
    )
    table["level"] = [level(v) for v in table["psi"]]
    table["relied_on"] = table["importance_share"] >= RELIED_ON_SHARE
    return table.sort_values("psi", ascending=False, ignore_index=True)


def importance_shares(info: Mapping) -> dict[str, float]:
    """Feature -> its share of the model's mean |SHAP| (from training), {} when not logged."""
    rows = info.get("importance") or []
    total = sum(float(r["mean_abs_shap"]) for r in rows)
    if not total:
        return {}
    return {r["feature"]: float(r["mean_abs_shap"]) / total for r in rows}


def relied_on_drift(table: pd.DataFrame) -> tuple[float, str]:
    """The largest PSI among the score and the inputs the model relies on, and whose it is."""
    relied = table[table["relied_on"]]
    if relied.empty:
        return 0.0, SCORE
    top = relied.iloc[int(np.argmax(relied["psi"].to_numpy()))]
    return float(top["psi"]), str(top["feature"])


def _between(values: np.ndarray) -> np.ndarray:
    """Decile cut points placed halfway between two values the reference holds, never on one.

    Many inputs take a few values, each shared by many declarations (a trader's hit rate, a
    mode's seizure lift), and a refreshed feature state moves each value a little. A cut on a
    value would send its whole mass to the next bin at the slightest move down: a PSI of 5 for
    traffic that has not changed. Halfway, a value may move half the gap to its neighbour.
    """
    distinct = np.unique(values)
    if len(distinct) < 2:
        return np.array([])
    at = np.unique(np.quantile(values, DECILES, method="lower"))
    above = np.searchsorted(distinct, at, side="right")
    keep = above < len(distinct)
    return (at[keep] + distinct[above[keep]]) / 2


def _shares(counts: np.ndarray) -> tuple[float, ...]:
    total = counts.sum()
    return tuple(float(c / total) if total else 0.0 for c in counts)
