"""Open routes for load balancers and Prometheus: liveness, readiness, metrics. No key, and no
declaration data."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from riskscore.models.state import state_of
from riskscore.serving.deps import Services, ServicesDep
from riskscore.serving.routes.responses import JSONAnswer, model_ref
from riskscore.serving.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse, summary="The process is up")
def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyResponse,
    summary="A model is loaded and can answer",
    responses={
        503: {
            "model": ReadyResponse,
            "description": "No model, the bulk pool not started yet, or shutting down "
            "(draining); `reason` says why",
        }
    },
)
async def readyz(services: ServicesDep) -> JSONAnswer:
    holder = services.holder
    loaded = holder.current
    status = holder.status
    draining = services.drain.draining
    reason = None if loaded is not None else holder.unavailable_reason()
    if reason is None and services.bulk is not None:
        reason = await services.bulk.ready()
    ready = reason is None and not draining
    if draining:  # still answering, so that requests already routed here are not lost
        reason = "draining: the server is shutting down and finishing the requests it has"
    body = {
        "ready": ready,
        "model": model_ref(loaded) if loaded else None,
        "source": loaded.source if loaded else None,
        "registry_reachable": status.registry_reachable,
        "last_error": status.last_error,
        "cache_error": status.cache_error,
        "reason": reason,
    }
    return JSONAnswer(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def prometheus(services: ServicesDep) -> PlainTextResponse:
    refresh_gauges(services)  # read at scrape time, so a hot swap shows without a hook
    return PlainTextResponse(services.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def refresh_gauges(services: Services) -> None:
    """Set the gauges of what this process serves: model, feature state, alerts."""
    loaded = services.holder.current
    metrics = services.metrics
    if loaded is not None:
        metrics.serving(loaded.name, loaded.version, loaded.alias, loaded.source)
        used = state_of(loaded.model)
        metrics.serving_state(used.version, used.as_of, used.age_seconds())
    metrics.alerts_active.set(len(services.alerts.matcher()))
