"""The outcome store (per member, private, disk full) and how training applies its outcomes."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import factories
import pandas as pd
import pytest

from riskscore.features.dataset import _apply_outcomes, load_history
from riskscore.features.ingest import ingest
from riskscore.features.outcomes import Outcome, OutcomeConflict, OutcomeStore, read_outcomes
from riskscore.features.store import Store
from riskscore.files import StorageError

OLD_SCHEMA = """
CREATE TABLE outcomes (
    declaration_id TEXT PRIMARY KEY,
    member TEXT NOT NULL,
    illicit INTEGER NOT NULL,
    revenue_recovered REAL,
    inspection_date TEXT NOT NULL,
    received_at TEXT NOT NULL
)
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path) -> OutcomeStore:
    opened = OutcomeStore(tmp_path / "var" / "outcomes.sqlite")
    yield opened
    opened.close()


# -- one outcome per member and declaration -------------------------------------------------------


def test_members_keep_their_own_outcome_for_the_same_declaration_id(store):
    assert store.add([Outcome("CLR-1", "FR", 1, 900.0, "2025-03-01")])["stored"] == 1
    # GB's own outcome for its declaration CLR-1 is not blocked by what FR posted.
    assert store.add([Outcome("CLR-1", "GB", 0, None, "2025-03-02")])["stored"] == 1
    assert store.add([Outcome("CLR-1", "GB", 0, None, "2025-03-02")])["duplicates"] == 1
    rows = read_outcomes(store.path).set_index("member")
    assert rows.loc["FR", "illicit"] == 1 and rows.loc["GB", "illicit"] == 0


def test_a_conflict_names_neither_the_stored_values_nor_another_member(store):
    store.add([Outcome("CLR-2", "GB", 1, 123456.5, "2025-03-01")])
    with pytest.raises(OutcomeConflict) as caught:
        store.add([Outcome("CLR-2", "GB", 0, None, "2025-04-09")])
    message = str(caught.value)
    assert "CLR-2" in message and "GB" in message
    for stored in ("123456", "2025-03-01", "illicit=", "revenue"):
        assert stored not in message


def test_a_conflict_stores_nothing_of_the_request(store):
    store.add([Outcome("CLR-3", "GB", 1, None, "2025-03-01")])
    with pytest.raises(OutcomeConflict):
        store.add(
            [Outcome("CLR-4", "GB", 1, None, "2025-03-01"), Outcome("CLR-3", "GB", 0, None, "x")]
        )
    assert store.count() == 1


def test_an_old_store_is_migrated_in_place_keeping_its_rows(tmp_path):
    path = tmp_path / "outcomes.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(OLD_SCHEMA)
        db.executemany(
            "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("OLD-1", "GB", 1, 50.0, "2024-01-02", "2024-01-03T00:00:00+00:00"),
                ("OLD-2", "FR", 0, None, "2024-01-04", "2024-01-05T00:00:00+00:00"),
            ],
        )
    db.close()
    opened = OutcomeStore(path)
    try:
        assert opened.count() == 2
        assert opened.add([Outcome("OLD-1", "GB", 1, 50.0, "2024-01-02")])["duplicates"] == 1
        assert opened.add([Outcome("OLD-1", "FR", 0, None, "2024-02-01")])["stored"] == 1
    finally:
        opened.close()
    again = OutcomeStore(path)  # a second open finds the new schema and leaves it alone
    again.close()
    rows = read_outcomes(path)
    assert sorted(zip(rows["member"], rows["declaration_id"], strict=True)) == [
        ("FR", "OLD-1"),
        ("FR", "OLD-2"),
        ("GB", "OLD-1"),
    ]
    with sqlite3.connect(path) as db:
        received = db.execute(
            "SELECT received_at FROM outcomes WHERE declaration_id = 'OLD-2'"
        ).fetchone()
    db.close()
    assert received == ("2024-01-05T00:00:00+00:00",)


# -- training applies an outcome only to its member's record --------------------------------------


def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["CLR-1", "CLR-2", "CLR-1"],
            "reporting_country": ["GB", "GB", "FR"],
            "illicit": pd.array([pd.NA, pd.NA, pd.NA], dtype="Int8"),
        }
    )


def outcomes(*rows: tuple[str, str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "declaration_id": [r[0] for r in rows],
            "member": [r[1] for r in rows],
            "illicit": [r[2] for r in rows],
            "revenue_recovered": [None] * len(rows),
            "inspection_date": ["2025-03-01"] * len(rows),
        }
    )


