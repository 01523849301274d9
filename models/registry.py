"""MLflow access in one place: where the registry is, which version an alias names, loading a
model, registering and promoting versions, and reading or writing the artifacts of a version's run.

Embedded by default: SQLite and local artifacts under `mlruns/`. `RISKSCORE_TRACKING_URI` or
`MLFLOW_TRACKING_URI` point at a tracking server instead (e.g. one backed by PostgreSQL), or at
another SQLite file (its folder must exist). Error messages carry URLs with the user info redacted.
Call `configure(settings)` once per process before anything else here.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.utils.models import _parse_model_id_if_present
from mlflow.tracking import MlflowClient

from riskscore.models import state
from riskscore.models.risk_model import RiskModel
from riskscore.redact import redact
from riskscore.settings import Settings

CHAMPION = "champion"
CHALLENGER = "challenger"
HEADLINE = ("precision_at_5pct", "precision_at_10pct", "pr_auc")
_EXPORTED = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")  # no such model, no such alias


class ModelNotFoundError(Exception):
    """A model URI that names no loadable risk model; the message says which and why."""


class NoVersionError(LookupError):
    """The registry answered, but no version of the model has the alias."""


class RegistryConfigError(ValueError):
    """The configured tracking URI cannot be the registry meant; the message says which and why."""


def tracking_uri(settings: Settings) -> str:
    """The configured tracking URI, or the embedded SQLite store under mlruns/.

    Raises RegistryConfigError for a configured `sqlite:` URI whose folder does not exist
    (unless it is the settings' mlruns folder, created as for the default): MLflow would create
    it and a new, empty registry there, and serve or train against that.
    """
    for variable, configured in (
        ("RISKSCORE_TRACKING_URI", settings.tracking_uri),
        ("MLFLOW_TRACKING_URI", os.environ.get("MLFLOW_TRACKING_URI")),
    ):
        if configured:
            _check_sqlite_folder(configured, variable, settings.mlruns_dir)
            return configured
    root = settings.mlruns_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def _check_sqlite_folder(uri: str, variable: str, mlruns_dir: Path) -> None:
    """A `sqlite:///path` URI must name a file in an existing folder (or in mlruns/)."""
    if not uri.startswith("sqlite:///"):
        return  # other stores, and sqlite:// in memory
    path = uri.removeprefix("sqlite:///").split("?", 1)[0]
    if not path or path == ":memory:":
        return
    folder = Path(path).parent.absolute()
    if folder.is_dir():
        return
    if folder.resolve() == mlruns_dir.resolve():
        folder.mkdir(parents=True, exist_ok=True)  # the embedded store's place, named explicitly
        return
    raise RegistryConfigError(
        f"{variable}={redact(uri)}: the folder {folder} does not exist; create it or correct "
        "the URI (refused: MLflow would start a new, empty registry there)"
    )


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


def default_uri(settings: Settings) -> str:
    """The model the settings name: models:/<model name>@<model alias>."""
    return f"models:/{settings.model_name}@{settings.model_alias}"


# ---------------------------------------------------------------------------------------------
# Versions and aliases.


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


@dataclass(frozen=True)
class ModelRef:
    """Where a model comes from: its URI and, when registered, name, version and run."""

    uri: str
    name: str | None = None
    version: str | None = None
    run_id: str | None = None

    def facts(self) -> dict[str, str]:
        return {
            "model URI": self.uri,
            "registered model": f"{self.name} version {self.version}" if self.name else "",
            "MLflow run": self.run_id or "",
        }


def resolve(uri: str) -> ModelRef:
    """Name, version and run id behind models:/name@alias, models:/name/3 or runs:/id/path.

    Raises ModelNotFoundError for an unknown name, version or alias.
    """
    if uri.startswith("runs:/"):
        return ModelRef(uri, run_id=uri.removeprefix("runs:/").split("/", 1)[0])
    if not uri.startswith("models:/"):
        return ModelRef(uri)
    path = uri.removeprefix("models:/")
    client = MlflowClient()
    try:
        if "@" in path:
            name, alias = path.split("@", 1)
            found = client.get_model_version_by_alias(name, alias)
        else:
            name, version = path.split("/", 1)
            found = client.get_model_version(name, version)
    except (MlflowException, ValueError) as exc:
        raise ModelNotFoundError(f"cannot resolve {redact(uri)}: {_first_line(exc)}") from None
    return ModelRef(uri, found.name, str(found.version), found.run_id)


def alias_version(name: str, alias: str) -> str | None:
    """The version an alias points at, or None (no such model or alias, or no registry)."""
    try:
        return version_for_alias(name, alias)
    except (NoVersionError, MlflowException):
        return None


def version_for_alias(name: str, alias: str) -> str:
    """The version an alias points at.

    Raises NoVersionError when the registry answers that there is none; any other failure (an
    unreachable tracking server) propagates, so a caller can tell the two apart.
    """
    return alias_target(name, alias).version


@dataclass(frozen=True)
class Target:
    """The version an alias points at, its run and its tags (one registry call)."""

    version: str
    run_id: str | None
    tags: dict[str, str]


def alias_target(name: str, alias: str) -> Target:
    """The version an alias points at, with its run and tags (which name its published feature
    state). Raises as `version_for_alias` does."""
    try:
        found = MlflowClient().get_model_version_by_alias(name, alias)
        return Target(str(found.version), found.run_id or None, dict(found.tags or {}))
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND:
            raise NoVersionError(
                f"the registry has no version of {name} with alias {alias} (register one: "
                "riskscore train, or give a version the alias in MLflow)"
            ) from exc
        raise


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
        has_champion = alias_version(name, CHAMPION) is not None
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


def promote(name: str, version: str) -> None:
    """Make `version` the champion (an alias move; serving follows it)."""
    client = MlflowClient()
    client.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(name, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)


@dataclass
class VersionInfo:
    """One registered version as `riskscore models list` shows it."""

    version: str
    aliases: list[str]
    run_id: str
    created: str  # ISO time, UTC
    status: str
    metrics: dict[str, float] = field(default_factory=dict)  # validation window of its run
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def list_versions(name: str) -> list[VersionInfo]:
    """Every version of the registered model `name`, newest first (empty if none).

    A registry that cannot be reached raises (MlflowException): "no versions" is an answer.
    """
    client = MlflowClient()
    try:
        found = client.search_model_versions(f"name = '{name}'")
        # Searched versions carry no aliases; the registered model holds alias -> version.
        aliases = dict(client.get_registered_model(name).aliases or {})
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND:
            return []
        raise
    by_version = _invert(aliases)
    return [
        VersionInfo(
            version=str(version.version),
            aliases=sorted(by_version.get(str(version.version), [])),
            run_id=version.run_id or "",
            created=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(
                timespec="seconds"
            ),
            status=str(version.status),
            metrics=_headline(client, version.run_id),
            tags=dict(version.tags or {}),
        )
        for version in sorted(found, key=lambda v: int(v.version), reverse=True)
    ]


def aliases_by_version(name: str) -> dict[str, list[str]]:
    """version -> the aliases it holds, for the registered model `name`."""
    return _invert(MlflowClient().get_registered_model(name).aliases or {})


def _invert(aliases: dict[str, str | int]) -> dict[str, list[str]]:
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    return by_version


def tag_version(name: str, version: str, tags: dict[str, str]) -> None:
    """Set tags on a registered version."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def _headline(client: MlflowClient, run_id: str | None) -> dict[str, float]:
    """The validation-window headline metrics its run logged."""
    if not run_id:
        return {}
    try:
        logged = client.get_run(run_id).data.metrics
    except MlflowException:
        return {}
    return {k: logged[f"valid.{k}"] for k in HEADLINE if f"valid.{k}" in logged}


# ---------------------------------------------------------------------------------------------
# Models and run artifacts.


def load_model(uri: str, published_state: bool = False) -> RiskModel:
    """The RiskModel behind an MLflow model URI (models:/name@alias, models:/name/3, runs:/...,
    or a local model folder).

    With `published_state`, a registered version scores with the feature state `riskscore
    refresh` last published for it (models.state), as serving does; without, with the state
    training left (what evaluation and retraining judge the model on). Raises
    ModelNotFoundError, and StateError for a published state that cannot be used.
    """
    try:
        pyfunc = mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as exc:
        raise ModelNotFoundError(f"cannot load model {redact(uri)}: {_first_line(exc)}") from exc
    model = getattr(pyfunc.unwrap_python_model(), "model", None)
    if not isinstance(model, RiskModel):
        raise ModelNotFoundError(f"{redact(uri)} is not a riskscore model")
    if published_state and uri.startswith("models:/"):
        found = _model_version(uri)
        model = state.load_published(model, found.run_id, dict(found.tags or {}))
    return model


def _model_version(uri: str):  # noqa: ANN202 - an MLflow ModelVersion
    """The registered version behind models:/name@alias or models:/name/3."""
    path = uri.removeprefix("models:/")
    client = MlflowClient()
    try:
        if "@" in path:
            return client.get_model_version_by_alias(*path.split("@", 1))
        return client.get_model_version(*path.split("/", 1))
    except (MlflowException, ValueError, TypeError) as exc:
        raise ModelNotFoundError(f"cannot resolve {redact(uri)}: {_first_line(exc)}") from None


def version_run_id(name: str, version: str) -> str | None:
    """The run that logged a registered version (None when unknown)."""
    try:
        return MlflowClient().get_model_version(name, version).run_id or None
    except MlflowException:
        return None


def run_text(run_id: str, path: str) -> str | None:
    """A text artifact of a run, or None when the run has none (or cannot be reached)."""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=path, dst_path=tmp
            )
            return Path(local).read_text(encoding="utf-8")
    except (MlflowException, OSError):
        return None


def run_json(run_id: str | None, path: str) -> dict | None:
    """A JSON artifact of a run (what the model was trained on), or None."""
    if not run_id:
        return None
    try:
        found = mlflow.artifacts.load_dict(f"runs:/{run_id}/{path}")
    except (MlflowException, OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def log_run_text(run_id: str, text: str, path: str) -> None:
    """Log (or replace) a text artifact in a run; the run may be finished."""
    MlflowClient().log_text(run_id, text, path)


def _first_line(exc: Exception) -> str:
    """The first line of an error, credentials in URLs redacted (it is shown and logged)."""
    return redact((str(exc).strip().splitlines() or [type(exc).__name__])[0])[:300]
