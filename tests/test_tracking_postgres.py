"""Training against a real MLflow tracking server backed by PostgreSQL (DESIGN.md principle 7).

The test starts its own PostgreSQL cluster (Debian's postgresql package) on a free port, an
`mlflow server` on it, trains and registers two models over HTTP, and loads the champion back.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from riskscore.features.ingest import ingest
from riskscore.models import registry
from riskscore.models.registry import list_versions
from riskscore.settings import Settings
from riskscore.synth import generate
from riskscore.training.config import TrainConfig
from riskscore.training.job import run_training

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
MLFLOW = Path(sys.executable).parent / "mlflow"

pytestmark = pytest.mark.skipif(
    not PG_BIN, reason="PostgreSQL binaries absent (apt-get install -y postgresql)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and no `postgres` user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields the SQLAlchemy URI of an empty `mlflow` database."""
    bin_dir = Path(PG_BIN[-1]).parent
    prefix = _as_postgres()
    # Not tmp_path: the postgres user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="riskscore-pg-"))
    if prefix:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port = root / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "log"),
        "-w",
        "start",
    )
    try:
        run(
            str(bin_dir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "mlflow",
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory) -> Iterator[str]:
    """`mlflow server` on the PostgreSQL backend; yields its http:// URI."""
    # SQLAlchemy 2.1 reaches postgresql:// URIs through psycopg 3.
    pytest.importorskip("psycopg", reason="psycopg[binary] is needed for a PostgreSQL backend")
    port = _free_port()
    artifacts = tmp_path_factory.mktemp("server-artifacts")
    log = (tmp_path_factory.mktemp("server-log") / "mlflow.log").open("w")
    process = subprocess.Popen(
        [
            str(MLFLOW),
            "server",
            "--backend-store-uri",
            postgres,
            "--default-artifact-root",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"mlflow server did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_train_register_and_load_by_alias_over_a_postgres_server(server, postgres, tmp_path):
    import psycopg

    summary = generate(tmp_path / "data", declarations=3_000, seed=3)
    store = tmp_path / "store"
    ingest("seizures", summary.seizures_csv_path, store)
    ingest("clearance", summary.clearance_path, store)
    ingest("declarations", summary.declarations_path, store)

    settings = Settings(tracking_uri=server, mlruns_dir=tmp_path / "unused-mlruns")
    first = run_training(store, settings, TrainConfig(valid_days=120))
    assert (first.registered.version, first.registered.alias) == ("1", "champion")
    assert not (tmp_path / "unused-mlruns").exists()  # nothing went to the embedded store
    # A second version of the same run's model: the registry makes it the challenger.
    logged = MlflowClient().get_model_version(settings.model_name, "1").source
    second = registry.register(logged, settings.model_name, first.run_id)
    assert (second.version, second.alias) == ("2", "challenger")

    registry.configure(settings)
    model = registry.load_model(f"models:/{settings.model_name}@champion")
    assert model.info["metrics"] == pytest.approx(first.metrics)
    recent = pd.read_parquet(summary.clearance_path).tail(200)
    scored = model.score(recent.assign(date=pd.to_datetime(recent["date"])), explain="none")
    assert len(scored.score) == 200 and ((scored.score >= 0) & (scored.score <= 1)).all()

    versions = {v.version: v for v in list_versions(settings.model_name)}
    assert versions["1"].aliases == ["champion"] and versions["2"].aliases == ["challenger"]

    # The registry really lives in PostgreSQL.
    with psycopg.connect(postgres) as connection:
        found = connection.execute(
            "select version from model_versions where name = %s order by version",
            (settings.model_name,),
        ).fetchall()
        assert [row[0] for row in found] == [1, 2]
        finished = connection.execute("select count(*) from runs where status = 'FINISHED'")
        assert finished.fetchone()[0] == 1