def test_an_outcome_labels_only_the_record_of_its_member():
    frame = records()
    counts = _apply_outcomes(frame, outcomes(("CLR-2", "FR", 1), ("CLR-1", "GB", 0)))
    assert frame["illicit"].tolist() == [0, pd.NA, pd.NA]  # FR's CLR-2 is not GB's CLR-2
    assert counts == {
        "api_outcomes_applied": 1,
        "api_outcomes_without_record": 1,
        "api_outcomes_other_member": 1,
    }


def test_two_members_same_id_each_label_their_own():
    frame = records()
    counts = _apply_outcomes(frame, outcomes(("CLR-1", "FR", 1), ("CLR-1", "GB", 0)))
    assert frame["illicit"].tolist() == [0, pd.NA, 1]
    assert counts["api_outcomes_applied"] == 2 and counts["api_outcomes_without_record"] == 0


def test_load_history_ignores_another_members_outcome(tmp_path):
    frame = factories.declarations(50, seed=5).drop(columns=["label"])
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    frame.to_csv(tmp_path / "clearance.csv", index=False)
    ingest("clearance", tmp_path / "clearance.csv", tmp_path / "store")
    gb_id = frame["id"].iloc[0]
    db = OutcomeStore(tmp_path / "outcomes.sqlite")
    db.add([Outcome(gb_id, "FR", 1, 999.0, "2024-12-01")])  # FR posting about GB's record
    db.close()
    history = load_history(Store(tmp_path / "store"), read_outcomes(tmp_path / "outcomes.sqlite"))
    row = history.declarations.set_index("id").loc[gb_id]
    assert row["label_source"] != "inspection" and pd.isna(row["illicit"])
    assert history.label_counts["api_outcomes_applied"] == 0
    assert history.label_counts["api_outcomes_other_member"] == 1


# -- private files ---------------------------------------------------------------------------------


def test_the_database_and_its_wal_files_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        opened = OutcomeStore(tmp_path / "var" / "outcomes.sqlite")
        opened.add([Outcome("P-1", "GB", 1, None, "2025-01-01")])
        files = sorted((tmp_path / "var").glob("outcomes.sqlite*"))
        assert {p.name for p in files} >= {"outcomes.sqlite"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        opened.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_narrowed(tmp_path):
    path = tmp_path / "outcomes.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(OLD_SCHEMA)
        held = sqlite3.connect(path)  # keeps -wal and -shm on disk while the store opens
        held.execute("SELECT * FROM outcomes").fetchall()
    for p in tmp_path.glob("outcomes.sqlite*"):
        os.chmod(p, 0o644)
    opened = OutcomeStore(path)
    try:
        files = sorted(tmp_path.glob("outcomes.sqlite*"))
        assert len(files) == 3
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        opened.close()
        held.close()
        db.close()


# -- disk full ---------------------------------------------------------------------------------


def fill(store: OutcomeStore) -> None:
    """Make the database full: SQLite answers SQLITE_FULL as on a full disk."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_is_a_storage_error_naming_the_file_and_cause(store):
    store.add([Outcome("F-0", "GB", 1, None, "2025-01-01")])
    fill(store)
    many = [Outcome(f"F-{i}", "GB", 1, None, "2025-01-01") for i in range(1, 400)]
    with pytest.raises(StorageError) as caught:
        store.add(many)
    message = str(caught.value)
    assert message == (
        f"cannot store outcomes in {store.path}: database or disk is full; nothing was stored"
    )
    assert store.count() == 1
    store._db.execute("PRAGMA max_page_count = 1073741823")  # space again: the store works
    assert store.add(many)["stored"] == len(many)


class _FailingRollback:
    """A connection whose INSERT fails and whose ROLLBACK fails too, while still in a
    transaction (the worst case: the store must reconnect rather than stay wedged)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql.startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")
        if sql == "ROLLBACK":
            raise sqlite3.OperationalError("disk I/O error")
        return self.db.execute(sql, *args)

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    def close(self) -> None:
        self.db.close()


def test_a_failing_rollback_neither_hides_the_cause_nor_wedges_the_store(store):
    store._open = _FailingRollback(store._open)
    with pytest.raises(StorageError, match="database or disk is full; nothing was stored"):
        store.add([Outcome("R-1", "GB", 1, None, "2025-01-01")])
    assert store.add([Outcome("R-1", "GB", 1, None, "2025-01-01")])["stored"] == 1
    assert store.count() == 1
