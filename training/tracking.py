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
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.utils.models import _parse_model_id_if_present
from mlflow.tracking import MlflowClient

from riskscore.models.pyfunc import (
    ARTIFACT,
    RiskPyfunc,
    input_example,
    save_risk_model,
    signature,
)
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
    """Point this process's MLflow client at the settings' tracking store; returns its URI."""
    uri = tracking_uri(settings)
    exported = {name: os.environ.get(name) for name in _EXPORTED}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # mlflow also exports the URIs to the environment, where `tracking_uri` would later take
    # them for the user's own setting and send every other Settings to this store.
    for name, value in exported.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return uri


_EXPORTED = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


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
    from importlib.metadata import version

    return [
        f"{name}=={version(name)}"
        for name in ("mlflow", "lightgbm", "pandas", "numpy", "pyarrow", "scikit-learn")
    ] + ["riskscore"]


def register(
    model_uri: str,
    name: str,
    run_id: str,
    alias: str | None = None,
    tags: dict[str, str] | None = None,
) -> Registered:
    """Register a logged model; the first version becomes champion, later ones challenger.

    The alias moves last, after the version is READY: a crash before that leaves an
    un-aliased version at worst, and the version is deleted if registration itself fails.
    `tags` go on the version (e.g. the fingerprint of the data it was trained on).
    """
    client = MlflowClient()
    try:
        client.get_registered_model(name)
        has_champion = _alias_version(client, name, CHAMPION) is not None
    except MlflowException:
        client.create_registered_model(name, description="Customs risk model (riskscore)")
        has_champion = False
    # A tracking server checks that a models:/m-<id> source names its logged model.
    model_id = _parse_model_id_if_present(model_uri)
    version = client.create_model_version(
        name, model_uri, run_id=run_id, tags=tags, model_id=model_id
    )
    try:
        alias = alias or (CHALLENGER if has_champion else CHAMPION)
        client.set_registered_model_alias(name, alias, version.version)
    except Exception:
        client.delete_model_version(name, version.version)
        raise
    return Registered(name, str(version.version), alias, run_id)


def alias_version(name: str, alias: str) -> str | None:
    """The version an alias points at, or None (no such model or alias)."""
    return _alias_version(MlflowClient(), name, alias)


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


class ModelNotFoundError(Exception):
    """A model URI that names no loadable risk model; the message says which and why."""


def load_model(uri: str) -> RiskModel:
    """The RiskModel behind an MLflow model URI (models:/name@alias, models:/name/3, runs:/...).

    Call `configure(settings)` first so the URI resolves against the right tracking store.
    """
    try:
        pyfunc = mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelNotFoundError(f"cannot load model {uri}: {first}") from exc
    wrapped = pyfunc.unwrap_python_model()
    model = getattr(wrapped, "model", None)
    if not isinstance(model, RiskModel):
        raise ModelNotFoundError(f"{uri} is not a riskscore model")
    return model


@contextmanager
def artifact_dir() -> Iterator[Path]:
    """A temporary folder whose contents are logged as run artifacts on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)
        mlflow.log_artifacts(tmp)


def log_json(obj: object, name: str) -> None:
    mlflow.log_text(json.dumps(obj, indent=2, default=str), name)
