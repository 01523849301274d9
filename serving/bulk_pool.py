"""The bulk pool: processes of their own for bulk work, so that it cannot slow single declarations.

Threads were not enough: a worker's bulk thread and its event loop share one interpreter lock,
and a single declaration's feature pipeline waited for it while a 1000-row request was scored
(p99 13-15x its p99 alone). So `riskscore serve` also starts the pool: the same app, listening
on a Unix socket in a private folder, at nice 10 so that the kernel runs the workers first. The
workers hand large /v1/score bodies and every /v1/score/batch to it (serving.bulk_proxy); its
bulk lanes admit them or answer 429. Its metrics and drift counts go to the server's
multi-process folder, its audit lines to the same trail.

`riskscore serve` restarts the pool if it dies, and stops it after the workers have drained
(their in-flight bulk answers come from it). The pool stops by itself if its parent dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from riskscore.serving.lanes import BULK_NICENESS
from riskscore.settings import Settings

log = logging.getLogger("riskscore.serving")

RESTART_PAUSE = 1.0  # seconds before a pool that died is started again
STOP_SECONDS = 70.0  # a batch answer in flight may take up to uvicorn's 60 s of grace


class BulkPool:
    """The pool's supervisor in the `riskscore serve` process: start, restart, stop."""

    def __init__(self, processes: int, env: dict[str, str]) -> None:
        self.processes = processes
        self.folder = Path(tempfile.mkdtemp(prefix="riskscore-bulk-"))  # 0700: ours alone
        self.socket = str(self.folder / "bulk.sock")
        self._env = env
        self._lock = threading.Lock()
        self._stopping = False
        self._process: subprocess.Popen | None = None
        self._watcher = threading.Thread(target=self._watch, name="bulk-pool", daemon=True)

    def start(self) -> BulkPool:
        with self._lock:
            self._process = self._spawn()
        self._watcher.start()
        return self

    def _spawn(self) -> subprocess.Popen:
        # A session of its own: Ctrl-C at a terminal reaches the workers, which drain, and the
        # pool is stopped after them rather than at the same time.
        return subprocess.Popen(
            [sys.executable, "-m", "riskscore.serving.bulk_pool", self.socket],
            env=self._env,
            start_new_session=True,
        )

    def _watch(self) -> None:
        while True:
            with self._lock:
                process = self._process
            code = process.wait() if process is not None else None
            time.sleep(RESTART_PAUSE)
            with self._lock:
                if self._stopping:
                    return
                log.error("the bulk pool exited (code %s); starting it again", code)
                self._process = self._spawn()

    def stop(self) -> None:
        """Stop the pool (SIGINT: no drain wait, it is behind the workers) and remove its
        folder; killed if it has not finished within STOP_SECONDS."""
        with self._lock:
            self._stopping = True
            process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def main() -> None:
    """`python -m riskscore.serving.bulk_pool SOCKET`: serve the app on SOCKET, with the
    settings `riskscore serve` put in the environment (RISKSCORE_WORKERS processes)."""
    socket = sys.argv[1]
    with contextlib.suppress(OSError):  # inherited by the pool's own worker processes
        os.nice(BULK_NICENESS)
    with contextlib.suppress(FileNotFoundError):  # left by a pool that died
        os.unlink(socket)
    _stop_with_parent(os.getppid())
    settings = Settings()
    uvicorn.run(
        "riskscore.serving.server:worker_app",
        factory=True,
        uds=socket,
        workers=settings.workers or 1,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=60,
    )


def _stop_with_parent(parent: int) -> None:
    """SIGINT to this process when `riskscore serve` is gone (killed, so it could not stop us)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    main()
