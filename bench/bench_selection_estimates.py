"""How far the unbiased estimates can be trusted, and what they cost.

    .venv/bin/python bench/bench_selection_estimates.py [--runs 200]

Populations whose truth is known (an offence probability rising with the score; red 5 %,
yellow 10 %, a random share r of the rest) are drawn again and again. For each setting it
prints the coverage of the 95 % intervals (how often they hold the truth of the whole
population), their mean width, and, side by side, the error of the naive figure computed on
inspected declarations only: the baseline the estimates replace. Then the time of one
estimate (1,000 bootstrap replicates) against the number of declarations.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from riskscore.models.selection_estimates import estimate
from riskscore.models.selection_log import selection_of

SETTINGS = (  # declarations, random share, inspected share judged
    (20_000, 0.01, 0.05),
    (20_000, 0.03, 0.25),
    (20_000, 0.10, 0.25),
    (100_000, 0.01, 0.25),
    (100_000, 0.03, 0.25),
)


def population(n: int, share: float, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=n)
    truth = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * raw - 4)))).astype(float)
    rank = np.argsort(np.argsort(-raw))
    channel = np.where(rank < 0.05 * n, "red", np.where(rank < 0.15 * n, "yellow", "green"))
    channel = channel.astype(object)
    channel[(channel == "green") & (rng.random(n) < share)] = "random"
    selection = np.array([selection_of(c, c, share)[0] for c in channel], dtype=object)
    records = pd.DataFrame(
        {
            "selection": selection,
            "draw_share": np.where(np.isin(selection, ["random", "green"]), share, np.nan),
            "illicit": np.where(selection != "green", truth, np.nan),
        }
    )
    return records, truth, raw


def coverage(n: int, share: float, capacity: float, runs: int) -> dict[str, float]:
    covered = {"rate": 0, "precision": 0, "recall": 0}
    width = {"rate": 0.0, "precision": 0.0, "recall": 0.0}
    naive_error = offences = 0.0
    for seed in range(runs):
        records, truth, raw = population(n, share, seed)
        top = np.zeros(n, dtype=bool)
        top[np.argsort(-raw)[: round(n * capacity)]] = True
        found = estimate(records, {"m": top}, replicates=300, seed=seed)
        at = found.at_capacity["m"]
        pairs = {
            "rate": (found.offence_rate, truth.mean()),
            "precision": (at["precision"], truth[top].mean()),
            "recall": (at["recall"], truth[top].sum() / truth.sum()),
        }
        for name, (e, value) in pairs.items():
            covered[name] += e.covers(value)
            width[name] += e.high - e.low
        naive_error += abs(found.inspected["offence_rate"] - truth.mean())
        offences += found.random_offences
    return {
        **{f"coverage_{k}": v / runs for k, v in covered.items()},
        **{f"width_{k}": v / runs for k, v in width.items()},
        "naive_rate_error": naive_error / runs,
        "random_offences": offences / runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    print(
        f"{'n':>8} {'r':>5} {'cap':>5} {'offences':>9} | coverage rate / precision / recall "
        "| mean width | naive rate error"
    )
    for n, share, capacity in SETTINGS:
        found = coverage(n, share, capacity, args.runs)
        print(
            f"{n:>8} {share:>5.2f} {capacity:>5.2f} {found['random_offences']:>9.1f} | "
            f"{found['coverage_rate']:.3f} / {found['coverage_precision']:.3f} / "
            f"{found['coverage_recall']:.3f} | {found['width_rate']:.4f} / "
            f"{found['width_precision']:.4f} / {found['width_recall']:.4f} | "
            f"{found['naive_rate_error']:.4f}"
        )
        figures |= {f"{k}@{n}/{share}/{capacity}": v for k, v in found.items()}
    for n in (10_000, 100_000, 1_000_000):
        records, _, raw = population(n, 0.01, 0)
        top = raw >= np.quantile(raw, 0.95)
        started = time.perf_counter()
        estimate(records, {"m": top})
        seconds = time.perf_counter() - started
        print(f"one estimate with 1,000 replicates, {n:>9,} declarations: {seconds:.3f} s")
        figures[f"seconds@{n}"] = seconds
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
