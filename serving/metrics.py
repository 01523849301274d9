"""Prometheus metrics, and the ASGI middleware that counts, times and size-limits requests."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "riskscore_requests",
            "HTTP requests by route and status code",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "riskscore_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Histogram(
            "riskscore_score",
            "Calibrated risk scores returned",
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0),
            registry=self.registry,
        )
        self.channels = Counter(
            "riskscore_channel", "Declarations by channel", ["channel"], registry=self.registry
        )
        self.model = Gauge(
            "riskscore_model_version",
            "The model version being served (value 1 on its labels)",
            ["name", "version", "alias", "source"],
            registry=self.registry,
        )

        self.state = Gauge(
            "riskscore_feature_state",
            "The feature state being served (value 1 on its labels)",
            ["version", "as_of"],
            registry=self.registry,
        )
        self.alerts_active = Gauge(
            "riskscore_alerts_active",
            "Analysts' alerts the server is applying",
            registry=self.registry,
        )
        self.state_age = Gauge(
            "riskscore_feature_state_age_seconds",
            "Seconds since the served feature state was computed (alert when stale)",
            registry=self.registry,
        )

    def scored(self, scores: list[float], channels: list[str]) -> None:
        for value in scores:
            self.scores.observe(value)
        for channel in channels:
            self.channels.labels(channel).inc()

    def serving(self, name: str, version: str, alias: str, source: str) -> None:
        self.model.clear()
        self.model.labels(name, version, alias, source).set(1)

    def serving_state(self, version: str, as_of: str | None, age_seconds: float | None) -> None:
        self.state.clear()
        self.state.labels(version, as_of or "").set(1)
        self.state_age.set(float("nan") if age_seconds is None else age_seconds)


class RequestLimitAndMetrics:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path).

    Bodies above the route's limit get 413: before they are read when the Content-Length says
    so, else as soon as a chunked body passes the limit (the app then sees a disconnect and its
    own answer is dropped). Metrics are labelled by route, and only the app's own routes get a
    label of their own: any other path is "other", so scanners cannot grow the label set.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        limit_for: Callable[[str], int],
        routes: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.limit_for = limit_for
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        limit = self.limit_for(path)
        length = _content_length(scope)
        if length is not None and length > limit:
            await _too_large(send, limit)
            self._observe(path, 413, started)
            return

        received = 0
        status = 500
        response_started = too_large = False

        async def counting_receive() -> Message:
            nonlocal received, too_large, status
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    if not response_started:
                        status = 413
                        await _too_large(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def recording_send(message: Message) -> None:
            nonlocal response_started, status
            if too_large:
                return  # the 413 is out; whatever the app answers to the disconnect is dropped
            if message["type"] == "http.response.start":
                response_started, status = True, message["status"]
            await send(message)

        try:
            await self.app(scope, counting_receive, recording_send)
        except Exception:
            if not too_large:
                raise
        finally:
            self._observe(path, status, started)

    def _observe(self, path: str, status: int, started: float) -> None:
        route = path if path in self.routes else "other"
        self.metrics.requests.labels(route, str(status)).inc()
        self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = orjson.dumps({"detail": f"request body larger than {limit} bytes"})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
