"""Run the API with uvicorn (uvloop + httptools when installed)."""

from __future__ import annotations

import os

import uvicorn

from riskscore.settings import Settings


def run_server(settings: Settings) -> None:
    # A registry that is down must not stall start-up: fail fast, then serve the cache.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    from riskscore.serving.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )
