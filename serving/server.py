"""Run the API with uvicorn (uvloop + httptools when installed): workers and a bulk pool.

With several workers, uvicorn's supervisor binds the socket, starts the workers (fresh
interpreters: each builds its app and loads the model after it starts) and restarts one that
dies. Beside them runs the bulk pool (serving.bulk_pool), which scores the large requests the
workers hand it. The settings reach every process as RISKSCORE_* variables, Prometheus'
multi-process files go to a private folder removed at exit, and each process's CPU threads for
scoring (LightGBM, numba) are its share of the cores, so that they do not fight over them.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import uvicorn

from riskscore.serving.bulk_pool import BulkPool
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
    pool_size = settings.bulk_processes
    if workers == 1 and not pool_size:
        from riskscore.serving.app import create_app

        uvicorn.run(create_app(settings), **_options(settings))
        return
    os.environ.update(_as_environment(settings))
    # The drift window is the server's: each process keeps its share, and a scrape sums them.
    share = max(100, settings.drift_window // (workers + pool_size))
    os.environ["RISKSCORE_DRIFT_WINDOW"] = str(share)
    metrics_dir = tempfile.mkdtemp(prefix="riskscore-metrics-")
    _share_metrics(metrics_dir)
    pool = None
    if pool_size:
        pool = BulkPool(pool_size, _pool_environment(pool_size)).start()
        os.environ["RISKSCORE_BULK_SOCKET"] = pool.socket
    os.environ.update(_threads(workers))
    try:
        if workers == 1:  # in this process, as without a pool (its environment is set now)
            from riskscore.serving.app import create_app

            uvicorn.run(create_app(Settings()), **_options(settings))
        else:
            uvicorn.run(
                "riskscore.serving.server:worker_app",
                factory=True,
                workers=workers,
                **_options(settings),
            )
    finally:
        # After the workers: the bulk answers they were still relaying came from the pool.
        if pool is not None:
            pool.stop()
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


def _share_metrics(folder: str) -> None:
    """Metrics in `folder`, for this process and the ones it starts. prometheus_client picks
    its value class when imported, so it is picked again in case that was before."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    from prometheus_client import values

    values.ValueClass = values.get_value_class()


def _threads(processes: int) -> dict[str, str]:
    """The scoring threads of each of `processes` processes sharing the cores."""
    return dict.fromkeys(THREAD_VARIABLES, str(max(1, usable_cores() // processes)))


def _pool_environment(processes: int) -> dict[str, str]:
    """The bulk pool's environment: the server's, as the pool. No drain wait there: it is
    stopped after the workers, and no load balancer sends it anything."""
    env = dict(os.environ, **_threads(processes))
    env.update(RISKSCORE_WORKERS=str(processes), RISKSCORE_BULK_POOL="true")
    env.update(RISKSCORE_DRAIN_SECONDS="0")
    env.pop("RISKSCORE_BULK_SOCKET", None)  # the pool does not relay to itself
    return env


def _as_environment(settings: Settings) -> dict[str, str]:
    """RISKSCORE_* variables for the settings given (flags, environment, .env), so that the
    workers, which read Settings() afresh, see what the parent was told."""
    variables = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is not None:
            variables[f"RISKSCORE_{name.upper()}"] = str(value)
    return variables
