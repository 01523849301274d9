"""Graceful shutdown: on SIGTERM, report not-ready and keep serving for `drain_seconds`, so a load
balancer stops sending, then hand the signal to uvicorn, which stops accepting, finishes the
requests in flight and runs the app's shutdown (bulk lane, selection records, audit, stores).

SIGINT (Ctrl-C at a terminal) skips the wait. A second SIGTERM while draining stops at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger("riskscore.serving")


class Drain:
    """The draining state of one server process, read by /readyz."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._draining = threading.Event()

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def install(self) -> None:
        """Wrap the server's SIGTERM and SIGINT handlers (uvicorn's, installed before the app
        starts). Only the main thread can; elsewhere (an app inside a test) nothing changes."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, wait in ((signal.SIGTERM, self.seconds), (signal.SIGINT, 0.0)):
            previous = signal.getsignal(sig)
            if callable(previous):
                signal.signal(sig, self._handler(previous, wait))

    def _handler(self, stop, wait: float):  # noqa: ANN001, ANN202 - signal handler shapes
        def handle(sig: int, frame: FrameType | None) -> None:
            if self._draining.is_set() or wait <= 0:
                self._draining.set()
                stop(sig, frame)
                return
            self._draining.set()
            name = signal.Signals(sig).name
            log.warning("%s: not ready; draining for %.1f s, then stopping", name, wait)
            timer = threading.Timer(wait, stop, (sig, frame))
            timer.daemon = True
            timer.start()

        return handle
