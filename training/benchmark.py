"""The public KCS benchmark: ingest with the shipped mapping, train on train, judge on valid.

The data folder (../shared/data/kcs) holds train.csv (first 12 months), valid.csv (next 3) and a
README with the paper's published precision@n% table; the paper's figures are on a held-out test
split that is not shipped, so ours on valid.csv are compared with them as a floor. valid.csv is
also our early-stopping and calibration window (the paper tunes on it too).
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import mlflow
import pandas as pd

from riskscore.features.dataset import load_history
from riskscore.features.ingest import ingest
from riskscore.features.store import Store
from riskscore.models import registry
from riskscore.settings import Settings
from riskscore.training import tracking
from riskscore.training.job import log_result
from riskscore.training.train import TrainConfig, TrainResult, train

# Published on the test split, mean of 5 runs (../shared/data/kcs/README.md, from Jeong et al.
# 2022, arXiv 2208.02484). Used only when the README's table cannot be read.
PUBLISHED = {
    "Logistic Regression": {"precision_at_5pct": 0.258, "precision_at_10pct": 0.248},
    "Random Forest": {"precision_at_5pct": 0.364, "precision_at_10pct": 0.339},
    "CatBoost": {"precision_at_5pct": 0.621, "precision_at_10pct": 0.520},
    "XGBoost": {"precision_at_5pct": 0.675, "precision_at_10pct": 0.579},
    "LightGBM": {"precision_at_5pct": 0.762, "precision_at_10pct": 0.641},
}
HEADLINE = ("precision_at_5pct", "precision_at_10pct")
EXPERIMENT = "benchmark-kcs"


class BenchmarkError(Exception):
    """The benchmark data is missing or unusable; the message says what to do."""


def kcs_mapping() -> Path:
    """The shipped column mapping for the KCS files."""
    return Path(str(resources.files("riskscore") / "mappings" / "kcs.yaml"))


def published_table(readme: Path) -> dict[str, dict[str, float]]:
    """The published precision@5% / @10% per model, read from the data folder's README."""
    rows: dict[str, dict[str, float]] = {}
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 3 and all(re.fullmatch(r"0?\.\d+", c) for c in cells[1:]):
                rows[cells[0]] = dict(zip(HEADLINE, map(float, cells[1:]), strict=True))
    return rows or dict(PUBLISHED)


@dataclass
class BenchmarkResult:
    """Our figures on valid.csv (mean over seeds) beside the published ones."""

    metrics: dict[str, float]
    per_seed: list[dict[str, float]]
    published: dict[str, dict[str, float]]
    until: str
    valid_days: int
    train_rows: int
    valid_rows: int
    config: dict[str, object]
    run_id: str | None
    seconds: float
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def floor(self) -> dict[str, float]:
        """The published LightGBM figures: the bar to clear."""
        return self.published.get("LightGBM", PUBLISHED["LightGBM"])

    def beats_floor(self) -> bool:
        return all(self.metrics[k] > self.floor[k] for k in HEADLINE)

    def spread(self, key: str) -> float:
        values = [m[key] for m in self.per_seed]
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def to_dict(self) -> dict:
        return {
            "metrics": self.metrics,
            "per_seed": self.per_seed,
            "published": self.published,
            "beats_published_lightgbm": self.beats_floor(),
            "until": self.until,
            "valid_days": self.valid_days,
            "train_rows": self.train_rows,
            "valid_rows": self.valid_rows,
            "config": self.config,
            "run_id": self.run_id,
            "seconds": round(self.seconds, 2),
        }


