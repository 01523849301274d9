"""MLflow runs of the training jobs: the experiment they go to, what each run logs, and the
runs a killed job left RUNNING.

Where the store is, and everything about registered versions, is in `models.registry`.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import mlflow
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from riskscore.models.pyfunc import ARTIFACT, RiskPyfunc, input_example, save_risk_model, signature
from riskscore.models.registry import CHAMPION, aliases_by_version, tracking_uri
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


# ---------------------------------------------------------------------------------------------
# Runs left RUNNING by a killed job.

HOST, PID = "riskscore.host", "riskscore.pid"
SCOPE, STARTED = "riskscore.pid_scope", "riskscore.pid_start"
ORPHAN_AFTER = timedelta(hours=24)
"""A RUNNING run whose process cannot be checked from here (another host) is failed after this."""
PENDING = "pending"  # a retraining run's decision until the registry holds it


def process_tags() -> dict[str, str]:
    """Tags naming the process that runs a job, so a later job can tell whether it died."""
    return {
        HOST: socket.gethostname(),
        PID: str(os.getpid()),
        SCOPE: _pid_scope(),
        STARTED: _start_ticks(os.getpid()) or "",
    }


def _pid_scope() -> str:
    """Where a pid means the same process: boot id and pid namespace ("" off Linux).

    Two containers may share a host name but not a pid namespace; a reboot reuses pids.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot} {os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """When a process started (clock ticks since boot, /proc); None if gone, a zombie or no /proc.

    Compared with the tag, it tells a reused pid from the job's own process.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name in (...) may hold spaces
    return None if fields[0] in ("Z", "X") else fields[19]


def _alive(pid: int, started: str) -> bool | None:
    """Whether the process that tagged a run still runs; None when this machine cannot tell."""
    if Path("/proc/self/stat").exists():
        ticks = _start_ticks(pid)
        return ticks is not None and (not started or ticks == started)
    if os.name == "nt":  # os.kill would terminate the process, not probe it
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: the pid lives, whoever holds it
        return None
    return None  # alive, but without a start time the pid may have been reused


def _orphan_reason(run: Run, here: dict[str, str], now: datetime) -> str | None:
    """Why a RUNNING run belongs to no live job, or None when it may still be running."""
    tags = run.data.tags
    host, pid = tags.get(HOST, "?"), tags.get(PID, "?")
    if host == here[HOST] and pid.isdigit() and tags.get(SCOPE) == here[SCOPE]:
        alive = _alive(int(pid), tags.get(STARTED, ""))
        if alive is False:
            return f"orphaned: process {pid} on {host} no longer running"
        if alive:
            return None
    started = datetime.fromtimestamp(run.info.start_time / 1000, UTC)
    if now - started > ORPHAN_AFTER:
        hours = (now - started).total_seconds() / 3600
        return f"orphaned: process {pid} on {host} still RUNNING after {hours:.0f} h"
    return None


def fail_orphans(experiment_id: str) -> list[str]:
    """Mark FAILED the runs of the experiment that a killed job left RUNNING; their ids.

    Each gets tag `failure` (why, when found). A version such a run registered gets
    `orphaned=true` when it holds no alias. A retraining run still `decision=pending` gets the
    decision the registry shows: `promoted` when its version holds the champion alias (the alias
    moved before the kill), else `failed`. Runs are terminated last, so a cleanup killed halfway
    is redone by the next one.
    """
    client = MlflowClient()
    here, now = process_tags(), datetime.now(UTC)
    running = client.search_runs(
        [experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
    )
    failed = []
    for run in running:
        reason = _orphan_reason(run, here, now)
        if reason is None:
            continue
        found = f"{reason} (found {now.isoformat(timespec='seconds')} by process {here[PID]})"
        _settle_orphan(client, run, found)
        failed.append(run.info.run_id)
    return failed


def _settle_orphan(client: MlflowClient, run: Run, reason: str) -> None:
    """Bring an orphaned run and its versions in line with the registry, then fail the run."""
    run_id, tags = run.info.run_id, run.data.tags
    found = client.search_model_versions(f"run_id = '{run_id}'")
    aliases = {name: aliases_by_version(name) for name in {mv.name for mv in found}}
    held = {(mv.name, str(mv.version)): aliases[mv.name].get(str(mv.version), []) for mv in found}
    champion = [v for (_, v), names in held.items() if CHAMPION in names]
    # The alias is the truth: if it moved before the kill, the promotion happened.
    decision = "promoted" if champion else "failed"
    for mv in found:
        marks = {} if held[mv.name, str(mv.version)] else {"orphaned": "true", "failure": reason}
        if mv.tags.get("decision") == PENDING:
            marks["decision"] = decision
        for key, value in marks.items():
            client.set_model_version_tag(mv.name, mv.version, key, value[:500])
    client.set_tag(run_id, "failure", reason[:500])
    if tags.get("decision") == PENDING:
        client.set_tag(run_id, "decision", decision)
        client.set_tag(
            run_id, "champion_after", champion[0] if champion else tags.get("champion_before", "")
        )
    client.set_terminated(run_id, status="FAILED")
