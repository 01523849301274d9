"""Inspection outcomes fed back by members, kept durably (SQLite) for the next retraining.

An outcome belongs to the member that reported it: the store keys it by (member, declaration
id), so one member's report can neither block nor overwrite another's for the same id, and a
conflict tells the reporter only that its own earlier outcome differs. The database and its
-wal and -shm files are private (0600). A write the disk refuses raises StorageError naming the
file and the cause, after the whole request was rolled back.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskscore.private_db import PrivateDatabase

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


class OutcomeStore(PrivateDatabase):
    what = "outcomes in"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._migrate()

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