def run_kcs(
    data_dir: Path,
    settings: Settings,
    store_dir: Path | None = None,
    config: TrainConfig | None = None,
    seeds: tuple[int, ...] = (7,),
    log: bool = True,
) -> BenchmarkResult:
    """Ingest train.csv and valid.csv, train on the first, evaluate on the second.

    `store_dir` keeps the ingested store (re-ingesting adds nothing); without it a temporary
    store is used. With `log`, one MLflow run in experiment "benchmark-kcs" records the figures,
    the published table and the first seed's model, plots and lineage (not registered).
    """
    data_dir = Path(data_dir)
    files = {name: data_dir / f"{name}.csv" for name in ("train", "valid")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise BenchmarkError(f"KCS benchmark files not found: {', '.join(missing)}")
    if not seeds:
        raise BenchmarkError("give at least one seed")
    if store_dir is None:
        with tempfile.TemporaryDirectory(prefix="kcs-store-") as tmp:
            return _run(files, data_dir, settings, Path(tmp), config, seeds, log)
    return _run(files, data_dir, settings, Path(store_dir), config, seeds, log)


def _run(
    files: dict[str, Path],
    data_dir: Path,
    settings: Settings,
    store_dir: Path,
    config: TrainConfig | None,
    seeds: tuple[int, ...],
    log: bool,
) -> BenchmarkResult:
    started = time.perf_counter()
    reports = {
        name: ingest("declarations", path, store_dir, kcs_mapping()) for name, path in files.items()
    }
    valid = reports["valid"]
    if valid.date_min is None or valid.date_max is None:
        raise BenchmarkError(f"{files['valid']}: no usable rows")
    until = pd.Timestamp(valid.date_min)
    valid_days = (pd.Timestamp(valid.date_max) - until).days + 1
    base = replace(config or TrainConfig(), until=until, valid_days=valid_days)

    store = Store(store_dir)
    history = load_history(store)
    results = [train(history, replace(base, seed=seed)) for seed in seeds]
    per_seed = [r.metrics for r in results]
    metrics = {k: statistics.fmean(m[k] for m in per_seed) for k in per_seed[0]}
    first = results[0]
    result = BenchmarkResult(
        metrics=metrics,
        per_seed=per_seed,
        published=published_table(data_dir / "README.md"),
        until=str(until.date()),
        valid_days=valid_days,
        train_rows=int(first.model.info["train_rows"]),
        valid_rows=int(first.model.info["valid_rows"]),
        config={
            "train_stats": base.train_stats,
            "imbalance": base.imbalance,
            "seeds": list(seeds),
            "shape_search": base.shape_search,
            "explain_budget_ms": base.explain_budget_ms,
            # The shape each seed trained: searched within the budget, or the fixed one.
            "shapes": [_shape_label(r) for r in results],
            "max_rounds": base.max_rounds,
        },
        run_id=None,
        seconds=0.0,
        importance=first.importance,
    )
    if log:
        result.run_id = _log(result, first, store, history.label_counts, settings)
    result.seconds = time.perf_counter() - started
    return result


def _shape_label(result: TrainResult) -> str:
    shape = result.model.info.get("shape") or {}
    return (
        f"{shape.get('num_leaves')} leaves, rate {shape.get('learning_rate')}, "
        f"{result.model.booster.num_trees()} trees, {shape.get('explain_ms', float('nan')):.2f} ms"
    )


def _log(
    result: BenchmarkResult,
    first: TrainResult,
    store: Store,
    label_counts: dict,
    settings: Settings,
) -> str:
    registry.configure(settings)
    experiment_id = tracking.ensure_experiment(settings, EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment_id, run_name="benchmark-kcs") as run:
        mlflow.set_tags({"job": "benchmark", "benchmark": "kcs"})
        mlflow.log_param("seeds", ",".join(map(str, result.config["seeds"])))
        log_result(first, store, label_counts)
        mlflow.log_metrics({f"mean.{k}": v for k, v in result.metrics.items()})
        for i, seed_metrics in enumerate(result.per_seed):
            mlflow.log_metrics({f"seeds.{k}": seed_metrics[k] for k in HEADLINE}, step=i)
        mlflow.log_metrics(
            {
                f"published.{model.lower().replace(' ', '_')}.{k}": v
                for model, row in result.published.items()
                for k, v in row.items()
            }
        )
        tracking.log_json(result.to_dict(), "benchmark.json")
    return run.info.run_id
