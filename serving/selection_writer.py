"""Selection records written off the request path: a queue and one writer thread.

A request hands its rows over and returns. The thread wakes at the first rows, lets more
gather for `linger` seconds, and stores them all in one transaction: a busy server writes two
transactions a second rather than one per request, and its requests do not share the
interpreter with a writer waking for each of them (measured: p50 +13 % and throughput -19 %
with a write per request, bench/RESULTS.md). A
write the disk refuses is logged and the rows are dropped: the audit log, written before the
answer is given, remains the record of every answer (models.selection_log).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence

from riskscore.files import StorageError
from riskscore.models.selection_log import SelectionLog

log = logging.getLogger("riskscore.serving")
_STOP = object()


class SelectionWriter:
    """Queues selection rows for `log` and stores them from a daemon thread."""

    def __init__(
        self, selection_log: SelectionLog, linger: float = 0.5, max_batch: int = 200_000
    ) -> None:
        self.log = selection_log
        self.linger = linger
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._done = threading.Condition()
        self._waiting = 0  # batches submitted and not yet stored
        self._thread = threading.Thread(target=self._run, name="selection-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: Sequence[tuple]) -> None:
        if rows:
            with self._done:
                self._waiting += 1
            self._queue.put(rows)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far is stored (or dropped); False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: self._waiting == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Store what is queued, stop the thread and close the log."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self.log.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            stop = item is _STOP
            rows, taken = ([], 0) if stop else (list(item), 1)
            if not stop and self.linger:
                time.sleep(self.linger)
            while not stop and len(rows) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                else:
                    rows.extend(more)
                    taken += 1
            if rows:
                self._store(rows)
            with self._done:
                self._waiting -= taken
                self._done.notify_all()
            if stop:
                return

    def _store(self, rows: list[tuple]) -> None:
        try:
            self.log.record(rows)
        except StorageError as exc:
            log.error("%d selection records not stored: %s", len(rows), exc)
        except Exception:  # the thread must outlive any one batch
            log.exception("%d selection records not stored", len(rows))
