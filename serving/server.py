"""Run the API with uvicorn (uvloop + httptools when installed): one process, or `workers`.

With several workers, uvicorn's supervisor binds the socket, starts the workers (fresh
interpreters: each builds its app and loads the model after it starts) and restarts one that
dies. The settings reach them as RISKSCORE_* variables, Prometheus' multi-process files go to a
private folder removed at exit, and each worker's CPU threads for scoring (LightGBM, numba) are
its share of the cores, so that N workers do not fight over them.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import uvicorn

from riskscore.settings import Settings

THREAD_VARIABLES = ("RISKSCORE_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS")


def usable_cores() -> int:
    """The cores this process may run on (its affinity, which containers narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def run_server(settings: Settings) -> None:
    """Serve until stopped (SIGTERM drains, see serving.lifecycle)."""
    # A registry that is down must not stall start-up: fail fast, then serve the cache.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    workers = settings.workers or usable_cores()
    if workers == 1:
        from riskscore.serving.app import create_app

        uvicorn.run(create_app(settings), **_options(settings))
        return
    threads = str(max(1, usable_cores() // workers))
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, threads))
    os.environ.update(_as_environment(settings))
    # The drift window is the server's: each worker keeps its share, and a scrape sums them.
    os.environ["RISKSCORE_DRIFT_WINDOW"] = str(max(100, settings.drift_window // workers))
    metrics_dir = tempfile.mkdtemp(prefix="riskscore-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "riskscore.serving.server:worker_app",
            factory=True,
            workers=workers,
            **_options(settings),
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def worker_app():  # noqa: ANN201 - FastAPI imported lazily
    """The app of one worker process, from the settings its parent put in the environment."""
    from riskscore.serving.app import create_app

    return create_app(Settings())


def _options(settings: Settings) -> dict[str, object]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "access_log": False,
        # SIGTERM drains first (serving.lifecycle); then requests in flight get this long.
        "timeout_graceful_shutdown": 60,
    }


def _as_environment(settings: Settings) -> dict[str, str]:
    """RISKSCORE_* variables for the settings given (flags, environment, .env), so that the
    workers, which read Settings() afresh, see what the parent was told."""
    variables = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is not None:
            variables[f"RISKSCORE_{name.upper()}"] = str(value)
    return variables
