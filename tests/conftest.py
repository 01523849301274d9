"""Shared fixtures: the `riskscore` CLI as a real subprocess and in-process (typer CliRunner),
and a real PostgreSQL cluster for the tests of the shared database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from postgres import PG_ABSENT, PG_BIN, Cluster, run_as

if TYPE_CHECKING:
    from click.testing import Result

# The console script installed next to the interpreter running the tests (.venv/bin/riskscore).
RISKSCORE = Path(sys.executable).parent / "riskscore"


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `riskscore ARGS...` in `cwd` and capture its output as text.

    COLUMNS is pinned (wide by default) so rich's line wrapping is deterministic; pass
    columns=None for the default width of a non-terminal stderr (80). The default store
    (RISKSCORE_STORE_DIR) is `cwd/default-store`.
    """
    if not RISKSCORE.exists():
        pytest.skip(f"console script not installed at {RISKSCORE}")

    def run(*args: str, cwd: Path, columns: int | None = 2000) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        if columns is not None:
            env["COLUMNS"] = str(columns)
        env["RISKSCORE_STORE_DIR"] = str(Path(cwd) / "default-store")
        return subprocess.run(
            [str(RISKSCORE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
        )

    return run


@pytest.fixture
def run_cli(cli, tmp_path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`cli` running in this test's tmp_path."""
    return lambda *args, columns=2000: cli(*args, cwd=tmp_path, columns=columns)


@pytest.fixture
def invoke(tmp_path, monkeypatch) -> Callable[..., Result]:
    """The CLI in-process (fast), in this test's tmp_path; stdout and stderr kept apart."""
    from typer.testing import CliRunner

    from riskscore.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the session (tests/postgres.py); skips where
    PostgreSQL is not installed."""
    if not PG_BIN:
        pytest.skip(PG_ABSENT)
    prefix = run_as()
    if prefix is None:
        pytest.skip("running as root and no `postgres` user to run PostgreSQL as")
    cluster = Cluster.create(prefix)
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def postgres_url(postgres_cluster) -> Iterator[str]:
    """The URL of a new empty database in the session's cluster (psycopg 3 via SQLAlchemy)."""
    from riskscore.database import SharedDatabase, dispose

    name = postgres_cluster.create_database()
    url = postgres_cluster.url(name)
    yield url
    dispose(SharedDatabase(url))  # this process's pooled connections to it
    postgres_cluster.drop_database(name)
