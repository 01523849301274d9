"""Scoring: /v1/score for JSON declarations, /v1/score/batch for uploads streamed back as NDJSON."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated

import orjson
import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from riskscore.features.contracts import CLEARANCE
from riskscore.features.errors import BadInputError
from riskscore.features.intake import check_upload
from riskscore.files import StorageError
from riskscore.models.selection_log import selection_records
from riskscore.serving.deps import (
    InScope,
    Key,
    MemberScope,
    Services,
    ServicesDep,
    SettingsDep,
    model_or_503,
)
from riskscore.serving.keys import ApiKey
from riskscore.serving.model_holder import Loaded
from riskscore.serving.routes.responses import (
    BODY_ERRORS,
    KEY_ERRORS,
    MODEL_ERRORS,
    JSONAnswer,
    model_ref,
)
from riskscore.serving.schemas import MAX_TOP_K, ScoreRequest, ScoreResponse
from riskscore.serving.scoring import answers, batch_answers, columns_of

log = logging.getLogger("riskscore.serving")
router = APIRouter(tags=["scoring"])

BATCH_TYPES = {
    "text/csv": ".csv",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/vnd.apache.parquet": ".parquet",
    "application/octet-stream": ".parquet",
}
_BULK_FULL = (
    "A large request when the worker's bulk lane is full, or this key already has its share "
    "of it; Retry-After says when to try again"
)
_BATCH_RESPONSES: dict[int | str, dict] = {
    200: {
        "description": "One JSON object per line; the last line is the summary",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    },
    **KEY_ERRORS,
    413: BODY_ERRORS[413],
    415: {"description": "Not CSV, Parquet or JSON lines"},
    429: {"description": _BULK_FULL},
    **MODEL_ERRORS,
}
_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in BATCH_TYPES},
    }
}
# FastAPI documents a body it parses itself; /v1/score reads its own (see `score`).
SCORE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}}},
    }
}
_UNAUDITED_DOC = "; or the answer could not be audited, so it is not given (the cause is named)"
_TOP_K = "Reasons per declaration (0: none); absent: the server's RISKSCORE_TOP_K"
_BATCH_DESCRIPTION = (
    "Send the file as the request body with its Content-Type: "
    + ", ".join(BATCH_TYPES)
    + ". Each line of the answer is one declaration (id, score, raw_score, base_value, "
    "channel, reasons for red and yellow rows unless explain=all|none), or a rejected row "
    "(row, errors). The last line is a summary."
)


@router.post(
    "/v1/score",
    response_model=None,
    responses={
        200: {"model": ScoreResponse},
        **BODY_ERRORS,
        **KEY_ERRORS,
        429: {"description": _BULK_FULL},
        503: {"description": MODEL_ERRORS[503]["description"] + _UNAUDITED_DOC},
    },
    openapi_extra=SCORE_BODY,
    summary="Score one or more declarations, with reasons",
)
async def score(request: Request, key: Key, services: ServicesDep) -> Response:
    # The body is read raw and validated here rather than by FastAPI: a large one goes to the
    # bulk pool, or a bulk thread, since validating 1000 declarations takes ~25 ms of CPU.
    limit = services.settings.bulk_bytes
    declared_large = _content_length(request) > limit
    # Then 429 before the body is read; but the bulk pool reads it first, since the worker
    # relaying it is still writing it and would not see an answer sent before the end.
    body = b"" if declared_large and not services.settings.bulk_pool else await request.body()
    if not declared_large and len(body) <= limit:
        return _score(body, key, services)
    if services.bulk is not None:
        return await services.bulk.forward(request, body or None)
    with services.lanes.admit(key.key_id):
        body = body or await request.body()
        return await services.lanes.run(_score, body, key, services)


def _score(body: bytes, key: ApiKey, services: Services) -> JSONAnswer:
    """The answer to a /v1/score body: validated, scored, audited, rendered."""
    parsed = parse_score_request(body)
    settings = services.settings
    if len(parsed.declarations) > settings.max_declarations:
        raise HTTPException(
            413,
            f"{len(parsed.declarations)} declarations in one request; the limit is "
            f"{settings.max_declarations} (use /v1/score/batch for more)",
        )
    # Not a dependency: a 422 or 413 about the request comes before a 503.
    loaded = model_or_503(services)
    records = [d.fields() for d in parsed.declarations]
    MemberScope(key).check({r["reporting_country"] for r in records})
    top_k = settings.top_k if parsed.top_k is None else parsed.top_k
    columns = columns_of(records)
    results = answers(
        loaded.model, columns, "all", top_k, services.alerts.matcher(), services.drift.observe
    )
    request_id = uuid.uuid4().hex
    # Rendered before it is audited, and audited last: only an answer about to be returned is
    # logged, and one that cannot be logged is not returned (503).
    answer = JSONAnswer({"request_id": request_id, "model": model_ref(loaded), "results": results})
    try:
        _record(services, request_id, key, loaded, "/v1/score", results, columns)
    except StorageError as exc:
        raise HTTPException(503, _unaudited(exc)) from None
    return answer


def parse_score_request(body: bytes) -> ScoreRequest:
    """The request in `body`, or a 422 shaped as FastAPI's own (locations under "body")."""
    try:
        return ScoreRequest.model_validate_json(body)
    except ValidationError as exc:
        if not any(e["type"] == "json_invalid" for e in exc.errors()):
            raise _invalid(exc) from None
    # Strict JSON refused it; Python's json, as FastAPI uses, also takes what is valid JSON but
    # not valid UTF-8 (a lone surrogate), so that the 422 then names the field.
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        position = getattr(exc, "pos", 0)
        error = {"type": "json_invalid", "loc": ("body", position), "msg": "JSON decode error"}
        raise RequestValidationError([error | {"input": {}}]) from None
    try:
        return ScoreRequest.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [e | {"loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
    )


def _content_length(request: Request) -> int:
    """The declared body size (0 when absent or unreadable: the body's own size decides)."""
    try:
        return int(request.headers.get("content-length", 0))
    except ValueError:
        return 0


@router.post(
    "/v1/score/batch",
    response_model=None,
    response_class=StreamingResponse,
    responses=_BATCH_RESPONSES,
    openapi_extra=_BATCH_BODY,
    summary="Score a CSV, Parquet or JSON-lines upload; answers stream back as JSON lines",
    description=_BATCH_DESCRIPTION,
)
async def score_batch(
    request: Request,
    key: Key,
    in_scope: InScope,
    settings: SettingsDep,
    services: ServicesDep,
    explain: Annotated[str, Query(pattern="^(flagged|all|none)$")] = "flagged",
    top_k: Annotated[int | None, Query(ge=0, le=MAX_TOP_K, description=_TOP_K)] = None,
) -> StreamingResponse:
    if services.bulk is not None:
        return await services.bulk.forward(request)
    # Not a dependency: a 422 about the query comes before a 503.
    loaded = model_or_503(services)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in BATCH_TYPES:
        raise HTTPException(
            415, f"unsupported Content-Type {content_type!r}: use {', '.join(BATCH_TYPES)}"
        )
    lanes = services.lanes
    # As in `score`, the bulk pool reads the body before it may answer 429.
    body = await request.body() if settings.bulk_pool else b""
    leave = lanes.enter(key.key_id)  # 429 when the lane is full; given back when the stream ends
    try:
        body = body or await request.body()
        accepted, rejected = await lanes.run(
            _validated_upload, body, BATCH_TYPES[content_type], loaded
        )
        in_scope.check(set(accepted["reporting_country"].dropna().unique()))
    except BaseException:
        leave()
        raise
    top_k = settings.top_k if top_k is None else top_k
    lines = _lines(services, key, loaded, accepted, rejected, explain, top_k)
    return StreamingResponse(lanes.stream(lines, leave), media_type="application/x-ndjson")


def _lines(
    services: Services,
    key: ApiKey,
    loaded: Loaded,
    accepted: pd.DataFrame,
    rejected: list[tuple[int, str]],
    explain: str,
    top_k: int,
) -> Iterator[bytes]:
    """The batch answer: rejected rows, then answers chunk by chunk, then the summary line.

    Each chunk is audited before it is sent. The 200 has gone out with the first line, so a
    chunk that cannot be audited ends the answer with an error line naming the cause instead
    (no summary line: the answer is incomplete).
    """
    request_id = uuid.uuid4().hex
    for row, errors in rejected:
        yield orjson.dumps({"row": row, "errors": errors}) + b"\n"
    scored = 0
    matcher = services.alerts.matcher()
    observe = services.drift.observe
    for rows, chunk in batch_answers(loaded.model, accepted, explain, top_k, matcher, observe):
        lines = b"".join(orjson.dumps(r) + b"\n" for r in chunk)
        try:
            _record(services, request_id, key, loaded, "/v1/score/batch", chunk, rows)
        except StorageError as exc:
            yield orjson.dumps({"error": _unaudited(exc), "request_id": request_id}) + b"\n"
            return
        scored += len(chunk)
        yield lines
    summary = {"summary": {"scored": scored, "rejected": len(rejected)}}
    yield orjson.dumps(summary | {"request_id": request_id, "model": model_ref(loaded)})
    yield b"\n"


def _record(
    services: Services,
    request_id: str,
    key: ApiKey,
    loaded: Loaded,
    route: str,
    results: list,
    declarations: Mapping[str, Sequence] | pd.DataFrame,
) -> None:
    """Answers given: to the audit log (who got what), to the alerts' selections, to the
    selection records (how each was selected, queued for the writer thread) and to the score
    and channel metrics.

    Raises StorageError when the audit log cannot be written; then nothing is counted.
    """
    services.audit.record(
        {
            "request_id": request_id,
            "route": route,
            "member": key.member,
            "key_id": key.key_id,
            "model": {
                "name": loaded.name,
                "version": loaded.version,
                "state_version": loaded.ref["state_version"],
            },
            "declarations": [
                {"id": r["id"], "score": r["score"], "channel": r["channel"]}
                | ({"alerts": r["alerts"]} if "alerts" in r else {})
                for r in results
            ],
        }
    )
    if any("alerts" in r for r in results):
        # The audit line above already names each answer's alerts: a selection the alert book
        # cannot store costs the hit-rate table a row, never the officer an answer.
        try:
            services.alerts.record(
                results,
                list(declarations["reporting_country"]),
                list(declarations["date"]),
                loaded.version,
            )
        except StorageError as exc:
            log.error("alert selections of request %s not stored: %s", request_id, exc)
    services.selections.submit(
        selection_records(
            results,
            declarations["reporting_country"],
            declarations["date"],
            model_version=loaded.version,
            state_version=loaded.ref["state_version"],
            draw_share=loaded.model.channels.random_share,
            source=route,
        )
    )
    services.metrics.scored([r["score"] for r in results], [r["channel"] for r in results])


def _unaudited(exc: StorageError) -> str:
    """Why an answer was withheld: for customs, an answer that is not audited is not given."""
    return f"{exc}; the answer was not given, as it could not be audited"


def _validated_upload(
    body: bytes, suffix: str, loaded: Loaded
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Upload -> (accepted declarations, [(row, reasons)]), through the ingestion contract."""
    numeric = tuple(c for c, cat in loaded.model.pipeline.state_.extras.items() if not cat)
    try:
        checked = check_upload(body, suffix, CLEARANCE, numeric_extras=numeric)
    except BadInputError as exc:  # shaped like every other 422
        error = {"type": "unreadable_upload", "loc": ("body",), "msg": exc.problem, "input": None}
        raise RequestValidationError([error]) from None
    return checked.accepted.reset_index(drop=True), checked.rejected()
