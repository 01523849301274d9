"""The scoring API: the app that wires the routers (serving.routes) to their services.

The routes are thin: they take what they need (key, model, member scope, services) through the
dependencies of serving.deps, and the model holder, keys, audit log and outcome store do the work.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from riskscore.files import StorageError
from riskscore.models import registry
from riskscore.serving.deps import Services
from riskscore.serving.metrics import (
    RequestLimitAndMetrics,
    Ticker,
    multiprocess_dir,
    retire_worker,
)
from riskscore.serving.model_holder import ModelHolder
from riskscore.serving.routes import alerts, health, model, outcomes, score
from riskscore.serving.routes.responses import JSONAnswer
from riskscore.serving.schemas import ScoreRequest
from riskscore.settings import Settings

OPEN_ROUTES = "/healthz, /readyz and /metrics need no key; every /v1 route does."
SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {"type": "http", "scheme": "bearer"},
}
PUBLISH_SECONDS = 5.0  # how stale another worker's gauges and drift counts may be in a scrape
ROUTERS = (score.router, outcomes.router, alerts.router, model.router, health.router)


def create_app(settings: Settings | None = None, holder: ModelHolder | None = None) -> FastAPI:
    """The FastAPI application, wired to its settings (one app per process, or per test)."""
    settings = settings or Settings()
    registry.configure(settings)
    services = Services.build(settings, holder)
    app = FastAPI(
        title="riskscore: customs risk scoring",
        description="Risk scores, control channels and SHAP reasons for customs declarations. "
        f"Send the key as `X-API-Key` or `Authorization: Bearer`. {OPEN_ROUTES}",
        version="1",
        lifespan=_lifespan,
        default_response_class=JSONAnswer,
    )
    app.state.services = services
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StorageError, _storage_failed)
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi_with_keys(app)  # type: ignore[method-assign]
    app.add_middleware(
        RequestLimitAndMetrics,
        metrics=services.metrics,
        limit_for=lambda path: (
            settings.max_upload_bytes if path == "/v1/score/batch" else settings.max_request_bytes
        ),
        routes=_route_paths(app),
        max_in_flight=settings.max_in_flight,
        # The pool's requests were counted by the worker that relayed them, end to end.
        count_requests=not settings.bulk_pool,
    )
    return app


def _route_paths(app: FastAPI) -> frozenset[str]:
    """The paths the app serves: its own (schema, docs) and its routers'. Read from the routers
    because since FastAPI 0.137 `app.routes` holds an included router as one pathless entry."""
    routes = [*app.routes, *(route for router in ROUTERS for route in router.routes)]
    return frozenset(p for r in routes if isinstance(p := getattr(r, "path", None), str))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: Services = app.state.services
    services.drain.install()
    services.holder.load_initial()
    services.holder.start()
    shared = multiprocess_dir()
    ticker = Ticker(lambda: _publish(services, shared), PUBLISH_SECONDS).start() if shared else None
    yield
    if services.bulk is not None:
        await services.bulk.close()
    services.holder.stop()
    services.close()
    if ticker is not None:
        ticker.stop()
        retire_worker()


def _publish(services: Services, folder: Path) -> None:
    """What one worker of several shares with the worker that answers the next scrape."""
    health.refresh_gauges(services)
    services.drift.export(folder)


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    """422 with field-level errors. ASCII JSON: the errors echo the input, and a string with a
    lone surrogate (valid JSON, not valid UTF-8) must not turn a 422 into a 500."""
    body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


async def _storage_failed(request: Request, exc: Exception) -> Response:
    """503 naming the state file and the cause (a full disk), for a failure no route mapped:
    the service is unavailable, not broken, and the operator learns what to free."""
    return JSONAnswer({"detail": str(exc)}, status_code=503)


def _openapi_with_keys(app: FastAPI) -> dict:
    """The generated schema, with the key every /v1 route needs declared."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        components["securitySchemes"] = SECURITY_SCHEMES
        # /v1/score reads its body itself (serving.routes.score): its schema is added here.
        found = ScoreRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components.setdefault("schemas", {}).update(found.pop("$defs", {}))
        components["schemas"]["ScoreRequest"] = found
        for path, operations in schema["paths"].items():
            if path.startswith("/v1/"):
                for operation in operations.values():
                    operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
        app.openapi_schema = schema
    return app.openapi_schema
