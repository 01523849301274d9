"""Where the registry is: a configured `sqlite:` URI into a missing folder is refused (MLflow
would silently create a new, empty registry there), the embedded default is still created."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from riskscore.models import registry
from riskscore.settings import Settings

RISKSCORE = Path(sys.executable).parent / "riskscore"
MISSING = "sqlite:////nonexistent/dir/mlflow.db"


@pytest.fixture(autouse=True)
def no_inherited_uri(monkeypatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "RISKSCORE_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)


def settings(tmp_path: Path, uri: str | None) -> Settings:
    return Settings(mlruns_dir=tmp_path / "mlruns", tracking_uri=uri, _env_file=None)


@pytest.mark.parametrize("where", ["absolute", "under tmp"])
def test_sqlite_uri_into_missing_folder_is_refused(tmp_path, where):
    folder = Path("/nonexistent/dir") if where == "absolute" else tmp_path / "missing" / "dir"
    uri = MISSING if where == "absolute" else f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.raises(registry.RegistryConfigError) as raised:
        registry.configure(settings(tmp_path, uri))
    message = str(raised.value)
    assert f"{folder} does not exist" in message and "RISKSCORE_TRACKING_URI" in message
    assert not folder.exists(), "no folder and no empty registry created"


def test_mlflow_variable_is_checked_too(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'gone' / 'mlflow.db'}")
    with pytest.raises(registry.RegistryConfigError, match="MLFLOW_TRACKING_URI"):
        registry.tracking_uri(settings(tmp_path, None))


def test_relative_sqlite_uri_is_checked_from_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(registry.RegistryConfigError, match="does not exist"):
        registry.configure(settings(tmp_path, "sqlite:///db/mlflow.db"))
    (tmp_path / "db").mkdir()
    assert registry.configure(settings(tmp_path, "sqlite:///db/mlflow.db")).endswith("mlflow.db")


def test_existing_folder_and_other_uris_are_accepted(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # a new database in an existing folder is fine
    assert registry.tracking_uri(settings(tmp_path, uri)) == uri
    assert registry.tracking_uri(settings(tmp_path, "http://127.0.0.1:5000")).startswith("http")


def test_explicit_uri_into_the_mlruns_folder_creates_it(tmp_path):
    """A URI naming the embedded store's own folder is the default, spelled out."""
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert registry.tracking_uri(settings(tmp_path, uri)) == uri
    assert (tmp_path / "mlruns").is_dir()


def test_embedded_default_is_still_created(tmp_path):
    uri = registry.configure(settings(tmp_path, None))
    assert uri == f"sqlite:///{(tmp_path / 'mlruns').resolve() / 'mlflow.db'}"
    assert (tmp_path / "mlruns").is_dir()


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKSCORE_", "MLFLOW_"))}
    env.update(RISKSCORE_TRACKING_URI=MISSING, RISKSCORE_STATE_DIR=str(tmp_path / "var"))
    env.update(COLUMNS="2000")
    return subprocess.run(
        [str(RISKSCORE), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("verb", [["models", "list"], ["serve", "--port", "1"]])
def test_cli_says_it_in_one_line(tmp_path, verb):
    if not RISKSCORE.exists():
        pytest.skip(f"console script not installed at {RISKSCORE}")
    done = run(tmp_path, *verb)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "/nonexistent/dir does not exist" in lines[0]


def test_models_list_says_the_registry_is_unreachable_not_empty(tmp_path):
    """An unreachable registry is an error naming it (credentials hidden), not "no versions"."""
    if not RISKSCORE.exists():
        pytest.skip(f"console script not installed at {RISKSCORE}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKSCORE_", "MLFLOW_"))}
    env.update(
        RISKSCORE_TRACKING_URI=f"http://user:secretpw@127.0.0.1:{port}",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        COLUMNS="2000",
    )
    done = subprocess.run(
        [str(RISKSCORE), "models", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no registered versions" not in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "secretpw" not in done.stderr
