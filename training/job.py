"""The training job: store -> labelled history -> model -> MLflow run -> registered version."""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from riskscore.features.dataset import load_history
from riskscore.features.store import ROW_HASH, Store
from riskscore.settings import Settings
from riskscore.training import plots, tracking
from riskscore.training.metrics import by_segment
from riskscore.training.train import TrainConfig, TrainResult, train


@dataclass
class TrainingOutcome:
    registered: tracking.Registered | None
    metrics: dict[str, float]
    run_id: str
    seconds: float


def lineage(store: Store) -> dict:
    """Every file ingested into the store: path, hash, rows, dates (from the ingest reports)."""
    files = []
    for kind in ("seizures", "clearance", "declarations"):
        folder = store.root / kind / "reports"
        for report in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            data = json.loads(report.read_text())
            files.append(
                {
                    key: data.get(key)
                    for key in (
                        "kind",
                        "source_file",
                        "source_sha256",
                        "rows_in",
                        "rows_accepted",
                        "rows_quarantined",
                        "rows_new",
                        "date_min",
                        "date_max",
                        "started_at",
                    )
                }
            )
    return {"store": str(store.root.resolve()), "files": files}


def store_fingerprint(store: Store, outcomes: pd.DataFrame | None = None) -> str:
    """A hash of the store's content (every stored row's content hash, by kind) and of the
    outcomes fed back through the API.

    Re-ingesting a file that adds nothing leaves it unchanged, so a retraining job can tell
    whether there is anything new to learn from.
    """
    digest = hashlib.sha256()
    for kind in ("seizures", "clearance", "declarations"):
        hashes = store.read(kind, columns=[ROW_HASH])[ROW_HASH].to_numpy(dtype="uint64")
        digest.update(kind.encode())
        digest.update(np.sort(hashes).tobytes())
    if outcomes is not None and len(outcomes):
        fed = pd.util.hash_pandas_object(outcomes, index=False).to_numpy(dtype="uint64")
        digest.update(b"outcomes")
        digest.update(np.sort(fed).tobytes())
    return digest.hexdigest()[:16]


def fed_back_outcomes(settings: Settings) -> pd.DataFrame:
    """Inspection outcomes posted to the scoring API (serving's outcome store)."""
    from riskscore.serving.outcomes import read_outcomes

    return read_outcomes(settings.outcomes_db)


def log_result(result: TrainResult, store: Store, history_counts: dict, config: TrainConfig) -> str:
    """Log a training result into the active run (params, metrics, lineage, plots, model)."""
    model = result.model
    mlflow.log_params(
        {k: v for k, v in model.info["config"].items() if not isinstance(v, dict)}
        | {f"features.{k}": v for k, v in model.info["config"]["feature_config"].items()}
    )
    mlflow.log_metrics({f"valid.{k}": v for k, v in result.metrics.items()})
    mlflow.log_metrics({f"seconds.{k}": v for k, v in result.seconds.items()})
    tracking.log_json(lineage(store), "lineage.json")
    tracking.log_json(history_counts, "labels.json")
    tracking.log_json(
        {k: v for k, v in model.info.items() if k not in ("random_salt",)}, "model_info.json"
    )
    tracking.log_json(
        [
            {
                "name": f.name,
                "criterion": f.criterion.value,
                "categorical": f.categorical,
                "description": f.description,
            }
            for f in model.registry
        ],
        "feature_registry.json",
    )
    mlflow.log_dict({k: v for k, v in asdict(model.channels).items()}, "channels.json")
    valid = result.valid
    with tracking.artifact_dir() as folder:
        result.importance.to_csv(folder / "shap_importance.csv", index=False)
        plots.importance_bars(result.importance, folder / "shap_importance.png")
        plots.calibration(
            valid["score"].to_numpy(), valid["label"].to_numpy(), folder / "calibration.png"
        )
        plots.capacity_curve(
            valid["raw"].to_numpy(), valid["label"].to_numpy(), folder / "precision_at_capacity.png"
        )
        with warnings.catch_warnings():
            # Categorical features have no numeric value to colour by: shap warns on the
            # all-NaN column and draws them grey, which is what we want.
            warnings.simplefilter("ignore", RuntimeWarning)
            plots.shap_beeswarm(
                result.valid_contributions,
                result.valid_sample_features,
                model.feature_names,
                folder / "shap_summary.png",
            )
        for segment in ("hs2", "origin_country", "transport_mode"):
            by_segment(valid, valid["raw"].to_numpy(), valid["label"].to_numpy(), segment).to_csv(
                folder / f"segments_{segment}.csv"
            )
    return tracking.log_model_artifact(model)


def run_training(
    store_dir: Path,
    settings: Settings,
    config: TrainConfig | None = None,
    experiment: str = "customs-risk",
    register: bool = True,
) -> TrainingOutcome:
    """Train on the store and log one MLflow run; register the model unless told not to."""
    started = time.perf_counter()
    store = Store(store_dir)
    outcomes = fed_back_outcomes(settings)
    history = load_history(store, outcomes=outcomes)
    config = config or TrainConfig()
    result = train(history, config)
    tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(experiment, settings)
    with mlflow.start_run(experiment_id=experiment_id, run_name="train") as run:
        fingerprint = store_fingerprint(store, outcomes)
        mlflow.set_tags({"job": "train", "data_fingerprint": fingerprint})
        model_uri = log_result(result, store, history.label_counts, config)
        registered = None
        if register:
            registered = tracking.register(
                model_uri,
                settings.model_name,
                run.info.run_id,
                tags={"data_fingerprint": fingerprint},
            )
            mlflow.set_tags({"registered_version": registered.version, "alias": registered.alias})
        seconds = time.perf_counter() - started
        mlflow.log_metric("seconds.total", seconds)
    return TrainingOutcome(registered, result.metrics, run.info.run_id, seconds)
