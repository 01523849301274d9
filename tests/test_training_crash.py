"""Killed training jobs: the next start fails their runs, marks their versions, and a promotion
is recorded only once the champion alias has moved.

The kills are real: `riskscore train` / `retrain` run as subprocesses and get SIGKILL while
their run is RUNNING, at a chosen step (a patched registry call that hangs) or wherever the job is.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import demo_cut, ingest_demo
from mlflow.tracking import MlflowClient

from riskscore.models import registry
from riskscore.settings import Settings
from riskscore.training import tracking
from riskscore.training.config import RetrainConfig, TrainConfig
from riskscore.training.job import run_training
from riskscore.training.retrain import retrain

MODEL = EXPERIMENT = "customs-risk"
CUT = "2025-07-01"  # the champion knows the data before this day
TRAIN_ARGS = ("--valid-days", "90")
# Small data: 4,000 declarations a year need longer windows for enough offences to judge on.
RETRAIN_ARGS = ("--margin", "-1", "--eval-days", "90", "--valid-days", "120")
RETRAIN = RetrainConfig(margin=-1.0, eval_days=90, valid_days=120)

# Runs the CLI after making one registry call hang, so the kill lands at a known step.
HANGING_CLI = """
import os, sys, time
from pathlib import Path
from mlflow.tracking import MlflowClient
from riskscore.models import registry

def hang(*args, **kwargs):
    Path(os.environ["HANG_MARKER"]).write_text("hanging")
    time.sleep(600)

where, promote = os.environ["HANG_AT"], registry.promote
if where == "alias":  # the version exists, no alias yet
    MlflowClient.set_registered_model_alias = hang
elif where == "promote":  # a challenger, the champion alias not moved yet
    registry.promote = hang
elif where == "after-promote":  # the champion alias moved, the decision not recorded yet
    registry.promote = lambda *args: (promote(*args), hang())
