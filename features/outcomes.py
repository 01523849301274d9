"""Inspection outcomes fed back by members, kept durably (SQLite) for the next retraining.

An outcome belongs to the member that reported it: the store keys it by (member, declaration
id), so one member's report can neither block nor overwrite another's for the same id, and a
conflict tells the reporter only that its own earlier outcome differs. The database and its
-wal and -shm files are private (0600). A write the disk refuses raises StorageError naming the
file and the cause, after the whole request was rolled back.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskscore.files import PRIVATE, StorageError, make_private

_COLUMNS = "declaration_id, member, illicit, revenue_recovered, inspection_date, received_at"
_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    declaration_id TEXT NOT NULL,
    member TEXT NOT NULL,
    illicit INTEGER NOT NULL,
    revenue_recovered REAL,
    inspection_date TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (member, declaration_id)
)
"""
_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Outcome:
    declaration_id: str
    member: str
    illicit: int
    revenue_recovered: float | None
    inspection_date: str


class OutcomeConflict(Exception):
    """This member already stored a different outcome for the declaration."""


def read_outcomes(path: Path) -> pd.DataFrame:
    """Every stored outcome (empty when there is no store yet), for the next retraining."""
    columns = ["declaration_id", "member", "illicit", "revenue_recovered", "inspection_date"]
    if not path.exists():
        return pd.DataFrame({c: [] for c in columns})
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return pd.read_sql_query(f"SELECT {', '.join(columns)} FROM outcomes", db)


class OutcomeStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._open: sqlite3.Connection | None = self._connect()
        self._migrate()

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
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # an acknowledged outcome survives a crash
            for suffix in _SIDE_FILES:  # left 0644 by releases before this one
                make_private(self.path.with_name(self.path.name + suffix))
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StorageError(f"cannot open outcomes in {self.path}: {_cause(exc)}") from exc
        return db

    def _migrate(self) -> None:
        """Create the table, or rekey one keyed by declaration id alone (releases before this
        one) by (member, declaration id), keeping its rows; one transaction, so all or none."""
        with self._lock, self._transaction("migrate outcomes in", "nothing was changed"):
            key = {row[1]: row[5] for row in self._db.execute("PRAGMA table_info(outcomes)")}
            if not key:
                self._db.execute(_TABLE.format(name="outcomes"))
            elif key.get("member") == 0:  # not part of the primary key: the old schema
                self._db.execute(_TABLE.format(name="outcomes_by_member"))
                self._db.execute(
                    f"INSERT INTO outcomes_by_member ({_COLUMNS}) SELECT {_COLUMNS} FROM outcomes"
                )
                self._db.execute("DROP TABLE outcomes")
                self._db.execute("ALTER TABLE outcomes_by_member RENAME TO outcomes")

    @contextlib.contextmanager
    def _transaction(self, action: str, undone: str = "nothing was stored"):  # noqa: ANN202
        """BEGIN IMMEDIATE .. COMMIT; on any error, roll back safely and re-raise (a storage
        failure as StorageError naming the file and cause). Hold self._lock."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._roll_back()
            if isinstance(exc, StorageError):  # already names the file (a failed reopen)
                raise
            if isinstance(exc, OSError | sqlite3.DatabaseError):
                raise StorageError(f"cannot {action} {self.path}: {_cause(exc)}; {undone}") from exc
            raise

    def _roll_back(self) -> None:
        """Undo the open transaction. SQLite may have rolled back already (a full disk does):
        then ROLLBACK itself fails and must not hide the cause. A connection that still holds
        its transaction after that is closed, and the next request opens a new one."""
        db = self._open
        if db is None or not db.in_transaction:
            return
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.close()  # closing discards the transaction
            self._open = None

    def add(self, outcomes: list[Outcome]) -> dict[str, int]:
        """Store outcomes; identical repeats are no-ops, conflicting ones raise, all or none.

        Raises OutcomeConflict (naming the declaration and member, never the stored values) or
        StorageError when the database cannot be written (nothing of `outcomes` is stored).
        """
        now = datetime.now(UTC).isoformat(timespec="seconds")
        stored = duplicates = 0
        with self._lock, self._transaction("store outcomes in"):
            for o in outcomes:
                row = self._db.execute(
                    "SELECT illicit, revenue_recovered, inspection_date "
                    "FROM outcomes WHERE member = ? AND declaration_id = ?",
                    (o.member, o.declaration_id),
                ).fetchone()
                values = (o.illicit, o.revenue_recovered, o.inspection_date)
                if row is None:
                    self._db.execute(
                        f"INSERT INTO outcomes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                        (o.declaration_id, o.member, *values, now),
                    )
                    stored += 1
                elif tuple(row) == values:
                    duplicates += 1
                else:
                    raise OutcomeConflict(
                        f"a different outcome for declaration {o.declaration_id} is already "
                        f"stored for member {o.member}; nothing was stored"
                    )
        return {"stored": stored, "duplicates": duplicates}

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._open is not None:
                self._open.close()
                self._open = None


def _cause(exc: BaseException) -> str:
    """SQLite's message ('database or disk is full'), or the OS's ('No space left on device')."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__
