"""The registered versions of the risk model, with their aliases and headline metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

HEADLINE = ("precision_at_5pct", "precision_at_10pct", "pr_auc")


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
    """Every version of the registered model `name`, newest first (empty if none)."""
    client = MlflowClient()
    try:
        found = client.search_model_versions(f"name = '{name}'")
        # Searched versions carry no aliases; the registered model holds alias -> version.
        aliases = dict(client.get_registered_model(name).aliases or {})
    except MlflowException:
        return []
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    out = []
    for version in sorted(found, key=lambda v: int(v.version), reverse=True):
        metrics: dict[str, float] = {}
        if version.run_id:
            try:
                logged = client.get_run(version.run_id).data.metrics
            except MlflowException:
                logged = {}
            metrics = {k: logged[f"valid.{k}"] for k in HEADLINE if f"valid.{k}" in logged}
        out.append(
            VersionInfo(
                version=str(version.version),
                aliases=sorted(by_version.get(str(version.version), [])),
                run_id=version.run_id or "",
                created=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(
                    timespec="seconds"
                ),
                status=str(version.status),
                metrics=metrics,
                tags=dict(version.tags or {}),
            )
        )
    return out
