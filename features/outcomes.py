"""Inspection outcomes fed back by members, kept durably (SQLite, or the shared database of
the replicas) for the next retraining.

An outcome belongs to the member that reported it: the store keys it by (member, declaration
id), so one member's report can neither block nor overwrite another's for the same id, and a
conflict tells the reporter only that its own earlier outcome differs. The same outcome posted
to two servers at once is stored once (INSERT .. ON CONFLICT DO NOTHING, then compared with
what is stored). The SQLite file and its -wal and -shm files are private (0600). A write the
database refuses raises StorageError naming it and the cause, after the whole request was
rolled back.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    inspect,
)

from riskscore.database import Location
from riskscore.private_db import PrivateDatabase

_COLUMNS = "declaration_id, member, illicit, revenue_recovered, inspection_date, received_at"
READ_COLUMNS = ["declaration_id", "member", "illicit", "revenue_recovered", "inspection_date"]


def _table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        Column("declaration_id", Text, nullable=False),
        Column("member", Text, nullable=False),
        Column("illicit", Integer, nullable=False),
        Column("revenue_recovered", Float),
        Column("inspection_date", Text, nullable=False),
        Column("received_at", Text, nullable=False),
        PrimaryKeyConstraint("member", "declaration_id"),
    )


@dataclass(frozen=True)
class Outcome:
    declaration_id: str
    member: str
    illicit: int
    revenue_recovered: float | None
    inspection_date: str


class OutcomeConflict(Exception):
    """This member already stored a different outcome for the declaration."""


def read_outcomes(location: Location) -> pd.DataFrame:
    """Every stored outcome (empty when there is no store yet), for the next retraining."""
    if isinstance(location, str | Path):
        if not Path(location).exists():
            return pd.DataFrame({c: [] for c in READ_COLUMNS})
        # Read-only: a reader neither creates nor migrates the file.
        with sqlite3.connect(f"file:{location}?mode=ro", uri=True) as db:
            return pd.read_sql_query(f"SELECT {', '.join(READ_COLUMNS)} FROM outcomes", db)
    store = OutcomeStore(location)
    try:
        return store.read()
    finally:
        store.close()


class OutcomeStore(PrivateDatabase):
    what = "outcomes in"

    def _create(self) -> None:
        """Create the table, or rekey one keyed by declaration id alone (releases before this
        one, SQLite files only) by (member, declaration id), keeping its rows; in the schema
        transaction, so all or none."""
        db = self._db
        inspector = inspect(db.sa)
        if not inspector.has_table("outcomes"):
            _table("outcomes").create(db.sa)
        elif "member" not in inspector.get_pk_constraint("outcomes")["constrained_columns"]:
            _table("outcomes_by_member").create(db.sa)
            db.execute(
                f"INSERT INTO outcomes_by_member ({_COLUMNS}) SELECT {_COLUMNS} FROM outcomes"
            )
            db.execute("DROP TABLE outcomes")
            db.execute("ALTER TABLE outcomes_by_member RENAME TO outcomes")

    def add(self, outcomes: list[Outcome]) -> dict[str, int]:
        """Store outcomes; identical repeats are no-ops, conflicting ones raise, all or none.

        Raises OutcomeConflict (naming the declaration and member, never the stored values) or
        StorageError when the database cannot be written (nothing of `outcomes` is stored).
        """
        now = datetime.now(UTC).isoformat(timespec="seconds")
        stored = duplicates = 0
        # In key order: two servers storing the same outcomes lock their rows in one order,
        # so neither waits for the other in a deadlock.
        ordered = sorted(outcomes, key=lambda o: (o.member, o.declaration_id))
        with self._lock, self._transaction("store outcomes in"):
            for o in ordered:
                key = {"member": o.member, "declaration_id": o.declaration_id}
                values = (o.illicit, o.revenue_recovered, o.inspection_date)
                inserted = self._db.execute(
                    f"INSERT INTO outcomes ({_COLUMNS}) VALUES (:declaration_id, :member, "
                    ":illicit, :revenue_recovered, :inspection_date, :received_at) "
                    "ON CONFLICT (member, declaration_id) DO NOTHING",
                    key
                    | {
                        "illicit": o.illicit,
                        "revenue_recovered": o.revenue_recovered,
                        "inspection_date": o.inspection_date,
                        "received_at": now,
                    },
                ).rowcount
                if inserted:
                    stored += 1
                    continue
                row = self._db.execute(
                    "SELECT illicit, revenue_recovered, inspection_date "
                    "FROM outcomes WHERE member = :member AND declaration_id = :declaration_id",
                    key,
                ).fetchone()
                if tuple(row) == values:
                    duplicates += 1
                else:
                    raise OutcomeConflict(
                        f"a different outcome for declaration {o.declaration_id} is already "
                        f"stored for member {o.member}; nothing was stored"
                    )
        return {"stored": stored, "duplicates": duplicates}

    def read(self) -> pd.DataFrame:
        """Every stored outcome, as `read_outcomes` gives it."""
        rows = self._read(f"SELECT {', '.join(READ_COLUMNS)} FROM outcomes")
        if not rows:
            return pd.DataFrame({c: [] for c in READ_COLUMNS})
        return pd.DataFrame([tuple(r) for r in rows], columns=READ_COLUMNS)

    def count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM outcomes")[0][0])
