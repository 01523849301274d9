"""Two lanes per worker, so that one member's bulk traffic cannot slow another's clearance.

- Interactive: a small request (a body up to `bulk_bytes`) is validated and scored on the event
  loop, as before: no thread hop on the 1.6 ms path.
- Bulk: a larger /v1/score body, and every /v1/score/batch upload, is parsed, scored and
  rendered on the bulk threads, whose CPU priority is lowered (nice 10, per thread on Linux) so
  the scheduler serves the interactive lane first. The event loop only hands the work over.

Admission is bounded, never an unbounded queue: a worker takes `threads + queue` bulk requests
at a time and answers the next with 429 and a Retry-After of the expected wait; a key holds at
most `per_key` of those places, so one member cannot fill the lane. Any request beyond
`max_in_flight` in progress answers 503 with Retry-After (serving.metrics' middleware).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from fastapi import HTTPException

P = ParamSpec("P")
T = TypeVar("T")

BULK_NICENESS = 10  # CFS weight 110 against 1024: the interactive lane gets ~90 % of a busy core
# How often a thread waiting for the GIL may take it from a running one (CPython's default is
# 5 ms): the event loop gets it back within a millisecond of a bulk thread's Python work.
SWITCH_INTERVAL = 0.001


class BulkLane:
    """The bulk threads of one worker, and the admission to them."""

    def __init__(self, threads: int = 1, queue: int = 4, per_key: int = 2) -> None:
        self.threads = threads
        self.capacity = threads + queue
        self.per_key = per_key
        self._executor = ThreadPoolExecutor(
            threads, thread_name_prefix="bulk", initializer=_background_priority
        )
        # Reentrant: a stream dropped unstarted gives its place back from __del__, which the
        # collector may run in a thread already holding this lock.
        self._lock = threading.RLock()
        self._admitted: Counter[str] = Counter()
        self._seconds = 1.0  # moving mean of a bulk request's time, for Retry-After
        sys.setswitchinterval(SWITCH_INTERVAL)

    @contextlib.contextmanager
    def admit(self, key_id: str) -> Iterator[None]:
        """A place in the lane for the request of `key_id`, else 429 with Retry-After."""
        ticket = self.enter(key_id)
        try:
            yield
        finally:
            ticket()

    def enter(self, key_id: str) -> Callable[[], None]:
        """Take a place (429 when there is none); returns the function that gives it back."""
        with self._lock:
            total = sum(self._admitted.values())
            if total >= self.capacity or self._admitted[key_id] >= self.per_key:
                mine = self._admitted[key_id] >= self.per_key
                wait = self._seconds * (self._admitted[key_id] if mine else total) / self.threads
                raise too_many(
                    "this key's bulk requests are already being answered"
                    if mine
                    else "the server is answering as many bulk requests as it can",
                    wait,
                )
            self._admitted[key_id] += 1
        started = time.monotonic()
        left = False

        def leave() -> None:
            nonlocal left
            with self._lock:
                if left:
                    return
                left = True
                self._admitted[key_id] -= 1
                if not self._admitted[key_id]:
                    del self._admitted[key_id]
                self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - started)

        return leave

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` on a bulk thread, awaited from the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def stream(self, chunks: Iterator[bytes], leave: Callable[[], None]) -> AsyncIterator[bytes]:
        """The chunks of a sync generator, each produced on a bulk thread; `leave` is called
        when the stream ends, fails, is cancelled, or is dropped before it started."""
        return _Stream(self, chunks, leave)

    def close(self) -> None:
        """Let the running bulk work finish (at shutdown)."""
        self._executor.shutdown(wait=True)


class _Stream:
    """An async iterator rather than an async generator: a generator never started (the client
    left before the first chunk) runs no `finally`, and its place in the lane would be lost."""

    def __init__(self, lane: BulkLane, chunks: Iterator[bytes], leave: Callable[[], None]) -> None:
        self._lane, self._chunks, self._leave = lane, chunks, leave

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._lane.run(next, self._chunks, None)
        except BaseException:
            self._leave()
            raise
        if chunk is None:
            self._leave()
            raise StopAsyncIteration
        return chunk

    def __del__(self) -> None:
        self._leave()


def too_many(why: str, wait_seconds: float) -> HTTPException:
    """429 with Retry-After in whole seconds (at least 1)."""
    retry = max(1, math.ceil(wait_seconds))
    return HTTPException(429, f"{why}; retry in {retry} s", headers={"Retry-After": str(retry)})


def _background_priority() -> None:
    """Lower this thread's CPU priority (Linux schedules threads, so nice is per thread)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BULK_NICENESS)
