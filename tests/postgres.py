"""A throwaway PostgreSQL cluster for the tests that need a real one (Debian's binaries).

One cluster per test session (conftest's `postgres_cluster`), on a free port, with trust
authentication on 127.0.0.1; each test or module makes its own database in it. initdb and
postgres refuse to run as root: as root they run as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
PG_ABSENT = "PostgreSQL binaries absent (apt-get install -y postgresql)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as() -> list[str] | None:
    """The command prefix to run PostgreSQL's programs with: none, or `runuser -u postgres`
    as root; None when running as root without a `postgres` user (then the tests skip)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Cluster:
    """initdb'd data folder, started with `start()`; `stop()` and `start()` again at will."""

    root: Path
    port: int
    prefix: list[str]

    @classmethod
    def create(cls, prefix: list[str]) -> Cluster:
        # Not tmp_path: the postgres user must be able to reach it.
        root = Path(tempfile.mkdtemp(prefix="riskscore-pg-"))
        if prefix:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
        cluster = cls(root, free_port(), prefix)
        cluster._run("initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust",
                     "-E", "UTF8")  # fmt: skip
        return cluster

    @property
    def bin_dir(self) -> Path:
        return Path(PG_BIN[-1]).parent

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [*self.prefix, str(self.bin_dir / program), *args]
        subprocess.run(command, check=check, capture_output=True, timeout=120)

    def start(self) -> None:
        # fsync off: a test cluster need not survive a power cut; many databases, many servers.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=300"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its name."""
        name = name or f"test_{secrets.token_hex(6)}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop `name`, closing any connection still open to it."""
        self._run("dropdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "--force",
                  "--if-exists", name, check=False)  # fmt: skip
