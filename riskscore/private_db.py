"""A private SQLite file for the state a service keeps (outcomes, alerts): one connection per
object behind a lock, WAL, 0600, and failures as StorageError naming the file and the cause.

The database and its -wal and -shm files are private (0600). Writes go through `_transaction`
(BEGIN IMMEDIATE, so two processes queue for the write lock for up to `timeout` seconds); a
write the disk refuses rolls the whole transaction back and raises StorageError.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from riskscore.files import PRIVATE, StorageError, make_private

SIDE_FILES = ("-wal", "-shm", "-journal")


class PrivateDatabase:
    """Base of the SQLite-backed stores; `what` names the file in error messages."""

    what = "the database"

    def __init__(self, path: Path | str, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._open: sqlite3.Connection | None = self._connect()

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection, opened again after a failure that had to discard it."""
        if self._open is None:
            self._open = self._connect()
        return self._open

    def _connect(self) -> sqlite3.Connection:
        """Open the database, created 0600; SQLite gives -wal and -shm the database's mode."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, PRIVATE))
            make_private(self.path)
            db = sqlite3.connect(
                self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a crash
            for suffix in SIDE_FILES:  # left 0644 by early releases
                make_private(self.path.with_name(self.path.name + suffix))
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StorageError(f"cannot open {self.what} {self.path}: {cause(exc)}") from exc
        return db

    @contextlib.contextmanager
    def _transaction(self, action: str, undone: str = "nothing was stored") -> Iterator[None]:
        """BEGIN IMMEDIATE .. COMMIT; on any error roll back and re-raise (a storage failure
        as StorageError naming the file and the cause). Hold self._lock."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._roll_back()
            if isinstance(exc, StorageError):  # already names the file (a failed reopen)
                raise
            if isinstance(exc, OSError | sqlite3.DatabaseError):
                raise StorageError(f"cannot {action} {self.path}: {cause(exc)}; {undone}") from exc
            raise

    def _roll_back(self) -> None:
        """Undo the open transaction. SQLite may have rolled back already (a full disk does):
        then ROLLBACK itself fails and must not hide the cause. A connection that still holds
        its transaction after that is closed, and the next use opens a new one."""
        db = self._open
        if db is None or not db.in_transaction:
            return
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.close()  # closing discards the transaction
            self._open = None

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise StorageError(f"cannot read {self.path}: {cause(exc)}") from exc

    def close(self) -> None:
        with self._lock:
            if self._open is not None:
                self._open.close()
                self._open = None


def cause(exc: BaseException) -> str:
    """SQLite's message ('database or disk is full'), or the OS's ('No space left on device')."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__
