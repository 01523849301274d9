"""Benchmark: training on 1M declarations, MLflow logging and registration included.

    .venv/bin/python bench/bench_training.py [--declarations 1000000] [--cache /tmp/bench-train]

Generates the demo data once into --cache (reused on later runs), ingests it into a store
there, then times one `run_training` (the `riskscore train` path) into a fresh embedded MLflow
store, split into: labelled history (load + seizure linking), feature build, boosting, refit of
the deployed state, MLflow logging + registration. The baseline is plain LightGBM on the very
same feature matrix and parameters (no pipeline, no logging). Prints a Markdown section for
bench/RESULTS.md. The DESIGN.md budget is 120 s for training 1M rows, logging included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import mlflow

from riskscore.features.dataset import load_history
from riskscore.features.ingest import ingest
from riskscore.features.pipeline import LABEL
from riskscore.features.store import Store
from riskscore.settings import Settings
from riskscore.synth import generate
from riskscore.training import job
from riskscore.training.config import TrainConfig
from riskscore.training.train import split_by_time

BUDGET_SECONDS = 120.0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def prepare(cache: Path, declarations: int, seed: int) -> Path:
    """The demo data and its store, made once per (size, seed) and reused."""
    folder = cache / f"demo-{declarations}-{seed}"
    store = folder / "store"
    if (store / "declarations").is_dir():
        return store
    started = time.perf_counter()
    summary = generate(folder / "data", declarations=declarations, seed=seed)
    print(f"generated {declarations:,} declarations in {time.perf_counter() - started:.1f} s")
    for kind, path in (
        ("seizures", summary.seizures_csv_path),
        ("clearance", summary.clearance_path),
        ("declarations", summary.declarations_path),
    ):
        started = time.perf_counter()
        report = ingest(kind, path, store)
        print(f"ingested {report.rows_accepted:,} {kind} in {time.perf_counter() - started:.1f} s")
    return store


class Timed:
    """Wraps a function and adds up the seconds spent in it."""

    def __init__(self, fn):  # noqa: ANN001
        self.fn, self.seconds, self.result = fn, 0.0, None

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        started = time.perf_counter()
        self.result = self.fn(*args, **kwargs)
        self.seconds += time.perf_counter() - started
        return self.result


def timed_training(store: Path, mlruns: Path, config: TrainConfig) -> dict[str, float]:
    """One `run_training`, split into its stages (the wrappers only measure)."""
    history_step, train_step = Timed(job.load_history), Timed(job.train)
    job.load_history, job.train = history_step, train_step
    try:
        started = time.perf_counter()
        run = job.run_training(store, Settings(mlruns_dir=mlruns), config)
        total = time.perf_counter() - started
    finally:
        job.load_history, job.train = history_step.fn, train_step.fn
    result = train_step.result
    inner = result.seconds
    return {
        "history (load + link)": history_step.seconds,
        "features (point in time + state)": inner["features"],
        "boosting": inner["boosting"],
        "refit deployed state": inner["refit_state"],
        "rest of train() (calibration, SHAP sample)": train_step.seconds
        - inner["features"]
        - inner["boosting"]
        - inner["refit_state"],
        "MLflow logging + registration": total - history_step.seconds - train_step.seconds,
        "total": total,
        "_rows": float(len(history_step.result.declarations)),
        "_train_rows": float(result.model.info["train_rows"]),
        "_rounds": float(result.best_iteration),
        "_p5": result.metrics["precision_at_5pct"],
        "_version": float(run.registered.version) if run.registered else 0.0,
    }


def baseline(store: Path, config: TrainConfig, rounds: int) -> float:
    """Seconds of plain LightGBM on the same feature matrix, parameters and rounds."""
    from riskscore.features.pipeline import FeaturePipeline
    from riskscore.models.risk_model import CategoryEncoder

    history = load_history(Store(store))
    split = split_by_time(history.declarations, config)
    pipeline = FeaturePipeline(config.feature_config)
    seizures = history.seizures[history.seizures["date"] < split.until]
    features = pipeline.historical(split.train, seizures)
    names = list(features.columns)
    categorical = [f.name for f in pipeline.features() if f.categorical and f.name in names]
    x = CategoryEncoder.fit(features, categorical).encode(features, names)
    y = split.train[LABEL].to_numpy(dtype="float64")
    started = time.perf_counter()
    data = lgb.Dataset(x, y, feature_name=names, categorical_feature=categorical)
    lgb.train(config.params(), data, num_boost_round=rounds)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-train")
    args = parser.parse_args()

    store = prepare(args.cache, args.declarations, args.seed)
    config = TrainConfig()
    with tempfile.TemporaryDirectory(prefix="bench-mlruns-") as tmp:
        load_before = os.getloadavg()
        figures = timed_training(store, Path(tmp) / "mlruns", config)
        load_after = os.getloadavg()
        mlflow.end_run()
    peak = _peak_rss_mb()
    plain = baseline(store, config, int(figures["_rounds"]))

    total = figures["total"]
    print()
    print(f"### Training {int(figures['_rows']):,} declarations ({dt.date.today()})")
    print()
    print(
        f"Machine: {os.cpu_count()} cores, {_cpu_model()}, Python {platform.python_version()}, "
        f"LightGBM {lgb.__version__}, MLflow {mlflow.__version__}. Load average before / after "
        f"the timed run: {load_before[0]:.2f} / {load_after[0]:.2f} (shared machine)."
    )
    print()
    print(
        f"`run_training` on the demo store ({int(figures['_train_rows']):,} training rows, "
        f"{int(figures['_rounds'])} boosting rounds after early stopping, precision@5% "
        f"{figures['_p5']:.3f}), embedded SQLite MLflow store:"
    )
    print()
    print("| stage | seconds | share |")
    print("| --- | ---: | ---: |")
    for name, seconds in figures.items():
        if not name.startswith("_"):
            print(f"| {name} | {seconds:.1f} | {seconds / total:.0%} |")
    print()
    print(
        f"Peak RSS {peak:,.0f} MB. Budget {BUDGET_SECONDS:.0f} s: "
        f"{total / BUDGET_SECONDS:.2f} of it ({'met' if total <= BUDGET_SECONDS else 'MISSED'}). "
        f"Plain LightGBM on the same matrix, parameters and rounds: {plain:.1f} s; the full "
        f"job takes {total / plain:.1f}x that."
    )


if __name__ == "__main__":
    main()
