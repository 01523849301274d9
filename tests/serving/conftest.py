"""The scoring API under test: small demo data, a trained and registered model, API keys, and the
real server (`riskscore serve`) as a subprocess on a free port.

Everything is built once per session; tests that change the world (promote, revoke, register)
say so and leave it usable for the others.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from riskscore.features.contracts import declaration_records
from riskscore.features.ingest import ingest
from riskscore.features.store import Store
from riskscore.models import registry
from riskscore.models.risk_model import RiskModel
from riskscore.serving.keys import KeyStore
from riskscore.settings import Settings

RISKSCORE = Path(sys.executable).parent / "riskscore"
MODEL = "customs-risk"
MEMBER = "GB"  # the demo data's reporting country
# Small limits so the limit tests send small bodies.
MAX_DECLARATIONS = 300
MAX_REQUEST_BYTES = 1_000_000
MAX_UPLOAD_BYTES = 8_000_000
# The tests name the registry; an inherited one must not leak into the server.
_INHERITED = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class World:
    """Data, store, registry and state of the session."""

    root: Path
    settings: Settings
    keys: dict[str, str]  # member -> key ("GB", "FR", "*")
    key_ids: dict[str, str]
    first_version: str
    cli_output: str  # what `riskscore keys create` printed (stdout + stderr)
    max_declarations: int = MAX_DECLARATIONS
    max_request_bytes: int = MAX_REQUEST_BYTES
    max_upload_bytes: int = MAX_UPLOAD_BYTES

    def env(self, **extra: object) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("RISKSCORE_") and k not in _INHERITED
        }
        env.update(
            RISKSCORE_TRACKING_URI=str(self.settings.tracking_uri),
            RISKSCORE_STORE_DIR=str(self.settings.store_dir),
            RISKSCORE_MLRUNS_DIR=str(self.settings.mlruns_dir),
            RISKSCORE_STATE_DIR=str(self.settings.state_dir),
            RISKSCORE_MAX_DECLARATIONS=str(MAX_DECLARATIONS),
            RISKSCORE_MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES),
            RISKSCORE_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
            # One process, without a bulk pool, unless a test asks for them
            # (tests/serving/test_workers.py), and no drain wait at SIGTERM unless a test
            # measures it.
            RISKSCORE_WORKERS="1",
            RISKSCORE_BULK_PROCESSES="0",
            RISKSCORE_DRAIN_SECONDS="0",
        )
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def cli(self, *args: str, **env: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(RISKSCORE), *args],
            cwd=self.root,
            env=self.env(COLUMNS=2000, **env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def registry(self) -> MlflowClient:
        """The session's MLflow registry, configured in this process."""
        registry.configure(self.settings)
        return MlflowClient()

    def load_model(self, version: str) -> RiskModel:
        """A registered version, loaded as serving loads it."""
        import mlflow.pyfunc

        registry.configure(self.settings)
        pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL}/{version}")
        return pyfunc.unwrap_python_model().model

    def copy_state(self, to: Path, with_cache: bool) -> Path:
        """A fresh state dir with the session's keys (and the model cache, when asked)."""
        to.mkdir(parents=True)
        shutil.copy(self.settings.keys_file, to / self.settings.keys_file.name)
        if with_cache:
            shutil.copytree(self.settings.model_cache_dir, to / "model-cache")
        return to

    def clearance(self) -> pd.DataFrame:
        return Store(self.settings.store_dir).read("clearance")

    def records(self, n: int, start: int = 0) -> list[dict]:
        """n stored clearance records, as the API takes them."""
        return declaration_records(self.clearance().iloc[start : start + n])


@dataclass
class Server:
    """`riskscore serve` in a subprocess; its stdout and stderr go to files."""

    world: World
    env_extra: dict[str, object] = field(default_factory=dict)
    name: str = "server"
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_paths(self) -> tuple[Path, Path]:
        return self.world.root / f"{self.name}.out", self.world.root / f"{self.name}.err"

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.log_paths if p.exists())

    def start(self, ready: bool = True, timeout: float = 90) -> Server:
        self.port = free_port()
        out, err = self.log_paths
        env = self.world.env(RISKSCORE_PORT=self.port, **self.env_extra)
        with out.open("w") as stdout, err.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(RISKSCORE), "serve"],
                cwd=self.world.root,
                env=env,
                stdout=stdout,
                stderr=stderr,
            )
        self.wait(ready, timeout)
        return self

    def wait(self, ready: bool, timeout: float) -> None:
        """Until /healthz answers (and /readyz says ready, when `ready`)."""
        deadline = time.monotonic() + timeout
        path = "/readyz" if ready else "/healthz"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.logs()}"
                )
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not up on {path} after {timeout} s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def client(self, key: str | None) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def _create_key(world_root: Path, env: dict[str, str], member: str) -> tuple[str, str, str]:
    """`riskscore keys create --member M` -> (key, key id, everything it printed)."""
    done = subprocess.run(
        [str(RISKSCORE), "keys", "create", "--member", member],
        cwd=world_root,
        env=env | {"COLUMNS": "2000"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    key_id = key.split("_")[1]
    return key, key_id, done.stdout + done.stderr


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    if not RISKSCORE.exists():
        pytest.skip(f"console script not installed at {RISKSCORE}")
    from riskscore.synth import generate
    from riskscore.training.job import run_training

    root = tmp_path_factory.mktemp("serving")
    settings = Settings(
        store_dir=root / "store",
        mlruns_dir=root / "mlruns",
        state_dir=root / "var",
        tracking_uri=f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
        _env_file=None,
    )
    settings.mlruns_dir.mkdir()
    data = root / "data"
    generate(data, declarations=8000)
    for kind, name in (
        ("seizures", "seizures.xlsx"),
        ("clearance", "clearance.parquet"),
        ("declarations", "declarations.parquet"),
    ):
        ingest(kind, data / name, settings.store_dir)
    run = run_training(settings.store_dir, settings)
    assert run.registered is not None and run.registered.alias == "champion"

    world = World(root, settings, {}, {}, run.registered.version, "")
    key, key_id, printed = _create_key(root, world.env(), MEMBER)
    world.keys[MEMBER], world.key_ids[MEMBER], world.cli_output = key, key_id, printed
    store = KeyStore(settings.keys_file)
    for member in ("FR", "*"):
        record, secret = store.create(member)
        world.keys[member], world.key_ids[member] = secret, record.key_id
    return world


@pytest.fixture(scope="session")
def server(world) -> Iterator[Server]:
    """The main server: checks the alias every half second (the hot-swap test needs it)."""
    running = Server(world, {"RISKSCORE_RELOAD_SECONDS": 0.5}).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def api(server, world) -> Iterator[httpx.Client]:
    """A client with the GB member's key."""
    with server.client(world.keys[MEMBER]) as client:
        yield client


@pytest.fixture
def start_server(world) -> Iterator[Callable[..., Server]]:
    """Start more servers (name, ready=..., RISKSCORE_X=...); all are stopped after the test."""
    started: list[Server] = []

    def start(name: str, ready: bool = True, **env: object) -> Server:
        server = Server(world, env, name=name)
        started.append(server)
        return server.start(ready=ready)

    yield start
    for server in started:
        server.stop()
