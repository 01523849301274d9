"""Unbiased figures from selection records: inverse propensity weighting with bootstrap intervals.

Outcomes exist only where someone inspected, and the model chose most of those: the offence
rate among inspected declarations says little about the rest. The selection records
(models.selection_log) split the declarations into strata whose inspection probability is
known by design:

- **by rule** (red, yellow, alert): all inspected, propensity 1;
- **each random draw** (green-by-score declarations, share r drawn at random): the random
  stream is a uniform sample of its stratum, propensity r.

A population total of any quantity v (an offence; an offence in some model's top n %) is
estimated as sum over strata of N_s times the mean of v over the stratum's declarations with
a known outcome: inverse propensity weighting, normalised within each stratum (the Hajek
form, so an outcome not yet reported in a stratum costs precision, not bias). Outcomes on green
declarations that the draw did not pick (an officer's own choice) are left out: their
selection probability is unknown.

Intervals: a stratified bootstrap (outcomes resampled within each stratum, the stratum sizes
fixed), percentile 95 %, with each stratum's spread scaled by the finite-population correction
sqrt(1 - n/N): the figures are about the declarations of the window, so a stratum whose outcomes
are all known (red and yellow, all inspected) is certain, and the random stream's doubt is
what is left. Declarations are summarised by the pattern of their indicators, so each
replicate is one multinomial draw per stratum however many declarations there are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from riskscore.models.selection_log import BY_RULE

MIN_RANDOM_OUTCOMES = 100  # random-stream outcomes before the estimates are worth reading
BOOTSTRAP = 1000
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return asdict(self)

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        if np.isnan(self.value):
            return "unknown"
        return f"{self.value:.4f} [{self.low:.4f}, {self.high:.4f}]"


@dataclass
class Estimates:
    """What the selection records of one window tell without bias, and what they rest on."""

    declarations: int
    by_rule: int  # red, yellow and alert selections
    random: int  # declarations the random draw picked
    outcomes_by_rule: int
    random_outcomes: int
    random_offences: int
    outside_policy: int  # outcomes on declarations the policy did not select: not used
    offence_rate: Estimate
    green_offence_rate: Estimate  # among the declarations left uninspected
    policy_precision: Estimate  # offences among the rule's selections
    at_capacity: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    differences: dict[str, Estimate] = field(default_factory=dict)  # "a - b": precision
    inspected: dict[str, float] = field(default_factory=dict)  # the biased view, for contrast
    min_random_outcomes: int = MIN_RANDOM_OUTCOMES

    @property
    def enough(self) -> bool:
        return self.random_outcomes >= self.min_random_outcomes

    @property
    def note(self) -> str:
        if self.random == 0:
            return (
                "no declaration was selected at random in this window: the offence rate among "
                "uninspected declarations, and so recall, cannot be estimated"
            )
        if not self.enough:
            return (
                f"too few random outcomes to tell: {self.random_outcomes} of the "
                f"{self.min_random_outcomes} needed (intervals are wide; wait for more, or "
                "raise the random share)"
            )
        return (
            f"from {self.random_outcomes} random-stream outcomes ({self.random_offences} "
            f"offences) and {self.outcomes_by_rule} outcomes of rule selections"
        )

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("at_capacity", "differences")}
        out["at_capacity"] = {
            name: {k: e.to_dict() for k, e in found.items()}
            for name, found in self.at_capacity.items()
        }
        out["differences"] = {k: e.to_dict() for k, e in self.differences.items()}
        return out | {"enough": self.enough, "note": self.note}


def estimate(
    records: pd.DataFrame,
    tops: Mapping[str, np.ndarray] | None = None,
    *,
    pairs: Sequence[tuple[str, str]] = (),
    replicates: int = BOOTSTRAP,
    seed: int = 0,
    min_random_outcomes: int = MIN_RANDOM_OUTCOMES,
) -> Estimates:
    """Estimates from `records` (selection, draw_share, illicit: NaN when unknown, as
    `selection_log.with_outcomes` gives them); `tops` names boolean masks over the records,
    e.g. each model's top 5 %, for precision and recall at that capacity; `pairs` (a, b) of
    those names add the interval of a's precision minus b's, both from the same replicates
    (masks of equal size, as two models' top n % are)."""
    tops = dict(tops or {})
    selection = records["selection"].to_numpy(dtype=object)
    illicit = records["illicit"].to_numpy(dtype="float64")
    rule = np.isin(selection, BY_RULE)
    drawn = selection == "random"
    known = ~np.isnan(illicit) & (rule | drawn)
    stratum = _strata(records, rule)
    y = np.where(known, illicit, 0.0)
    columns = {"y": y} | {f"top:{n}": y * np.asarray(m, dtype=bool) for n, m in tops.items()}
    columns |= {f"diff:{a}:{b}": columns[f"top:{a}"] - columns[f"top:{b}"] for a, b in pairs}
    names = list(columns)
    values = np.column_stack([columns[n] for n in names])
    totals = _totals(stratum, known, values, replicates, seed)  # (replicates + 1, names)
    col = {n: totals[:, i] for i, n in enumerate(names)}
    # The draw strata alone: green-by-score declarations no alert raised.
    left = ~rule
    col["y_left"] = _totals(stratum[left], known[left], y[left, None], replicates, seed)[:, 0]
    n = len(records)

    est = _interval
    outside = int(((selection == "green") & ~np.isnan(illicit)).sum())
    rule_known = known & rule
    at_capacity = {
        name: {
            "precision": est(col[f"top:{name}"] / max(int(np.sum(mask)), 1)),
            "recall": est(_ratio(col[f"top:{name}"], col["y"])),
        }
        for name, mask in tops.items()
    }
    differences = {
        f"{a} - {b}": est(col[f"diff:{a}:{b}"] / max(int(np.sum(tops[a])), 1)) for a, b in pairs
    }
    inspected = known | (~np.isnan(illicit) & (selection == "green"))
    return Estimates(
        declarations=n,
        by_rule=int(rule.sum()),
        random=int(drawn.sum()),
        outcomes_by_rule=int(rule_known.sum()),
        random_outcomes=int((known & drawn).sum()),
        random_offences=int(y[known & drawn].sum()),
        outside_policy=outside,
        offence_rate=est(col["y"] / max(n, 1)),
        green_offence_rate=est(col["y_left"] / max(int(left.sum()), 1)),
        policy_precision=_plain(y[rule_known], int(rule.sum()), replicates, seed),
        at_capacity=at_capacity,
        differences=differences,
        inspected={
            "outcomes": int(inspected.sum()),
            "offence_rate": float(np.nanmean(illicit[inspected])) if inspected.any() else np.nan,
        },
        min_random_outcomes=min_random_outcomes,
    )


def _strata(records: pd.DataFrame, rule: np.ndarray) -> np.ndarray:
    """A stratum number per record: -1 for the rule's selections, else one per random draw
    share (integers: a million records are grouped in milliseconds, not seconds)."""
    share = np.round(records["draw_share"].to_numpy(dtype="float64"), 9)
    codes, _ = pd.factorize(share, use_na_sentinel=True)  # no share: -1, kept apart as -2
    return np.where(rule, -1, np.where(codes < 0, -2, codes))


def _totals(
    stratum: np.ndarray, known: np.ndarray, values: np.ndarray, replicates: int, seed: int
) -> np.ndarray:
    """Estimated population totals of each column: row 0 from the data, then one row per
    bootstrap replicate. NaN where a stratum has declarations but no known outcome."""
    rng = np.random.default_rng(seed)
    out = np.zeros((replicates + 1, values.shape[1]))
    if not len(stratum):
        return out + np.nan
    for s in np.unique(stratum):
        members = stratum == s
        size = int(members.sum())
        rows = values[members & known]
        if not len(rows):  # declarations whose outcomes nothing tells
            out[:] = np.nan
            continue
        patterns, counts = np.unique(rows, axis=0, return_counts=True)
        draws = rng.multinomial(len(rows), counts / len(rows), size=replicates)
        point = size * (counts / len(rows)) @ patterns
        # Finite-population correction: the window's declarations are all there is, so a
        # stratum whose outcomes are all known (red and yellow, all inspected) adds no doubt.
        spread = np.sqrt(max(0.0, 1.0 - len(rows) / size))
        boot = point + spread * (size * (draws / len(rows)) @ patterns - point)
        out += np.vstack([point, boot])
    return out


def _interval(samples: np.ndarray) -> Estimate:
    point, boot = float(samples[0]), samples[1:]
    boot = boot[~np.isnan(boot)]
    if np.isnan(point) or not len(boot):
        return Estimate(np.nan, np.nan, np.nan)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return Estimate(point, float(min(low, point)), float(max(high, point)))


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, np.nan)


def _plain(values: np.ndarray, population: int, replicates: int, seed: int) -> Estimate:
    """The mean of `values`, outcomes of `population` declarations all selected, with its
    bootstrap interval under the same finite-population correction as the totals."""
    if not len(values):
        return Estimate(np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed + 1)
    mean = values.mean()
    hits = rng.binomial(len(values), mean, size=replicates) / len(values)
    spread = np.sqrt(max(0.0, 1.0 - len(values) / max(population, 1)))
    return _interval(np.concatenate([[mean], mean + spread * (hits - mean)]))
