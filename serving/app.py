"""The scoring API: thin routes over the model holder, keys, audit log and outcome store."""

import json
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import orjson
import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from riskscore.features.contracts import CLEARANCE
from riskscore.features.errors import BadInputError
from riskscore.features.intake import read_checked
from riskscore.features.outcomes import Outcome, OutcomeConflict, OutcomeStore
from riskscore.models import registry
from riskscore.reports.build import logged_report
from riskscore.serving.audit import AuditLog
from riskscore.serving.keys import ApiKey, KeyStore
from riskscore.serving.metrics import Metrics, RequestLimitAndMetrics
from riskscore.serving.model_holder import Loaded, ModelHolder
from riskscore.serving.schemas import MAX_TOP_K, OutcomesRequest, ScoreRequest, ScoreResponse
from riskscore.serving.scoring import answers, batch_answers, columns_of
from riskscore.settings import Settings

log = logging.getLogger("riskscore.serving")

BATCH_TYPES = {
    "text/csv": ".csv",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/vnd.apache.parquet": ".parquet",
    "application/octet-stream": ".parquet",
}
OPEN_ROUTES = "/healthz, /readyz and /metrics need no key; every /v1 route does."
# Documented error answers (besides 422), so that clients and schema checkers know them.
_BODY = {400: {"description": "The body is not JSON"}, 413: {"description": "Body too large"}}
_KEY = {401: {"description": "Missing or invalid key"}, 403: {"description": "Another member"}}
_MODEL = {503: {"description": "No model loaded yet"}}
SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {"type": "http", "scheme": "bearer"},
}


