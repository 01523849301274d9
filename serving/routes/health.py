"""Open routes for load balancers and Prometheus: liveness, readiness, metrics. No key, and no
declaration data."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from riskscore.serving.deps import ServicesDep
from riskscore.serving.routes.responses import MODEL_ERRORS, JSONAnswer, model_ref
from riskscore.serving.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse, summary="The process is up")
def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get("/readyz", summary="A model is loaded and can answer", responses=MODEL_ERRORS)
def readyz(services: ServicesDep) -> JSONAnswer:
    holder = services.holder
    loaded = holder.current
    body = {
        "ready": loaded is not None,
        "model": model_ref(loaded) if loaded else None,
        "source": loaded.source if loaded else None,
        "registry_reachable": holder.status.registry_reachable,
        "last_error": holder.status.last_error,
    }
    return JSONAnswer(body, status_code=200 if loaded is not None else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def prometheus(services: ServicesDep) -> PlainTextResponse:
    loaded = services.holder.current  # read at scrape time, so a hot swap shows without a hook
    metrics = services.metrics
    if loaded is not None:
        metrics.serving(loaded.name, loaded.version, loaded.alias, loaded.source)
    return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
