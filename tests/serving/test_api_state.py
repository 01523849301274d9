"""State files of the server: outcomes per member, private modes, and a full disk (503 naming
the cause, nothing stored, no audit line for an answer not given)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import resource
import sqlite3
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from riskscore.features.dataset import _apply_outcomes
from riskscore.features.outcomes import read_outcomes
from riskscore.files import StorageError
from riskscore.serving import audit
from riskscore.serving.app import create_app
from riskscore.settings import Settings

MEMBER = "GB"  # as in conftest
FULL = "database or disk is full"


def outcome(declaration_id: str, member: str, illicit: int, **change) -> dict:
    return {
        "declaration_id": declaration_id,
        "reporting_country": member,
        "illicit": illicit,
        "revenue_recovered": 4321.5,
        "inspection_date": "2025-03-01",
    } | change


def stored(world, declaration_id: str) -> dict[str, int]:
    with sqlite3.connect(world.settings.outcomes_db) as db:
        rows = db.execute(
            "SELECT member, illicit FROM outcomes WHERE declaration_id = ?", (declaration_id,)
        ).fetchall()
    db.close()
    return dict(rows)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def audit_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.open()]


def audit_days() -> list[str]:
    """Today and tomorrow (UTC): a test running over midnight must not miss the file."""
    now = datetime.now(UTC)
    return [(now + timedelta(days=d)).strftime("%Y-%m-%d") for d in (0, 1)]


# -- outcomes per member -------------------------------------------------------------------------


def test_another_members_outcome_neither_blocks_nor_labels_a_record(server, world):
    clearance = world.clearance()
    gb_id = clearance.loc[clearance["reporting_country"] == MEMBER, "id"].iloc[777]
    with server.client(world.keys["FR"]) as fr, server.client(world.keys[MEMBER]) as gb:
        # FR reports about GB's declaration id: in scope (FR), stored under FR.
        posted = fr.post("/v1/outcomes", json={"outcomes": [outcome(gb_id, "FR", 1)]})
        assert posted.status_code == 200, posted.text
        # GB's own outcome for its declaration is stored, not refused.
        own = gb.post("/v1/outcomes", json={"outcomes": [outcome(gb_id, MEMBER, 0)]})
        assert own.status_code == 200, own.text
        assert own.json() == {"stored": 1, "duplicates": 0, "received": 1}
        # A conflict says so, without the stored values, and only to the member that stored it.
        changed = outcome(gb_id, MEMBER, 1, revenue_recovered=1.0, inspection_date="2025-04-09")
        conflict = gb.post("/v1/outcomes", json={"outcomes": [changed]})
        fr_again = fr.post("/v1/outcomes", json={"outcomes": [outcome(gb_id, "FR", 0)]})
    assert conflict.status_code == 409 and fr_again.status_code == 409
    for answer in (conflict, fr_again):
        detail = answer.json()["detail"]
        assert gb_id in detail and "already stored" in detail
        for value in ("4321", "2025-03-01", "illicit", "revenue"):
            assert value not in detail, detail
    assert "FR" not in conflict.json()["detail"]
    assert stored(world, gb_id) == {"FR": 1, MEMBER: 0}

    # Training labels GB's record with GB's outcome only.
    records = clearance[clearance["id"] == gb_id].copy()
    counts = _apply_outcomes(records, read_outcomes(world.settings.outcomes_db))
    assert records["illicit"].tolist() == [0]
    assert counts["api_outcomes_other_member"] >= 1


def test_a_regional_key_reports_for_each_member(server, world):
    body = {"outcomes": [outcome("RILO-1", MEMBER, 1), outcome("RILO-1", "FR", 0)]}
    with server.client(world.keys["*"]) as rilo:
        answer = rilo.post("/v1/outcomes", json=body)
    assert answer.status_code == 200, answer.text
    assert stored(world, "RILO-1") == {MEMBER: 1, "FR": 0}


# -- private state files -------------------------------------------------------------------------


def test_state_files_are_private(api, world):
    assert api.post("/v1/score", json={"declarations": world.records(1)}).status_code == 200
    body = {"outcomes": [outcome("MODE-1", MEMBER, 1)]}
    assert api.post("/v1/outcomes", json=body).status_code == 200
    state = world.settings.state_dir
    files = [
        world.settings.keys_file,
        *world.settings.audit_dir.glob("*.jsonl"),
        *state.glob("outcomes.sqlite*"),
        *state.glob("alerts.sqlite*"),
    ]
    assert any(p.name == "alerts.sqlite" for p in files)
    assert len(files) >= 4
    assert {str(p): mode(p) for p in files} == {str(p): 0o600 for p in files}


# -- a full disk -----------------------------------------------------------------------------------


class InProcess:
    """The app in this process, on a state dir of its own, its services at hand. No lifespan:
    no model is loaded, which the outcome route does not need."""

    def __init__(self, world, state: Path) -> None:
        settings = Settings(
            store_dir=world.settings.store_dir,
            mlruns_dir=world.settings.mlruns_dir,
            tracking_uri=world.settings.tracking_uri,
            state_dir=state,
            _env_file=None,
        )
        self.app = create_app(settings)
        self.services = self.app.state.services
        self.headers = {"X-API-Key": world.keys[MEMBER]}

    def post(self, path: str, body: dict) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://app", headers=self.headers
            ) as client:
                return await client.post(path, json=body)

        return asyncio.run(send())


@pytest.fixture
def in_process(world, tmp_path):
    app = InProcess(world, world.copy_state(tmp_path / "var", with_cache=False))
    yield app
    app.services.close()


def test_a_full_outcome_store_is_503_naming_the_cause(in_process):
    client, services = in_process, in_process.services
    first = client.post("/v1/outcomes", {"outcomes": [outcome("FULL-0", MEMBER, 1)]})
    assert first.status_code == 200
    store = services.outcomes
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite answers SQLITE_FULL from here
    many = {"outcomes": [outcome(f"FULL-{i}", MEMBER, 1) for i in range(1, 500)]}
    full = client.post("/v1/outcomes", many)
    assert full.status_code == 503
    assert full.json()["detail"] == (
        f"cannot store outcomes in {services.settings.outcomes_db}: {FULL}; nothing was stored"
    )
    assert store.count() == 1
    store._db.execute("PRAGMA max_page_count = 1073741823")  # space again
    assert client.post("/v1/outcomes", many).json()["stored"] == 499


def test_a_full_alert_book_costs_a_selection_row_never_the_answer(in_process, world):
    client, services = in_process, in_process.services
    services.holder.load_initial()
    book = services.alerts.book
    alert = book.add({"importer": ["IMP-FULL-BOOK"]}, "red", "full book", author="t")
    pages = book._db.execute("PRAGMA page_count").fetchone()[0]
    book._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite answers SQLITE_FULL from here
    records = [r | {"id": f"FULL-BOOK-{i}", "importer_id": "IMP-FULL-BOOK"}
               for i, r in enumerate(world.records(300))]  # fmt: skip
    answer = client.post("/v1/score", {"declarations": records})
    assert answer.status_code == 200, answer.text
    assert {r["channel"] for r in answer.json()["results"]} == {"red"}
    assert all(r["alerts"] == [alert.id] for r in answer.json()["results"])
    assert len(book.selections(alert.id)) < len(records)  # the book was full
    audit = [
        json.loads(line)
        for f in services.settings.audit_dir.glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    entry = next(e for e in audit if e["request_id"] == answer.json()["request_id"])
    assert all(d["alerts"] == [alert.id] for d in entry["declarations"])


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux prlimit")
def test_an_answer_that_cannot_be_audited_is_not_given(world, start_server, tmp_path):
    state = world.copy_state(tmp_path / "var", with_cache=False)
    limit = 64 << 20
    audit = state / "audit"
    audit.mkdir()
    for day in audit_days():  # audit files one line short of the file size limit (sparse)
        with (audit / f"audit-{day}.jsonl").open("wb") as f:
            f.truncate(limit - 5)
    server = start_server("audit-full", RISKSCORE_STATE_DIR=state)
    assert server.process is not None
    # The kernel refuses writes past the limit (EFBIG): a disk that filled up while serving.
    resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (limit, limit))
    records = world.records(2, start=600)
    fr_rows = [r | {"reporting_country": "FR"} for r in records]
    csv = b"id,date,reporting_country,hs_code,origin_country\nAF-1,2025-01-02,GB,100630,EC\n"
    with server.client(world.keys[MEMBER]) as gb:
        assert gb.post("/v1/score", json={"declarations": [{"id": "x"}]}).status_code == 422
        assert gb.post("/v1/score", json={"declarations": fr_rows}).status_code == 403
        refused = gb.post("/v1/score", json={"declarations": records})
        batch = gb.post("/v1/score/batch", content=csv, headers={"Content-Type": "text/csv"})
        assert refused.status_code == 503, refused.text
        detail = refused.json()["detail"]
        assert f"audit-{audit_days()[0]}.jsonl" in detail and "File too large" in detail
        assert "not given" in detail
        # The batch answer had started: it ends with the cause instead of scores and summary.
        lines = [json.loads(line) for line in batch.text.splitlines()]
        assert lines and "File too large" in lines[-1]["error"]
        assert not any("score" in line or "summary" in line for line in lines)
        for day in audit_days():  # space again
            (audit / f"audit-{day}.jsonl").write_bytes(b"")
        given = gb.post("/v1/score", json={"declarations": records})
    assert given.status_code == 200, given.text
    # Only the answer given is in the log: no line, and no piece of one, of the refused ones.
    assert [e["request_id"] for e in audit_lines(audit)] == [given.json()["request_id"]]


# -- a real full disk (tmpfs; needs the right to mount, else skipped) ---------------------------


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + mounted.stderr.decode(errors="replace"))
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_disk_while_serving(world, small_disk, start_server):
    state = world.copy_state(small_disk / "var", with_cache=False)
    server = start_server("disk-full", RISKSCORE_STATE_DIR=state)
    records = world.records(1, start=900)
    filler = small_disk / "filler"
    with server.client(world.keys[MEMBER]) as gb:
        assert gb.post("/v1/outcomes", json={"outcomes": [outcome("D-0", MEMBER, 1)]}).is_success
        with filler.open("wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        many = {"outcomes": [outcome(f"D-{i}", MEMBER, 1) for i in range(1, 2000)]}
        full = gb.post("/v1/outcomes", json=many)
        refused = gb.post("/v1/score", json={"declarations": records})
        filler.unlink()
        again = gb.post("/v1/outcomes", json=many)
        given = gb.post("/v1/score", json={"declarations": records})
    assert full.status_code == 503, full.text
    assert full.json()["detail"].endswith(f"{FULL}; nothing was stored")
    assert refused.status_code == 503, refused.text
    assert "No space left on device" in refused.json()["detail"]
    assert again.json()["stored"] == 1999 and given.status_code == 200
    assert [e["request_id"] for e in audit_lines(state / "audit")] == [given.json()["request_id"]]


# -- the audit log itself (no server) ------------------------------------------------------------


def test_an_audit_line_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    day = audit_days()[0]
    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / f"audit-{day}.jsonl").write_text("")
    (folder / f"audit-{day}.jsonl").chmod(0o644)  # as older releases left it
    log = audit.AuditLog(folder)
    log.record({"request_id": "given-1"})
    real_write = os.write
    calls = []

    def full_disk(fd: int, data: bytes) -> int:  # a disk that fills up in the middle of a line
        if fd != log._fd:
            return real_write(fd, data)
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:7]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(audit.os, "write", full_disk)
    with pytest.raises(StorageError) as caught:
        log.record({"request_id": "refused"})
    monkeypatch.undo()
    assert str(caught.value.strerror) == (
        f"cannot write {folder / f'audit-{day}.jsonl'}: No space left on device"
    )
    log.record({"request_id": "given-2"})
    log.close()
    assert [e["request_id"] for e in audit_lines(folder)] == ["given-1", "given-2"]
    assert mode(folder / f"audit-{day}.jsonl") == 0o600
