"""Append-only audit log of scoring requests: one JSON line per answer given, one file per day.

It records who asked (member and key id, never the key), when, which declarations, the model
version that answered, and the scores and channels it gave. The files are private (0600).

A line is written with one unbuffered append, whole or not at all: a write the disk refuses
raises StorageError naming the file and the cause, and leaves neither a piece of the line nor a
buffered copy that a later write would flush (which would log an answer never given).

When replicas share a database (RISKSCORE_DATABASE_URL), `audit_log(settings)` gives
`SharedAuditLog` instead: one row per answer in its `audit_log` table (time, request id, route,
member, key id, and the line's JSON as `entry`), committed before the answer is given, or
StorageError naming the database and the cause.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text

from riskscore.database import SharedDatabase, locate
from riskscore.files import PRIVATE, describe, make_private
from riskscore.private_db import PrivateDatabase
from riskscore.settings import Settings


class AuditLog:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._day: str | None = None
        self._fd: int | None = None

    def path_for(self, day: str) -> Path:
        return self.folder / f"audit-{day}.jsonl"

    def _handle(self, day: str) -> int:
        """The day's file, opened for append (created 0600, an older 0644 one narrowed)."""
        if self._fd is None or day != self._day:
            self._close()
            path = self.path_for(day)
            self.folder.mkdir(parents=True, exist_ok=True)
            make_private(path)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE)
            self._day = day
        return self._fd

    def record(self, entry: dict) -> None:
        """Append `entry` as one line; raises StorageError (naming the file) when it cannot be."""
        now = datetime.now(UTC)
        line = json.dumps(_stamped(entry, now)) + "\n"
        day = now.strftime("%Y-%m-%d")
        with self._lock:
            try:
                _append(self._handle(day), line.encode())
            except OSError as exc:
                raise describe(exc, self.path_for(day)) from exc

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        with self._lock:
            self._close()


class SharedAuditLog(PrivateDatabase):
    """The audit trail as rows of the shared database, with the interface of AuditLog."""

    what = "the audit trail in"

    def _create(self) -> None:
        Table(
            "audit_log",
            MetaData(),
            # BIGSERIAL in PostgreSQL; SQLite's rowid must be declared INTEGER.
            Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
            Column("time", Text, nullable=False),
            Column("request_id", Text),
            Column("route", Text),
            Column("member", Text),
            Column("key_id", Text),
            Column("entry", Text, nullable=False),  # the JSON line AuditLog would write
            sqlite_autoincrement=True,
        ).create(self._db.sa, checkfirst=True)

    def record(self, entry: dict) -> None:
        """Store `entry` as one row; raises StorageError (naming the database and the cause)
        when it cannot be, and then nothing of it is stored."""
        stamped = _stamped(entry, datetime.now(UTC))
        with self._lock:
            self._write_one(
                "record an answer in",
                "INSERT INTO audit_log (time, request_id, route, member, key_id, entry) "
                "VALUES (:time, :request_id, :route, :member, :key_id, :entry)",
                {k: _text(stamped.get(k)) for k in _FIELDS} | {"entry": json.dumps(stamped)},
            )


_FIELDS = ("time", "request_id", "route", "member", "key_id")


def audit_log(settings: Settings) -> AuditLog | SharedAuditLog:
    """The audit log of `settings`: the shared database's when there is one, else the files."""
    shared: SharedDatabase | None = locate(settings).shared
    return SharedAuditLog(shared) if shared is not None else AuditLog(settings.audit_dir)


def _stamped(entry: dict, now: datetime) -> dict:
    return {"time": now.isoformat(timespec="milliseconds"), **entry}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _append(fd: int, data: bytes) -> None:
    """Write `data` at the end of `fd` (O_APPEND). A write that fails part-way (a disk that
    fills up mid-line) is cut back, so the next line does not continue a torn one."""
    start = os.fstat(fd).st_size
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError:
        with contextlib.suppress(OSError):  # the write's error is the one to report
            if written and os.fstat(fd).st_size == start + written:  # nobody appended after
                os.ftruncate(fd, start)
        raise