from riskscore.cli import app
app(sys.argv[1:], prog_name="riskscore")
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Demo files; a store of all of them; a store + registry whose champion knows CUT only."""
    root = tmp_path_factory.mktemp("crash")
    full, early = demo_cut(root, 4_000, CUT)
    ingest_demo(full, root / "store")
    ingest_demo(early, root / "base" / "store")
    champion = run_training(
        root / "base" / "store",
        Settings(mlruns_dir=root / "base" / "mlruns"),
        TrainConfig(valid_days=90),
    )
    assert champion.registered is not None and champion.registered.alias == "champion"
    return {"full": full, "store": root / "store", "base": root / "base"}


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """A private embedded registry in tmp_path, for this process and the subprocesses."""
    for name in ("MLFLOW_TRACKING_URI", "RISKSCORE_TRACKING_URI", "RISKSCORE_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("RISKSCORE_EXPERIMENT", raising=False)
    monkeypatch.setenv("RISKSCORE_MLRUNS_DIR", str(tmp_path / "mlruns"))
    monkeypatch.setenv("RISKSCORE_STATE_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    registry.configure(Settings())
    return dict(os.environ, COLUMNS="2000")


def _open_registry() -> None:
    """Create the registry's tables here first: two processes migrating one new SQLite file
    at once may collide."""
    tracking.ensure_experiment(Settings())


@pytest.fixture
def world(demo, tmp_path, env) -> Path:
    """A copy of the champion's store and registry, then all the data ingested: a store to
    retrain on, in the registry `env` points at."""
    # dirs_exist_ok: configure() made the folder; the database is not opened yet.
    shutil.copytree(demo["base"] / "mlruns", tmp_path / "mlruns", dirs_exist_ok=True)
    shutil.copytree(demo["base"] / "store", tmp_path / "store")
    ingest_demo(demo["full"], tmp_path / "store")
    _open_registry()
    return tmp_path / "store"


def _runs(job: str) -> list:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    return MlflowClient().search_runs(
        [experiment.experiment_id], filter_string=f"tags.job = '{job}'"
    )


def _versions() -> dict[str, tuple[list[str], dict[str, str]]]:
    """version -> (aliases, tags)."""
    client = MlflowClient()
    aliases = client.get_registered_model(MODEL).aliases
    return {
        str(v.version): (
            sorted(a for a, n in aliases.items() if str(n) == str(v.version)),
            dict(v.tags),
        )
        for v in client.search_model_versions(f"name = '{MODEL}'")
    }


def _kill_when(
    args: list[str], env: dict[str, str], cwd: Path, ready: Callable[[], bool]
) -> subprocess.Popen:
    """Start a process, SIGKILL it once `ready()` holds, reap it (a zombie would look alive)."""
    log = (cwd / "killed.log").open("w")
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    try:
        while not ready():
            assert proc.poll() is None, (cwd / "killed.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the job never reached the step to kill at"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL
    return proc


def _hang(at: str, args: tuple[str, ...], env: dict, cwd: Path) -> subprocess.Popen:
    """Run the CLI with `at` hanging; kill it there, its run RUNNING."""
    marker = cwd / "hanging"
    env = env | {"HANG_AT": at, "HANG_MARKER": str(marker)}
    proc = _kill_when([sys.executable, "-c", HANGING_CLI, *args], env, cwd, marker.exists)
    (run,) = [r for r in _runs(args[0]) if r.info.status == "RUNNING"]
    assert run.data.tags[tracking.PID] == str(proc.pid)
    return proc


def _orphaned(run_id: str, pid: int) -> dict[str, str]:
    run = MlflowClient().get_run(run_id)
    assert run.info.status == "FAILED"
    reason = f"orphaned: process {pid} on {socket.gethostname()} no longer running (found "
    assert run.data.tags["failure"].startswith(reason), run.data.tags["failure"]
    return run.data.tags


def test_a_killed_train_is_failed_and_its_version_marked_at_the_next_start(
    demo, env, tmp_path, invoke
):
    _open_registry()
    store = str(demo["store"])
    proc = _hang("alias", ("train", "--store", store, *TRAIN_ARGS), env, tmp_path)
    (killed,) = _runs("train")
    assert killed.info.status == "RUNNING"
    assert _versions() == {"1": ([], {"data_fingerprint": killed.data.tags["data_fingerprint"]})}

    again = run_training(demo["store"], Settings(), TrainConfig(valid_days=90))
    assert again.orphans == [killed.info.run_id]
    _orphaned(killed.info.run_id, proc.pid)
    versions = _versions()
    assert versions["1"][0] == [] and versions["1"][1]["orphaned"] == "true"
    assert versions["1"][1]["failure"].startswith(f"orphaned: process {proc.pid} ")
    # Nothing held the champion alias: the new version takes it.
    assert versions["2"] == (
        ["champion"],
        {"data_fingerprint": versions["2"][1]["data_fingerprint"]},
    )

    listed = invoke("models", "list")
    assert listed.exit_code == 0, listed.output
    (row,) = [line for line in listed.stdout.splitlines() if line.strip("│ ").startswith("1 ")]
    assert "orphaned" in row


def test_riskscore_train_killed_anywhere_while_running(demo, env, tmp_path):
    """The console script, killed as soon as its run shows RUNNING, wherever it then is."""

    def running() -> bool:
        return any(r.info.status == "RUNNING" for r in _runs("train"))

    _open_registry()
    riskscore = Path(sys.executable).parent / "riskscore"
    args = [str(riskscore), "train", "--store", str(demo["store"]), *TRAIN_ARGS]
    proc = _kill_when(args, env, tmp_path, running)
    (killed,) = _runs("train")

    again = run_training(demo["store"], Settings(), TrainConfig(valid_days=90))
    assert again.orphans == [killed.info.run_id]
    _orphaned(killed.info.run_id, proc.pid)
    # Whatever step the kill hit: every version has an alias or says it is orphaned.
    for aliases, tags in _versions().values():
        assert aliases or tags.get("orphaned") == "true"


def test_a_retrain_killed_before_the_alias_moved_promotes_nothing(world, env, tmp_path):
    proc = _hang("promote", ("retrain", "--store", str(world), *RETRAIN_ARGS), env, tmp_path)
    # The gate said promote, but until the alias moves nothing says "promoted".
    (killed,) = _runs("retrain")
    assert killed.data.tags["decision"] == "pending"
    assert _versions() == {
        "1": (["champion"], {"data_fingerprint": _versions()["1"][1]["data_fingerprint"]}),
        "2": (
            ["challenger"],
            {"data_fingerprint": killed.data.tags["data_fingerprint"], "decision": "pending"},
        ),
    }

    again = retrain(world, Settings(), RETRAIN)
    assert again.orphans == [killed.info.run_id]
    tags = _orphaned(killed.info.run_id, proc.pid)
    assert (tags["decision"], tags["champion_after"]) == ("failed", "1")
    versions = _versions()
    assert versions["2"][1]["decision"] == "failed"
    assert "orphaned" not in versions["2"][1]  # it holds an alias: a challenger never promoted
    # A failed run judged nothing: the next job did the work and promoted its own challenger.
    assert (again.decision, again.champion_before, again.champion_after) == ("promoted", "1", "3")
    assert versions["3"] == (["champion"], versions["3"][1])
    assert versions["3"][1]["decision"] == "promoted"


def test_a_retrain_killed_after_the_alias_moved_is_recorded_promoted(world, env, tmp_path):
    args = ("retrain", "--store", str(world), *RETRAIN_ARGS)
    proc = _hang("after-promote", args, env, tmp_path)
    (killed,) = _runs("retrain")
    assert killed.data.tags["decision"] == "pending"
    assert _versions()["2"] == (["champion"], _versions()["2"][1])

    # The alias is the truth: the next start records the promotion the kill left unrecorded.
    again = retrain(world, Settings(), RETRAIN)
    assert again.orphans == [killed.info.run_id]
    tags = _orphaned(killed.info.run_id, proc.pid)
    assert (tags["decision"], tags["champion_after"]) == ("promoted", "2")
    assert _versions()["2"][1]["decision"] == "promoted"
    assert again.champion_before == again.champion_after == "2"


def test_a_failed_promotion_moves_nothing_and_records_no_promotion(world, monkeypatch):
    def broken(name: str, version: str) -> None:
        raise RuntimeError("registry unreachable")

    monkeypatch.setattr(registry, "promote", broken)
    with pytest.raises(RuntimeError, match="registry unreachable"):
        retrain(world, Settings(), RETRAIN)
    (run,) = _runs("retrain")
    assert run.info.status == "FAILED"
    assert (run.data.tags["decision"], run.data.tags["champion_after"]) == ("failed", "1")
    versions = _versions()
    assert [versions[v][0] for v in ("1", "2")] == [["champion"], ["challenger"]]
    assert versions["2"][1]["decision"] == "failed"


def test_only_runs_of_dead_processes_or_long_silent_ones_are_failed(env):
    client = MlflowClient()
    experiment_id = tracking.ensure_experiment(Settings())
    ours = tracking.process_tags()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    now = datetime.now(UTC)

    def run(tags: dict[str, str], hours: float = 0) -> str:
        start = int((now - timedelta(hours=hours)).timestamp() * 1000)
        return client.create_run(experiment_id, start_time=start, tags=tags).info.run_id

    live = run(ours, hours=100)  # this very process: alive however old
    dead = run(ours | {tracking.PID: gone.stdout.strip()})
    reused = run(ours | {tracking.STARTED: "1"})  # our pid, but another process's start time
    elsewhere = run(ours | {tracking.HOST: "other-host"}, hours=23)
    silent = run(ours | {tracking.HOST: "other-host"}, hours=25)
    untagged = run({"job": "benchmark"}, hours=1)  # started before the tags existed

    failed = tracking.fail_orphans(experiment_id)
    assert sorted(failed) == sorted([dead, reused, silent])
    status = {r: client.get_run(r).info.status for r in (live, elsewhere, untagged)}
    assert set(status.values()) == {"RUNNING"}
    assert "still RUNNING after 25 h" in client.get_run(silent).data.tags["failure"]
    assert tracking.fail_orphans(experiment_id) == []  # idempotent
