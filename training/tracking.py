"""MLflow tracking and registry: where runs go, what each run logs, how versions get aliases.

Embedded by default: SQLite and local artifacts under `mlruns/`. `RISKSCORE_TRACKING_URI` or
`MLFLOW_TRACKING_URI` point at a tracking server instead (e.g. one backed by PostgreSQL).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from riskscore.models.pyfunc import ARTIFACT, RiskPyfunc, save_risk_model
from riskscore.models.risk_model import RiskModel
from riskscore.settings import Settings

CHAMPION = "champion"
CHALLENGER = "challenger"


def tracking_uri(settings: Settings) -> str:
    """The configured tracking URI, or the embedded SQLite store under mlruns/."""
    configured = settings.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    root = settings.mlruns_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def configure(settings: Settings) -> str:
    uri = tracking_uri(settings)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str, settings: Settings) -> str:
    """The experiment's id, creating it with artifacts under mlruns/ when embedded."""
    client = MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if tracking_uri(settings).startswith("sqlite:"):
        location = (settings.mlruns_dir.resolve() / "artifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


@dataclass
class Registered:
    """A registered model version and the alias it got."""

    name: str
    version: str
    alias: str
    run_id: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}@{self.alias}"


def log_model_artifact(model: RiskModel, example: pd.DataFrame) -> str:
    """Log the pyfunc into the active run; returns its model URI."""
    with tempfile.TemporaryDirectory() as tmp:
        path = save_risk_model(model, Path(tmp) / "risk_model.pkl")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskPyfunc(),
            artifacts={ARTIFACT: str(path)},
            input_example=example,
            # Listed, not inferred: inference would load and run the model a second time.
            pip_requirements=_requirements(),
        )
    return info.model_uri


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{name}=={version(name)}"
        for name in ("mlflow", "lightgbm", "pandas", "numpy", "pyarrow", "scikit-learn")
    ] + ["riskscore"]


def register(model_uri: str, name: str, run_id: str, alias: str | None = None) -> Registered:
    """Register a logged model; the first version becomes champion, later ones challenger.

    The alias moves last, after the version is READY: a crash before that leaves an
    un-aliased version at worst, and the version is deleted if registration itself fails.
    """
    client = MlflowClient()
    try:
        client.get_registered_model(name)
        has_champion = _alias_version(client, name, CHAMPION) is not None
    except MlflowException:
        client.create_registered_model(name, description="Customs risk model (riskscore)")
        has_champion = False
    version = client.create_model_version(name, model_uri, run_id=run_id)
    try:
        alias = alias or (CHALLENGER if has_champion else CHAMPION)
        client.set_registered_model_alias(name, alias, version.version)
    except Exception:
        client.delete_model_version(name, version.version)
        raise
    return Registered(name, str(version.version), alias, run_id)


def _alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def promote(name: str, version: str) -> None:
    """Make `version` the champion (an alias move; serving follows it)."""
    client = MlflowClient()
    client.set_registered_model_alias(name, CHAMPION, version)
    if _alias_version(client, name, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)


@contextmanager
def artifact_dir() -> Iterator[Path]:
    """A temporary folder whose contents are logged as run artifacts on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)
        mlflow.log_artifacts(tmp)


def log_json(obj: object, name: str) -> None:
    mlflow.log_text(json.dumps(obj, indent=2, default=str), name)
