"""MLflow runs of the training jobs: the experiment they go to and what each run logs.

Where the store is, and everything about registered versions, is in `models.registry`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from riskscore.models.pyfunc import ARTIFACT, RiskPyfunc, input_example, save_risk_model, signature
from riskscore.models.registry import tracking_uri
from riskscore.models.risk_model import RiskModel
from riskscore.settings import Settings


def ensure_experiment(settings: Settings, name: str | None = None) -> str:
    """The id of the experiment (default: the settings'), created with its artifacts under
    mlruns/ when the store is embedded."""
    name = name or settings.experiment
    client = MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if tracking_uri(settings).startswith("sqlite:"):
        location = (settings.mlruns_dir.resolve() / "artifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


def log_model_artifact(model: RiskModel) -> str:
    """Log the pyfunc into the active run; returns its model URI."""
    with tempfile.TemporaryDirectory() as tmp:
        path = save_risk_model(model, Path(tmp) / "risk_model.pkl")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskPyfunc(),
            artifacts={ARTIFACT: str(path)},
            signature=signature(model),
            input_example=input_example(model),
            # Listed, not inferred: inference would load and run the model a second time.
            pip_requirements=_requirements(),
        )
    return info.model_uri


def _requirements() -> list[str]:
    pinned = ("mlflow", "lightgbm", "pandas", "numpy", "pyarrow", "scikit-learn")
    return [f"{name}=={version(name)}" for name in pinned] + ["riskscore"]


def judged_run(experiment_id: str, fingerprint: str, champion_version: str) -> str | None:
    """The finished retraining run that already judged this data against this champion."""
    found = MlflowClient().search_runs(
        [experiment_id],
        filter_string=(
            f"tags.job = 'retrain' and tags.data_fingerprint = '{fingerprint}' "
            f"and tags.champion_after = '{champion_version}' and tags.skipped = 'false' "
            "and attributes.status = 'FINISHED'"
        ),
        max_results=1,
    )
    return found[0].info.run_id if found else None


@contextmanager
def artifact_dir() -> Iterator[Path]:
    """A temporary folder whose contents are logged as run artifacts on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)
        mlflow.log_artifacts(tmp)


def log_json(obj: object, name: str) -> None:
    mlflow.log_text(json.dumps(obj, indent=2, default=str), name)
