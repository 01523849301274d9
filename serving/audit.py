"""Append-only audit log of scoring requests: one JSON line per request, one file per day.

It records who asked (member and key id, never the key), when, which declarations, the model
version that answered, and the scores and channels it gave.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class AuditLog:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._day: str | None = None
        self._file: IO[str] | None = None

    def _handle(self, day: str) -> IO[str]:
        if self._file is None or day != self._day:
            if self._file is not None:
                self._file.close()
            self.folder.mkdir(parents=True, exist_ok=True)
            # Line-buffered append: every record reaches the OS as soon as it is written.
            self._file = (self.folder / f"audit-{day}.jsonl").open("a", buffering=1)
            self._day = day
        return self._file

    def record(self, entry: dict) -> None:
        now = datetime.now(UTC)
        line = json.dumps({"time": now.isoformat(timespec="milliseconds"), **entry})
        with self._lock:
            self._handle(now.strftime("%Y-%m-%d")).write(line + "\n")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
