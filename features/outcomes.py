"""Inspection outcomes fed back by members, kept durably (SQLite) for the next retraining."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    declaration_id TEXT PRIMARY KEY,
    member TEXT NOT NULL,
    illicit INTEGER NOT NULL,
    revenue_recovered REAL,
    inspection_date TEXT NOT NULL,
    received_at TEXT NOT NULL
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
    """An outcome for this declaration is already stored with different values."""


def read_outcomes(path: Path) -> pd.DataFrame:
    """Every stored outcome (empty when there is no store yet), for the next retraining."""
    columns = ["declaration_id", "member", "illicit", "revenue_recovered", "inspection_date"]
    if not path.exists():
        return pd.DataFrame({c: [] for c in columns})
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return pd.read_sql_query(f"SELECT {', '.join(columns)} FROM outcomes", db)


class OutcomeStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged outcome survives a crash
        self._db.execute(_SCHEMA)

    def add(self, outcomes: list[Outcome]) -> dict[str, int]:
        """Store outcomes; identical repeats are no-ops, conflicting ones raise, all or none."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        stored = duplicates = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for o in outcomes:
                    row = self._db.execute(
                        "SELECT member, illicit, revenue_recovered, inspection_date "
                        "FROM outcomes WHERE declaration_id = ?",
                        (o.declaration_id,),
                    ).fetchone()
                    values = (o.member, o.illicit, o.revenue_recovered, o.inspection_date)
                    if row is None:
                        self._db.execute(
                            "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?)",
                            (o.declaration_id, *values, now),
                        )
                        stored += 1
                    elif tuple(row) == values:
                        duplicates += 1
                    else:
                        raise OutcomeConflict(
                            f"declaration {o.declaration_id} already has a different outcome "
                            f"(illicit={row[1]}, revenue={row[2]}, date={row[3]})"
                        )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return {"stored": stored, "duplicates": duplicates}

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
