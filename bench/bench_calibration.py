"""Calibration on the KCS benchmark: ties among the top scores, Brier and log-loss out of sample.

    .venv/bin/python bench/bench_calibration.py --data ../shared/data/kcs [--seeds 3]
    .venv/bin/python bench/bench_calibration.py --demo 100000 [--seeds 3]
    .venv/bin/python bench/ab.py --before HEAD --rounds 1 -- bench/bench_calibration.py --seeds 3

Trains as `riskscore benchmark kcs` does (train.csv, validation window valid.csv), or with
`--demo N` as `riskscore train` does on N demo shipments (seed 7, default TrainConfig), once per
seed and reports, as means over the seeds:

- `distinct_top10`: distinct calibrated scores among the top 10 % of valid.csv by raw score,
  over those rows (1.0: no ties); `distinct_top10_6dp` the same after rounding to 6 decimals,
  as the API and batch files print them; `distinct_top10_raw` the raw scores' own (the ceiling);
- precision@5% / @10% on the whole validation window, and on the calibration slice where there
  is one;
- `brier` / `log_loss` as training reports them, and `oos_brier` / `oos_log_loss`: out of
  sample. With the calibration slice (issue 11) that is training's own figure (2-fold
  cross-fitting inside the slice); code without it fitted the calibrator on the whole window
  the booster early-stopped on, so the same 2-fold cross-fitting is done here on that window;
- with the calibration slice, the candidate calibrators side by side on it, each cross-fitted
  (5 repetitions of 2 folds): `<method>.brier`, `<method>.log_loss`, `<method>.distinct_top10`
  for isotonic steps (the old calibrator), Platt scaling, isotonic blocks joined in logit space
  with the Platt slope beyond the end knots (the new `Calibrator`), and the same with the end
  segments' own slopes beyond the end knots.

The last line is a JSON object of figures (bench/ab.py reads it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.dataset import load_history
from riskscore.features.ingest import ingest
from riskscore.features.store import Store
from riskscore.models.risk_model import Calibrator, random_draw
from riskscore.training.benchmark import kcs_mapping
from riskscore.training.train import TrainConfig, train

ROOT = Path(__file__).resolve().parent.parent


def quality(score: np.ndarray, label: np.ndarray) -> dict[str, float]:
    clipped = np.clip(score, 1e-15, 1 - 1e-15)
    loss = -(label * np.log(clipped) + (1 - label) * np.log1p(-clipped))
    return {"brier": float(np.mean((score - label) ** 2)), "log_loss": float(np.mean(loss))}


def distinct_top(score: np.ndarray, raw: np.ndarray, share: float = 0.10) -> float:
    n = max(1, int(round(len(raw) * share)))
    top = score[np.argsort(-raw, kind="stable")[:n]]
    return len(np.unique(top)) / n


def precision_top(raw: np.ndarray, label: np.ndarray, share: float) -> float:
    n = max(1, int(round(len(raw) * share)))
    return float(label[np.argsort(-raw, kind="stable")[:n]].mean())


def iso_steps(raw: np.ndarray, label: np.ndarray):
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, label)
    x, y = np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_)
    return lambda r: np.interp(r, x, y)


def platt(raw: np.ndarray, label: np.ndarray):
    slope, intercept = Calibrator._logistic(raw, label)
    return lambda r: 1 / (1 + np.exp(-(intercept + slope * r)))


def iso_logit(raw: np.ndarray, label: np.ndarray):
    return Calibrator.fit(raw, label)


def iso_logit_end_slopes(raw: np.ndarray, label: np.ndarray):
    fitted = Calibrator.fit(raw, label)
    if len(fitted.x) < 2:
        return fitted
    z = np.log(fitted.y / (1 - fitted.y))
    low = (z[1] - z[0]) / (fitted.x[1] - fitted.x[0])
    high = (z[-1] - z[-2]) / (fitted.x[-1] - fitted.x[-2])
    return replace(fitted, low_slope=float(low), high_slope=float(high))


METHODS = {
    "isotonic_steps": iso_steps,
    "platt": platt,
    "isotonic_logit": iso_logit,
    "isotonic_logit_end_slopes": iso_logit_end_slopes,
}


def folds(ids: np.ndarray, label: np.ndarray, salt: str) -> np.ndarray:
    """Half of each label's rows, by a keyed hash of the id."""
    draw = random_draw([str(i) for i in ids], salt)
    chosen = np.zeros(len(ids), dtype=bool)
    for value in (0.0, 1.0):
        rows = np.flatnonzero(label == value)
        chosen[rows[np.argsort(draw[rows], kind="stable")][: len(rows) // 2]] = True
    return chosen


def cross_fit(method, raw, label, ids, salt) -> np.ndarray:
    fold = folds(ids, label, salt)
    out = np.empty(len(raw))
    for held in (fold, ~fold):
        out[held] = method(raw[~held], label[~held])(raw[held])
    return out


def one_seed(history, base: TrainConfig, seed: int, repeats: int) -> dict[str, float]:
    result = train(history, replace(base, seed=seed))
    valid = result.valid
    raw, score, label = (valid[c].to_numpy(dtype="float64") for c in ("raw", "score", "label"))
    ids = valid["id"].astype(str).to_numpy()
    found = {
        "precision_at_5pct": result.metrics["precision_at_5pct"],
        "precision_at_10pct": result.metrics["precision_at_10pct"],
        "best_iteration": float(result.best_iteration),
        "distinct_top10": distinct_top(score, raw),
        "distinct_top10_6dp": distinct_top(np.round(score, 6), raw),
        "distinct_top10_raw": distinct_top(raw, raw),
        "brier": result.metrics["brier"],
    }
    if "slice" not in valid:  # before issue 11: calibrated on the early-stopping window itself
        found["log_loss"] = quality(score, label)["log_loss"]
        held = cross_fit(iso_steps, raw, label, ids, f"bench-{seed}")
        found |= {f"oos_{k}": v for k, v in quality(held, label).items()}
        return found
    found["log_loss"] = result.metrics["log_loss"]
    found["oos_brier"], found["oos_log_loss"] = found["brier"], found["log_loss"]
    calibrate = valid["slice"].to_numpy() == "calibration"
    found["calibration_slice.precision_at_5pct"] = precision_top(
        raw[calibrate], label[calibrate], 0.05
    )
    found["calibration_slice.precision_at_10pct"] = precision_top(
        raw[calibrate], label[calibrate], 0.10
    )
    # The deployed calibrator on the early-stopping slice, which it never saw.
    es = ~calibrate
    found |= {f"deployed_on_es.{k}": v for k, v in quality(score[es], label[es]).items()}
    r, y, i = raw[calibrate], label[calibrate], ids[calibrate]
    for name, method in METHODS.items():
        runs = []
        for k in range(repeats):
            held = cross_fit(method, r, y, i, f"bench-{seed}-{k}")
            runs.append(quality(held, y) | {"distinct_top10": distinct_top(held, r)})
        for key in runs[0]:
            found[f"{name}.{key}"] = statistics.fmean(run[key] for run in runs)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kcs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--demo", type=int, default=0, help="demo shipments instead of KCS")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kcs-calibration-") as tmp:
        store_dir = Path(tmp) / "store"
        if args.demo:
            from riskscore.synth import generate

            data = generate(Path(tmp) / "data", declarations=args.demo, seed=7)
            ingest("seizures", data.seizures_csv_path, store_dir)
            ingest("clearance", data.clearance_path, store_dir)
            ingest("declarations", data.declarations_path, store_dir)
            base = TrainConfig()
        else:
            reports = {
                name: ingest("declarations", args.data / f"{name}.csv", store_dir, kcs_mapping())
                for name in ("train", "valid")
            }
            until = pd.Timestamp(reports["valid"].date_min)
            days = (pd.Timestamp(reports["valid"].date_max) - until).days + 1
            base = replace(TrainConfig(), until=until, valid_days=days)
        history = load_history(Store(store_dir))
        per_seed = [
            one_seed(history, base, seed, args.repeats)
            for seed in range(args.seed, args.seed + args.seeds)
        ]
    figures = {k: statistics.fmean(s[k] for s in per_seed) for k in per_seed[0]}
    for key in ("precision_at_5pct", "precision_at_10pct"):
        values = [s[key] for s in per_seed]
        figures[f"{key}.sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
    figures["seconds"] = time.perf_counter() - started
    for seed_figures in per_seed:
        print(json.dumps(seed_figures), file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
