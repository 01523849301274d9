"""The base of the stores that keep the service state (outcomes, alerts, selections, and in a
shared database API keys and the audit trail): a private SQLite file, or the database replicas
share (riskscore.database), with failures as StorageError naming it and the cause.

SQLite: one connection per object behind a lock; the file and its -wal and -shm files are
private (0600); writes go through `_transaction` (BEGIN IMMEDIATE, so two processes queue for
the write lock for up to `timeout` seconds).

PostgreSQL: each transaction takes a pooled connection of its own, so threads do not queue
behind one another; a store whose writes must be one at a time (`exclusive_writes`, as the
alert book numbers its alerts) takes an advisory lock for the transaction, which is what BEGIN
IMMEDIATE gives in SQLite. A server that is down or refuses is a StorageError too.

Either way a write the database refuses rolls the whole transaction back: all or nothing.
The tables are made on first use (`_create`), so a store opens while PostgreSQL is down and
works once it is back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy.engine import Row

from riskscore.database import (
    FAILURES,
    Connection,
    Location,
    SharedDatabase,
    cause,
    engine,
    lock_key,
    sqlite_file,
)
from riskscore.files import PRIVATE, StorageError, make_private

SIDE_FILES = ("-wal", "-shm", "-journal")
LOCK_TIMEOUT_MS = 30_000  # PostgreSQL: how long a write waits for another's advisory lock
_SCHEMA_LOCK = "schema"  # two replicas starting on an empty database create each table once

__all__ = ["PrivateDatabase", "cause"]


class _Unlocked:
    """The lock of a store whose transactions each have a connection of their own."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class PrivateDatabase:
    """Base of the stores; `what` names the store in error messages, `_create` makes its
    tables (in a transaction, on first use)."""

    what = "the database"
    synchronous = "FULL"  # SQLite: an acknowledged write survives a crash
    exclusive_writes = False

    def __init__(self, location: Location | str, timeout: float = 30.0) -> None:
        self.location: Location = (
            location if isinstance(location, SharedDatabase) else Path(location)
        )
        self.path = self.location  # what error messages and older callers name
        self.timeout = timeout
        self._engine = engine(self.location, timeout)
        # SQLite keeps one connection (its settings are per connection); PostgreSQL takes one
        # from the pool per transaction, per thread.
        self._pinned = self._engine.dialect.name == "sqlite"
        self._slot = SimpleNamespace(open=None) if self._pinned else threading.local()
        self._lock = threading.Lock() if self._pinned else _Unlocked()
        self._schema_lock = threading.Lock()
        self._ready = False
        if self._pinned:
            with self._lock:
                self._open = self._connect()
                try:
                    self._ensure_schema()
                except FAILURES as exc:
                    message = f"cannot open {self.what} {self.location}: {cause(exc)}"
                    raise StorageError(message) from exc

    # ---- connections --------------------------------------------------------------------

    @property
    def _open(self) -> Connection | None:
        return getattr(self._slot, "open", None)  # a thread-local has none in a new thread

    @_open.setter
    def _open(self, value: Connection | None) -> None:
        self._slot.open = value

    @property
    def _db(self) -> Connection:
        """The connection: SQLite's, opened again after a failure that had to discard it; in
        PostgreSQL the one of the transaction under way."""
        if self._open is None:
            if not self._pinned:
                raise RuntimeError("a PostgreSQL store is used only inside _transaction")
            self._open = self._connect()
        return self._open

    def _connect(self) -> Connection:
        """`_connection`, a failure raised as StorageError naming the database."""
        try:
            return self._connection()
        except FAILURES as exc:
            raise StorageError(f"cannot open {self.what} {self.location}: {cause(exc)}") from exc

    def _connection(self) -> Connection:
        """A connection; a SQLite file is created 0600 (SQLite gives -wal and -shm the
        database's mode)."""
        file = sqlite_file(self.location)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(file, os.O_WRONLY | os.O_CREAT, PRIVATE))
            make_private(file)
        db = Connection(self._engine)
        if db.dialect == "sqlite":
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={self.synchronous}")
            except BaseException:
                db.close()
                raise
        if file is not None:
            for suffix in SIDE_FILES:  # left 0644 by early releases
                make_private(file.with_name(file.name + suffix))
        return db

    def _ensure_schema(self) -> None:
        """Make the tables once, on first use (hold self._lock). Raises the database's own
        error, for the caller to name in the words of what it was doing."""
        if self._ready:
            return
        with self._schema_lock:
            if self._ready:
                return
            with self._transaction("open", lock=_SCHEMA_LOCK, schema=True):
                self._create()
            self._ready = True

    def _create(self) -> None:
        """Create the store's tables if missing (inside a transaction)."""

    # ---- transactions and reads ---------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(
        self,
        action: str,
        undone: str = "nothing was stored",
        *,
        lock: str | None = None,
        schema: bool = False,
    ) -> Iterator[None]:
        """BEGIN (IMMEDIATE) .. COMMIT; on any error roll back and re-raise (a storage failure
        as StorageError naming the database and the cause). Hold self._lock.

        PostgreSQL: `lock` (or `exclusive_writes`) names an advisory lock held to the end.
        `schema`: the transaction that makes the tables, whose errors are raised as they are."""
        checked_out = not self._pinned
        try:
            if not schema:
                self._ensure_schema()
            if checked_out:
                self._open = self._connection()
            db = self._db
            if self._pinned:  # SQLite
                db.execute("BEGIN IMMEDIATE")
            else:
                db.execute("BEGIN")
                name = lock or (type(self).__name__ if self.exclusive_writes else None)
                if name is not None:
                    db.execute(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
                    db.execute("SELECT pg_advisory_xact_lock(:key)", {"key": lock_key(name)})
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._roll_back()
            if isinstance(exc, StorageError) or schema:  # StorageError: a failed reopen
                raise
            if isinstance(exc, FAILURES):
                message = f"cannot {action} {self.location}: {cause(exc)}"
                raise StorageError(f"{message}; {undone}" if undone else message) from exc
            raise
        finally:
            if checked_out:
                self._release()

    def _write_one(self, action: str, sql: str, args: Mapping[str, object]) -> None:
        """One statement, which is atomic by itself: in PostgreSQL without BEGIN and COMMIT,
        two round trips fewer (the audit trail writes one per answer). Hold self._lock."""
        if self._pinned:
            with self._transaction(action):
                self._db.execute(sql, args)
            return
        try:
            self._ensure_schema()
            self._open = self._connection()
            self._db.execute(sql, args)
        except FAILURES as exc:
            if isinstance(exc, StorageError):
                raise
            message = f"cannot {action} {self.location}: {cause(exc)}; nothing was stored"
            raise StorageError(message) from exc
        finally:
            self._release()

    def _roll_back(self) -> None:
        """Undo the open transaction. SQLite may have rolled back already (a full disk does):
        then ROLLBACK itself fails and must not hide the cause. A connection that still holds
        its transaction after that is closed, and the next use opens a new one."""
        db = self._open
        if db is None or not db.in_transaction:
            return
        with contextlib.suppress(*FAILURES):
            db.execute("ROLLBACK")
        if db.in_transaction:
            with contextlib.suppress(*FAILURES):
                db.close()  # closing discards the transaction
            self._open = None

    def _release(self) -> None:
        """Give a pooled connection back (PostgreSQL)."""
        db, self._open = self._open, None
        if db is not None:
            with contextlib.suppress(*FAILURES):
                db.close()

    def _read(self, sql: str, args: Mapping[str, object] | None = None) -> list[Row]:
        with self._lock:
            checked_out = not self._pinned
            try:
                self._ensure_schema()
                if checked_out:
                    self._open = self._connection()
                return self._db.execute(sql, args).fetchall()
            except StorageError:
                raise
            except FAILURES as exc:
                raise StorageError(
                    f"cannot read {self.what} {self.location}: {cause(exc)}"
                ) from exc
            finally:
                if checked_out:
                    self._release()

    def close(self) -> None:
        """Close SQLite's connection (the next use opens it again); PostgreSQL's pool stays
        for the other stores of the process."""
        with self._lock:
            if self._pinned and self._open is not None:
                with contextlib.suppress(*FAILURES):
                    self._open.close()
                self._open = None
