"""A worker's side of the bulk pool (serving.bulk_pool): bulk requests relayed to it as they are.

The request goes over the pool's Unix socket with its key, query and body, streamed; the answer
(status, headers, body) comes back streamed too, so a batch's lines reach the client as the pool
writes them and a 429 from the pool's admission reaches it unchanged. The worker does no CPU work
on the request but copying bytes.
"""

from __future__ import annotations

import logging

import httpx
import orjson
from fastapi import HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

log = logging.getLogger("riskscore.serving")

FORWARDED = frozenset({"authorization", "x-api-key", "content-type", "accept", "accept-encoding"})
# Hop-by-hop, or the worker's own to set.
NOT_RELAYED = frozenset({"connection", "keep-alive", "transfer-encoding", "date", "server"})
UNAVAILABLE_RETRY = "2"


class BulkProxy:
    """The client of one worker to the bulk pool."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=socket),
            base_url="http://bulk-pool",
            # No read timeout: a batch answer streams for as long as it has lines; the pool's
            # admission, not a timer, bounds the waiting.
            timeout=httpx.Timeout(None, connect=5.0),
        )
        self._was_ready = False

    async def forward(self, request: Request, body: bytes | None = None) -> StreamingResponse:
        """The pool's answer to `request` (whose body is `body` when already read)."""
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
        if body is None and "content-length" in request.headers:
            headers["content-length"] = request.headers["content-length"]
        upstream = self._client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=request.stream() if body is None else body,
        )
        try:
            response = await self._client.send(upstream, stream=True)
        except httpx.TransportError as exc:
            log.error("the bulk pool did not answer: %r", exc)
            raise HTTPException(
                503,
                "the bulk pool is not answering (starting, or restarting after a failure); "
                "single declarations are still served",
                headers={"Retry-After": UNAVAILABLE_RETRY},
            ) from None
        relayed = {k: v for k, v in response.headers.items() if k not in NOT_RELAYED}
        return StreamingResponse(
            _relay(response),
            status_code=response.status_code,
            headers=relayed,
            background=BackgroundTask(response.aclose),
        )

    async def ready(self) -> str | None:
        """None once the pool has answered ready; before that, why it is not.

        Checked until the first success only: afterwards a pool that fails is restarted, and
        meanwhile single declarations are served, so the worker stays in the load balancer."""
        if self._was_ready:
            return None
        try:
            answer = await self._client.get("/readyz", timeout=2.0)
        except httpx.TransportError:
            return "the bulk pool is starting"
        if answer.status_code != 200:
            return f"the bulk pool is not ready: {answer.json().get('reason')}"
        self._was_ready = True
        return None

    async def close(self) -> None:
        await self._client.aclose()


async def _relay(response: httpx.Response):  # noqa: ANN202 - an async generator
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.TransportError as exc:
        # The status has gone out: a batch ends with an error line (and no summary), the way
        # an answer that cannot be audited ends; a JSON answer ends short of its length.
        log.error("the bulk pool stopped answering mid-answer: %r", exc)
        if response.headers.get("content-type", "").startswith("application/x-ndjson"):
            yield orjson.dumps({"error": "the bulk pool stopped answering; retry"}) + b"\n"
    finally:
        await response.aclose()
