"""The training job: store -> labelled history -> model -> MLflow run -> registered version."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mlflow
import pandas as pd

from riskscore.database import locate
from riskscore.features.dataset import load_history
from riskscore.features.outcomes import read_outcomes
from riskscore.features.store import Store
from riskscore.models import registry
from riskscore.models.metrics import by_segment, calibration_table, precision_curve
from riskscore.settings import Settings
from riskscore.training import tracking
from riskscore.training.config import TrainConfig
from riskscore.training.shape import frontier_figure
from riskscore.training.train import TrainResult, train

SEGMENTS = ("hs2", "origin_country", "transport_mode")


@dataclass
class TrainingRun:
    """What one training job did: the version it registered (if any), its figures, its run."""

    registered: registry.Registered | None
    metrics: dict[str, float]
    run_id: str
    seconds: float
    orphans: list[str] = field(default_factory=list)  # runs of killed jobs this one marked FAILED
    valid_window: dict = field(default_factory=dict)  # model.info["valid_window"]: what and why
    shape: str = ""  # the model shape chosen and why, in words


def log_result(result: TrainResult, store: Store, label_counts: dict) -> str:
    """Log a training result into the active run (params, metrics, lineage, tables, model).

    The run holds tables; the pictures of a version are in its analyst report (`reports`).
    """
    model = result.model
    config = model.info["config"]
    mlflow.log_params(
        {k: v for k, v in config.items() if not isinstance(v, dict | list)}
        | {f"features.{k}": v for k, v in config["feature_config"].items()}
    )
    mlflow.log_metrics({f"valid.{k}": v for k, v in result.metrics.items()})
    log_valid_window(model.info.get("valid_window") or {})
    log_search(result)
    mlflow.log_metrics({f"seconds.{k}": v for k, v in result.seconds.items()})
    tracking.log_json(store.lineage(), "lineage.json")
    tracking.log_json(label_counts, "labels.json")
    tracking.log_json(
        {k: v for k, v in model.info.items() if k != "random_salt"}, "model_info.json"
    )
    tracking.log_json([f.describe() for f in model.registry], "feature_registry.json")
    mlflow.log_dict(asdict(model.channels), "channels.json")
    valid = result.valid
    raw, label = (valid[c].to_numpy() for c in ("raw", "label"))
    # Calibration judged out of sample: the cross-fitted scores of the calibration slice.
    held = valid[valid["score_held_out"].notna()]
    calibration = calibration_table(held["score_held_out"].to_numpy(), held["label"].to_numpy())
    with tracking.artifact_dir() as folder:
        result.importance.to_csv(folder / "shap_importance.csv", index=False)
        calibration.to_csv(folder / "calibration.csv")
        precision_curve(raw, label).to_csv(folder / "precision_at_capacity.csv", index=False)
        for segment in SEGMENTS:
            by_segment(valid, raw, label, segment).to_csv(folder / f"segments_{segment}.csv")
    return tracking.log_model_artifact(model)


def log_search(result: TrainResult) -> None:
    """The shape chosen (params `shape.*`, tag `shape`), every candidate (shape_search.csv), the
    frontier plot (shape_search.png), and the explainer's memory and cost (metrics `explain.*`)."""
    search, info = result.search, result.model.explainer.info
    mlflow.log_params({f"shape.{k}": v for k, v in search.chosen.shape.params().items()})
    mlflow.set_tag("shape", search.note[:500])
    mlflow.log_metrics(
        {
            "explain.ms_per_declaration": search.chosen.explain_ms,
            "explain.budget_ms": search.budget_ms,
            "explain.table_mib": info.table_bytes / 2**20,
            "explain.build_seconds": info.build_seconds,
            "explain.trees": info.trees,
        }
    )
    mlflow.set_tag("explainer", info.kind)
    with tracking.artifact_dir() as folder:
        pd.DataFrame([c.to_dict() for c in search.candidates]).to_csv(
            folder / "shape_search.csv", index=False
        )
        frontier_figure(search).savefig(folder / "shape_search.png")


def log_valid_window(window: dict) -> None:
    """The validation window chosen (params `valid_window.*`) and why (tag `valid_window`, and
    `valid_window.warning` when it holds fewer offences than wanted)."""
    if not window:
        return
    mlflow.log_params(
        {
            f"valid_window.{k}": v
            for k, v in window.items()
            if k not in ("reason", "warning", "min_valid_positives")
        }
    )
    mlflow.set_tag("valid_window", window["reason"])
    if window.get("warning"):
        mlflow.set_tag("valid_window.warning", window["warning"][:500])


def run_training(
    store_dir: Path,
    settings: Settings,
    config: TrainConfig | None = None,
    register: bool = True,
) -> TrainingRun:
    """Train on the store and log one MLflow run in the settings' experiment; register the
    model unless told not to."""
    started = time.perf_counter()
    registry.configure(settings)
    experiment_id = tracking.ensure_experiment(settings)
    # Before the long part: runs a killed job left RUNNING are failed as this job starts.
    orphans = tracking.fail_orphans(experiment_id)
    store = Store(store_dir)
    outcomes = read_outcomes(locate(settings).outcomes)
    history = load_history(store, outcomes=outcomes)
    result = train(history, config or TrainConfig())
    tags = tracking.process_tags() | {"job": "train"}
    with mlflow.start_run(experiment_id=experiment_id, run_name="train", tags=tags) as run:
        fingerprint = store.fingerprint(outcomes)
        mlflow.set_tag("data_fingerprint", fingerprint)
        model_uri = log_result(result, store, history.label_counts)
        registered = None
        if register:
            registered = registry.register(
                model_uri,
                settings.model_name,
                run.info.run_id,
                tags={"data_fingerprint": fingerprint},
            )
            mlflow.set_tags({"registered_version": registered.version, "alias": registered.alias})
        seconds = time.perf_counter() - started
        mlflow.log_metric("seconds.total", seconds)
    return TrainingRun(
        registered,
        result.metrics,
        run.info.run_id,
        seconds,
        orphans,
        result.model.info.get("valid_window", {}),
        result.search.note,
    )
