"""Prometheus metrics, and the ASGI middleware that counts, times and size-limits requests.

Several worker processes share their metrics the way prometheus_client does it: each writes its
counters, histograms and gauges to files in PROMETHEUS_MULTIPROC_DIR (set by serving.server for
the workers, before they import prometheus_client), and the worker answering a scrape sums them.
Gauges keep the maximum over live workers: the oldest feature state, the most alerts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from riskscore.serving.drift_monitor import SharedDriftCollector

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Probes and scrapes are answered even when the server is busy: a load balancer must not take
# a busy server for a dead one.
ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz", "/metrics"})
log = logging.getLogger("riskscore.serving")
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
            multiprocess_mode="livemax",
        )

        self.state = Gauge(
            "riskscore_feature_state",
            "The feature state being served (value 1 on its labels)",
            ["version", "as_of"],
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.alerts_active = Gauge(
            "riskscore_alerts_active",
            "Analysts' alerts the server is applying",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.state_age = Gauge(
            "riskscore_feature_state_age_seconds",
            "Seconds since the served feature state was computed (alert when stale)",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._served: dict[Gauge, tuple[str, ...]] = {}

    def scored(self, scores: list[float], channels: list[str]) -> None:
        for value in scores:
            self.scores.observe(value)
        for channel in channels:
            self.channels.labels(channel).inc()

    def serving(self, name: str, version: str, alias: str, source: str) -> None:
        self._only(self.model, (name, version, alias, source))

    def serving_state(self, version: str, as_of: str | None, age_seconds: float | None) -> None:
        self._only(self.state, (version, as_of or ""))
        self.state_age.set(float("nan") if age_seconds is None else age_seconds)

    def _only(self, gauge: Gauge, labels: tuple[str, ...]) -> None:
        """Value 1 on `labels` alone. The labels replaced are set to 0 before they are cleared:
        a worker's metric file keeps every series it ever wrote."""
        before = self._served.get(gauge)
        if before == labels:
            return
        if before is not None:
            gauge.labels(*before).set(0)
        if multiprocess_dir() is None:  # prometheus_client cannot clear a worker's file
            gauge.clear()
        gauge.labels(*labels).set(1)
        self._served[gauge] = labels

    def exposition(self) -> bytes:
        """The text a scrape gets: this registry, or every live worker's files when shared."""
        folder = multiprocess_dir()
        if folder is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=str(folder))
        registry.register(SharedDriftCollector(folder))
        return generate_latest(registry)


def multiprocess_dir() -> Path | None:
    """The folder the worker processes share their metrics in, when there are several."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(folder) if folder else None


def retire_worker() -> None:
    """At a worker's exit: its live gauges and its drift window leave the shared metrics."""
    folder = multiprocess_dir()
    if folder is not None:
        prometheus_multiprocess.mark_process_dead(os.getpid(), str(folder))
        with contextlib.suppress(OSError):
            (folder / f"drift_{os.getpid()}.npz").unlink()


class Ticker:
    """Calls `action` every `seconds` on a daemon thread until `stop`: what a worker publishes
    for the others (gauges, drift counts) when it is not the one scraped."""

    def __init__(self, action: Callable[[], None], seconds: float) -> None:
        self._action = action
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-ticker", daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                self._action()
            except Exception as exc:  # a metric must never take a worker down
                log.warning("metrics not published: %s", exc)
            if self._stop.wait(self._seconds):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class RequestLimitAndMetrics:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path).

    Bodies above the route's limit get 413: before they are read when the Content-Length says
    so, else as soon as a chunked body passes the limit (the app then sees a disconnect and its
    own answer is dropped). Metrics are labelled by route, and only the app's own routes get a
    label of their own: any other path is "other", so scanners cannot grow the label set.
    A request beyond `max_in_flight` in progress gets 503 with Retry-After at once, rather than
    a place in a queue without bound; the probes and /metrics are never refused.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        limit_for: Callable[[str], int],
        routes: frozenset[str] = frozenset(),
        max_in_flight: int | None = None,
        count_requests: bool = True,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.limit_for = limit_for
        self.routes = routes
        self.max_in_flight = max_in_flight
        self.count_requests = count_requests
        self.in_flight = 0  # only the event loop's thread changes it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        if (
            self.max_in_flight is not None
            and self.in_flight >= self.max_in_flight
            and path not in ALWAYS_ANSWERED
        ):
            await _busy(send, self.in_flight)
            self._observe(path, 503, started)
            return
        self.in_flight += 1
        try:
            await self._limited(scope, receive, send, path, started)
        finally:
            self.in_flight -= 1

    async def _limited(
        self, scope: Scope, receive: Receive, send: Send, path: str, started: float
    ) -> None:
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
        if not self.count_requests:
            return
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


async def _busy(send: Send, in_flight: int) -> None:
    body = orjson.dumps({"detail": f"server busy: {in_flight} requests in progress; retry in 1 s"})
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