class JSONAnswer(Response):
    """JSON rendered by orjson (FastAPI's ORJSONResponse is deprecated and warns on each use)."""

    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def create_app(settings: Settings | None = None, holder: ModelHolder | None = None) -> FastAPI:
    """The FastAPI application, wired to its settings (one app per process, or per test)."""
    settings = settings or Settings()
    registry.configure(settings)
    holder = holder or ModelHolder(settings)
    keys = KeyStore(settings.keys_file)
    audit = AuditLog(settings.audit_dir)
    outcomes = OutcomeStore(settings.outcomes_db)
    metrics = Metrics()
    reports: dict[str, str] = {}  # model version -> its logged report, fetched once

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder.load_initial()
        holder.start()
        yield
        holder.stop()
        audit.close()
        outcomes.close()

    app = FastAPI(
        title="riskscore: customs risk scoring",
        description="Risk scores, control channels and SHAP reasons for customs declarations. "
        f"Send the key as `X-API-Key` or `Authorization: Bearer`. {OPEN_ROUTES}",
        version="1",
        lifespan=lifespan,
        default_response_class=JSONAnswer,
    )
    app.state.holder = holder

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        """422 with field-level errors. ASCII JSON: the errors echo the input, and a string
        with a lone surrogate (valid JSON, not valid UTF-8) must not turn a 422 into a 500."""
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    def require_key(request: Request) -> ApiKey:
        presented = request.headers.get("x-api-key")
        if presented is None:
            bearer = request.headers.get("authorization", "")
            presented = bearer[7:] if bearer.lower().startswith("bearer ") else None
        key = keys.authenticate(presented)
        if key is None:
            raise HTTPException(
                401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
            )
        return key

    Key = Annotated[ApiKey, Depends(require_key)]

    def model_or_503() -> Loaded:
        loaded = holder.current
        if loaded is None:
            raise HTTPException(503, "no model loaded yet: train one (riskscore train)")
        return loaded

    def model_ref(loaded: Loaded) -> dict:
        return {"name": loaded.name, "version": loaded.version, "alias": loaded.alias}

    def check_scope(key: ApiKey, members: set[str | None]) -> None:
        outside = sorted(m for m in members if m is not None and not key.may_act_for(m))
        if outside:
            raise HTTPException(
                403, f"this key is for member {key.member}, not {', '.join(outside)}"
            )

    @app.post(
        "/v1/score",
        response_model=None,
        responses={200: {"model": ScoreResponse}, **_BODY, **_KEY, **_MODEL},
        summary="Score one or more declarations, with reasons",
    )
    async def score(body: ScoreRequest, key: Key) -> JSONAnswer:
        if len(body.declarations) > settings.max_declarations:
            raise HTTPException(
                413,
                f"{len(body.declarations)} declarations in one request; the limit is "
                f"{settings.max_declarations} (use /v1/score/batch for more)",
            )
        loaded = model_or_503()
        records = [d.fields() for d in body.declarations]
        check_scope(key, {r["reporting_country"] for r in records})
        results = answers(loaded.model, columns_of(records), "all", body.top_k)
        request_id = uuid.uuid4().hex
        _audit(audit, request_id, key, loaded, "/v1/score", results)
        metrics.scored([r["score"] for r in results], [r["channel"] for r in results])
        return JSONAnswer(
            {"request_id": request_id, "model": model_ref(loaded), "results": results}
        )

    @app.post(
        "/v1/score/batch",
        response_model=None,
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "One JSON object per line; the last line is the summary",
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            },
            **_KEY,
            413: _BODY[413],
            415: {"description": "Not CSV, Parquet or JSON lines"},
            **_MODEL,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}} for t in BATCH_TYPES
                },
            }
        },
        summary="Score a CSV, Parquet or JSON-lines upload; answers stream back as JSON lines",
        description="Send the file as the request body with its Content-Type: "
        + ", ".join(BATCH_TYPES)
        + ". Each line of the answer is one declaration (id, score, raw_score, base_value, "
        "channel, reasons for red and yellow rows unless explain=all|none), or a rejected row "
        "(row, errors). The last line is a summary.",
    )
    async def score_batch(
        request: Request,
        key: Key,
        explain: Annotated[str, Query(pattern="^(flagged|all|none)$")] = "flagged",
        top_k: Annotated[int, Query(ge=0, le=MAX_TOP_K)] = 5,
    ) -> StreamingResponse:
        loaded = model_or_503()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in BATCH_TYPES:
            raise HTTPException(
                415, f"unsupported Content-Type {content_type!r}: use {', '.join(BATCH_TYPES)}"
            )
        body = await request.body()
        accepted, rejected = await run_in_threadpool(
            _validated_upload, body, BATCH_TYPES[content_type], loaded
        )
        check_scope(key, set(accepted["reporting_country"].dropna().unique()))
        request_id = uuid.uuid4().hex

        def lines() -> Iterator[bytes]:
            for row, errors in rejected:
                yield orjson.dumps({"row": row, "errors": errors}) + b"\n"
            scored = 0
            for chunk in batch_answers(loaded.model, accepted, explain, top_k):
                scored += len(chunk)
                _audit(audit, request_id, key, loaded, "/v1/score/batch", chunk)
                metrics.scored([r["score"] for r in chunk], [r["channel"] for r in chunk])
                yield b"".join(orjson.dumps(r) + b"\n" for r in chunk)
            summary = {"summary": {"scored": scored, "rejected": len(rejected)}}
            yield orjson.dumps(summary | {"request_id": request_id, "model": model_ref(loaded)})
            yield b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.post(
        "/v1/outcomes",
        summary="Feed inspection results back for retraining",
        responses={**_BODY, **_KEY, 409: {"description": "A different outcome is stored"}},
    )
    def post_outcomes(body: OutcomesRequest, key: Key) -> dict:
        check_scope(key, {o.reporting_country for o in body.outcomes})
        try:
            counts = outcomes.add(
                [
                    Outcome(
                        o.declaration_id,
                        o.reporting_country,
                        o.illicit,
                        o.revenue_recovered,
                        o.inspection_date.isoformat(),
                    )
                    for o in body.outcomes
                ]
            )
        except OutcomeConflict as exc:
            raise HTTPException(409, str(exc)) from None
        return counts | {"received": len(body.outcomes)}

    @app.get("/v1/model", summary="The model being served", responses={**_KEY, **_MODEL})
    def model_info(key: Key) -> dict:
        loaded = model_or_503()
        model = loaded.model
        info = {k: v for k, v in model.info.items() if k not in ("random_salt", "example")}
        return {
            **model_ref(loaded),
            "source": loaded.source,
            "loaded_at": loaded.loaded_at,
            "registry_reachable": holder.status.registry_reachable,
            "last_error": holder.status.last_error,
            "info": info,
            "thresholds": {
                "red_share": model.channels.red_share,
                "yellow_share": model.channels.yellow_share,
                "random_share": model.channels.random_share,
                "red_above_raw_score": model.channels.red_above,
                "yellow_above_raw_score": model.channels.yellow_above,
            },
            "features": [
                {
                    "name": f.name,
                    "criterion": f.criterion.value,
                    "categorical": f.categorical,
                    "description": f.description,
                }
                for f in model.registry
            ],
        }

    @app.get(
        "/v1/model/importance",
        summary="Global SHAP importance by feature and criterion",
        responses={**_KEY, **_MODEL},
    )
    def importance(key: Key) -> dict:
        model = model_or_503().model
        table = model.info.get("importance") or []
        by_criterion: dict[str, float] = {}
        for row in table:
            by_criterion[row["criterion"]] = by_criterion.get(row["criterion"], 0.0) + float(
                row["mean_abs_shap"]
            )
        ranked = sorted(by_criterion.items(), key=lambda kv: -kv[1])
        return {
            "by_feature": table,
            "by_criterion": [{"criterion": c, "mean_abs_shap": v} for c, v in ranked],
        }

    @app.get(
        "/v1/model/report",
        response_class=HTMLResponse,
        responses={404: {"description": "no report logged for this version"}},
        summary="The analyst report of the served model (HTML, self-contained)",
    )
    def model_report(key: Key) -> HTMLResponse:
        loaded = model_or_503()
        html = reports.get(loaded.version)
        if html is None:
            html = logged_report(loaded.name, loaded.version)
            if html is None:
                raise HTTPException(
                    404,
                    f"no report logged for {loaded.name} v{loaded.version}: run riskscore "
                    f"report --model models:/{loaded.name}/{loaded.version} --store DIR",
                )
            reports[loaded.version] = html
        return HTMLResponse(html)

    @app.get("/healthz", summary="The process is up")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="A model is loaded and can answer", responses=_MODEL)
    def readyz() -> JSONAnswer:
        loaded = holder.current
        body = {
            "ready": loaded is not None,
            "model": model_ref(loaded) if loaded else None,
            "source": loaded.source if loaded else None,
            "registry_reachable": holder.status.registry_reachable,
            "last_error": holder.status.last_error,
        }
        return JSONAnswer(body, status_code=200 if loaded is not None else 503)

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        loaded = holder.current  # read at scrape time, so a hot swap shows without a hook
        if loaded is not None:
            metrics.serving(loaded.name, loaded.version, loaded.alias, loaded.source)
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict:
        """The generated schema, with the key every /v1 route needs declared."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, operations in schema["paths"].items():
                if path.startswith("/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(
        RequestLimitAndMetrics,
        metrics=metrics,
        limit_for=lambda path: (
            settings.max_upload_bytes if path == "/v1/score/batch" else settings.max_request_bytes
        ),
        routes=frozenset(route.path for route in app.routes),
    )
    return app


def _audit(
    audit: AuditLog, request_id: str, key: ApiKey, loaded: Loaded, route: str, results: list
) -> None:
    audit.record(
        {
            "request_id": request_id,
            "route": route,
            "member": key.member,
            "key_id": key.key_id,
            "model": {"name": loaded.name, "version": loaded.version},
            "declarations": [
                {"id": r["id"], "score": r["score"], "channel": r["channel"]} for r in results
            ],
        }
    )


def _validated_upload(
    body: bytes, suffix: str, loaded: Loaded
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Upload -> (accepted declarations, [(row, reasons)]), through the ingestion contract."""
    numeric = tuple(c for c, cat in loaded.model.pipeline.state_.extras.items() if not cat)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(body)
        try:
            checked = read_checked(path, CLEARANCE, numeric_extras=numeric)
        except BadInputError as exc:
            # Shaped like every other 422, and without the server's temporary path.
            problem = exc.problem.replace(str(path), "the upload")
            error = {"type": "unreadable_upload", "loc": ("body",), "msg": problem, "input": None}
            raise RequestValidationError([error]) from None
    return checked.accepted.reset_index(drop=True), checked.rejected()
