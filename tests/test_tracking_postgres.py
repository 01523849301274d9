"""Training against a real MLflow tracking server backed by PostgreSQL (DESIGN.md principle 7).

The test uses the session's PostgreSQL cluster (tests/postgres.py, Debian's postgresql
package), runs an `mlflow server` on a database of its own, trains and registers two models
over HTTP, and loads the champion back.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from postgres import free_port

from riskscore.features.ingest import ingest
from riskscore.models import registry
from riskscore.models.registry import list_versions
from riskscore.settings import Settings
from riskscore.synth import generate
from riskscore.training.config import TrainConfig
from riskscore.training.job import run_training

MLFLOW = Path(sys.executable).parent / "mlflow"


@pytest.fixture(scope="module")
def postgres(postgres_cluster) -> Iterator[str]:
    """The SQLAlchemy URI of an empty `mlflow` database in the session's cluster."""
    name = postgres_cluster.create_database("mlflow")
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory) -> Iterator[str]:
    """`mlflow server` on the PostgreSQL backend; yields its http:// URI."""
    # SQLAlchemy 2.1 reaches postgresql:// URIs through psycopg 3.
    pytest.importorskip("psycopg", reason="psycopg[binary] is needed for a PostgreSQL backend")
    port = free_port()
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
