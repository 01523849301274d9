"""Issue 10 (reliability) for the store: one writer per kind, full disks, kills at any step,
stores damaged by older versions, and control characters in the input.

Faults are injected where the bytes are written (`os.write`, resolved to the file it writes
through /proc/self/fd), so each test holds whichever writer ends up writing the file.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import typer

from riskscore.cli.options import clean_errors
from riskscore.features.dataset import load_history
from riskscore.features.errors import BadInputError
from riskscore.features.ingest import IngestReport, ingest
from riskscore.features.store import Store
from riskscore.files import StorageError, describe

TODAY = date(2024, 6, 1)
HEADER = "id,date,reporting_country,commodity_category,description"
RISKSCORE = Path(sys.executable).parent / "riskscore"

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


class KilledError(BaseException):
    """A kill -9 stand-in: nothing in the product catches it, so nothing cleans up after it."""


def write_csv(path: Path, rows: int, text: str = "goods", bad: int = 0, prefix: str = "S") -> Path:
    """`rows` seizures S0.. with `text` in the description, and `bad` rows with a bad date."""
    lines = [HEADER]
    lines += [f"{prefix}{i},2024-02-05,KR,drugs,{text} {i}" for i in range(rows)]
    lines += [f"BAD{i},not a date,KR,drugs,x" for i in range(bad)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def files(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones too) with its bytes; the lock file aside."""
    if not root.exists():
        return {}
    found = sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".writer.lock")
    return {str(p.relative_to(root)): p.read_bytes() for p in found}


def assert_tidy(root: Path) -> None:
    """No temporary, no empty file, and every part and quarantine file named by a report."""
    names = files(root)
    assert not [n for n in names if n.endswith(".tmp")], names.keys()
    assert not [n for n, data in names.items() if not data], names.keys()
    kind_dir = root / "seizures"
    reports = [json.loads(p.read_text()) for p in (kind_dir / "reports").glob("*.json")]
    named = {Path(r[k]).name for r in reports for k in ("part_file", "quarantine_file") if r[k]}
    made = {p.name for p in kind_dir.glob("part-*.parquet")}
    made |= {p.name for p in (kind_dir / "quarantine").glob("*.csv")}
    assert made == named


def credited(store: Path, source: Path) -> int:
    """The rows lineage credits to `source` as new."""
    lineage = Store(store).lineage()["files"]
    return sum(f["rows_new"] for f in lineage if Path(f["source_file"]).name == source.name)


@pytest.fixture
def fail_writes(monkeypatch) -> Callable[[str, BaseException], None]:
    """Make writes to files whose path contains `match` fail with `error` after a first chunk
    (the disk fills, or the process dies, part way through the file)."""

    def arm(match: str, error: BaseException) -> None:
        real = os.write
        started: set[str] = set()

        def write(fd: int, data) -> int:
            try:
                name = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                return real(fd, data)
            if match not in name:
                return real(fd, data)
            if name not in started and len(data) > 1:
                started.add(name)
                return real(fd, bytes(data[: len(data) // 2]))
            raise error

        monkeypatch.setattr(os, "write", write)

    return arm


# --- 1. one writer per store kind ---------------------------------------------------------------


@pytest.fixture
def slow_store(monkeypatch) -> None:
    """Widen the window between reading the stored ids and writing the part: without a lock
    both writers of a race then read the store before either has written."""
    keys = Store.keys

    def slow_keys(self, kind):
        found = keys(self, kind)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(Store, "keys", slow_keys)


def _two_at_once(first: tuple, second: tuple) -> list[IngestReport]:
    barrier = threading.Barrier(2)

    def run(args: tuple) -> IngestReport:
        barrier.wait()
        return ingest(*args, today=TODAY)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, [first, second]))


def test_two_threads_ingesting_one_file_store_each_id_once(tmp_path, slow_store):
    path = write_csv(tmp_path / "a.csv", 2000)
    store = tmp_path / "store"
    reports = _two_at_once(("seizures", path, store), ("seizures", path, store))

    assert sorted(r.rows_new for r in reports) == [0, 2000]
    assert sorted(r.rows_already_present for r in reports) == [0, 2000]
    ids = Store(store).read("seizures")["id"]
    assert len(ids) == 2000 and ids.is_unique
    assert credited(store, path) == 2000


def test_two_threads_with_conflicting_files_quarantine_the_second(tmp_path, slow_store):
    a = write_csv(tmp_path / "a.csv", 500, text="cotton")
    b = write_csv(tmp_path / "b.csv", 500, text="rice")
    store = tmp_path / "store"
    reports = _two_at_once(("seizures", a, store), ("seizures", b, store))

    winner, loser = sorted(reports, key=lambda r: -r.rows_new)
    assert (winner.rows_new, winner.rows_quarantined) == (500, 0)
    assert (loser.rows_new, loser.rows_accepted, loser.rows_quarantined) == (0, 0, 500)
    quarantined = pd.read_csv(loser.quarantine_file, dtype=str)
    assert quarantined["reasons"].str.startswith("id: already stored with different").all()
    stored = Store(store).read("seizures")
    assert len(stored) == 500 and stored["id"].is_unique
    assert set(stored["_source_file"]) == {Path(winner.source_file).name}


def _ingest_in_processes(store: Path, *paths: Path) -> list[dict]:
    env = dict(os.environ, RISKSCORE_STORE_DIR=str(store))
    procs = [
        subprocess.Popen(
            [str(RISKSCORE), "ingest", "seizures", str(p), "--store", str(store), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for p in paths
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    return reports


@pytest.mark.skipif(not RISKSCORE.exists(), reason="console script not installed")
@pytest.mark.parametrize("conflict", [False, True], ids=["same-file", "same-ids"])
def test_two_processes_ingesting_at_once(tmp_path, conflict):
    a = write_csv(tmp_path / "a.csv", 20000, text="cotton")
    b = write_csv(tmp_path / "b.csv", 20000, text="rice") if conflict else a
    store = tmp_path / "store"
    reports = _ingest_in_processes(store, a, b)

    winner, loser = sorted(reports, key=lambda r: -r["rows_new"])
    assert winner["rows_new"] == 20000
    assert loser["rows_new"] == 0
    if conflict:
        assert (loser["rows_quarantined"], loser["rows_already_present"]) == (20000, 0)
    else:
        assert (loser["rows_quarantined"], loser["rows_already_present"]) == (0, 20000)
    ids = Store(store).read("seizures", columns=["id"])["id"]
    assert len(ids) == 20000 and ids.is_unique
    assert_tidy(store)


def test_a_second_writer_waits_for_the_lock(tmp_path):
    from riskscore.files import writer_lock

    path = write_csv(tmp_path / "a.csv", 10)
    store = tmp_path / "store"
    lock = store / "seizures" / ".writer.lock"
    done: list[IngestReport] = []
    with writer_lock(lock):
        worker = threading.Thread(target=lambda: done.append(ingest("seizures", path, store)))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not done  # waiting for the lock, not writing
        assert Store(store).parts("seizures") == []
    worker.join(30)
    assert done[0].rows_new == 10


def _clearance_rows(tmp_path: Path) -> pd.DataFrame:
    csv = tmp_path / "clearance.csv"
    csv.write_text(
        "id,date,reporting_country,hs_code,origin_country\n"
        "C1,2024-01-05,GB,100630,CN\nC2,2024-01-06,GB,100630,CN\n"
    )
    ingest("clearance", csv, tmp_path / "scratch", today=TODAY)
    return Store(tmp_path / "scratch").read("clearance")


def test_training_refuses_a_store_with_duplicate_ids(tmp_path):
    rows = _clearance_rows(tmp_path)
    store = Store(tmp_path / "store")
    first = store.append("clearance", rows.assign(_source_file="a.csv"))
    second = store.append("clearance", rows.iloc[:1].assign(_source_file="b.csv"))

    with pytest.raises(BadInputError) as info:
        load_history(store)
    message = str(info.value)
    assert "clearance" in message
    assert "1 id stored more than once" in message
    assert "'C1'" in message
    assert "a.csv" in message and "b.csv" in message
    assert first.name in message and second.name in message
    assert "fresh store" in message
    assert len(message.splitlines()) == 1


def test_training_reads_a_healthy_store(tmp_path):
    rows = _clearance_rows(tmp_path)
    store = Store(tmp_path / "store")
    store.append("clearance", rows)
    assert sorted(load_history(store).declarations["id"]) == ["C1", "C2"]


# --- 4. a full disk ---------------------------------------------------------------------------

TARGETS = {
    "part": ".parquet",
    "quarantine": "/quarantine/",
    "history-report": "/reports/",
    "latest-report": "ingest-report.json",
}


@pytest.mark.parametrize("target", TARGETS)
def test_full_disk_is_one_error_naming_the_file_and_changes_nothing(tmp_path, fail_writes, target):
    store = tmp_path / "store"
    ingest("seizures", write_csv(tmp_path / "a.csv", 20, bad=1), store, today=TODAY)
    before = files(store)
    fail_writes(TARGETS[target], OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    with pytest.raises(StorageError) as info:
        ingest("seizures", write_csv(tmp_path / "b.csv", 10, bad=1, prefix="T"), store)
    message = str(info.value)
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert message.startswith("cannot write ") and message.endswith("No space left on device")
    assert TARGETS[target].strip("/") in info.value.filename
    assert files(store) == before  # store unchanged: no part, quarantine, report or temporary
    assert len(Store(store).lineage()["files"]) == 1


def test_cli_full_disk_is_one_error_line(tmp_path, invoke, fail_writes):
    write_csv(tmp_path / "a.csv", 20)
    fail_writes(".parquet", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    result = invoke("ingest", "seizures", "a.csv", "--store", "store")

    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, OSError)
    assert "Traceback" not in result.output
    message = " ".join(result.stderr.split())  # in-process, rich may wrap at 80 columns
    assert message.startswith("error: cannot write ")
    assert "part-" in message and message.endswith("No space left on device")
    assert result.stdout == ""
    assert files(tmp_path / "store") == {}


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            describe(OSError(errno.ENOSPC, "No space left on device"), "s/x.json"),
            "cannot write s/x.json: No space left on device",
        ),
        (PermissionError(errno.EACCES, "Permission denied", "/s/y"), "/s/y: Permission denied"),
    ],
    ids=["storage", "os"],
)
def test_clean_errors_shows_os_errors_as_one_line(capsys, error, says):
    with pytest.raises(typer.Exit), clean_errors():
        raise error
    assert capsys.readouterr().err.strip() == f"error: {says}"


@pytest.mark.parametrize("content", ["", "{", "[1, 2]"], ids=["empty", "truncated", "not-a-report"])
def test_lineage_names_and_skips_a_corrupt_report(tmp_path, content):
    store = tmp_path / "store"
    ingest("seizures", write_csv(tmp_path / "a.csv", 5), store, today=TODAY)
    corrupt = store / "seizures" / "reports" / "20200101T000000000000Z-old.json"
    corrupt.write_text(content)

    lineage = Store(store).lineage()
    assert [f["rows_new"] for f in lineage["files"]] == [5]
    assert lineage["corrupt_reports"] == [str(corrupt)]
    # and ingestion goes on
    assert ingest("seizures", write_csv(tmp_path / "b.csv", 7), store, today=TODAY).rows_new == 2


# --- 9. a kill at any step ----------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_a_kill_while_writing_is_recovered_by_the_next_ingest(
    tmp_path, fail_writes, monkeypatch, target
):
    store = tmp_path / "store"
    path = write_csv(tmp_path / "a.csv", 30, bad=2)
    fail_writes(TARGETS[target], KilledError())
    with pytest.raises(KilledError):
        ingest("seizures", path, store, today=TODAY)
    monkeypatch.undo()

    report = ingest("seizures", path, store, today=TODAY)
    assert credited(store, path) == 30
    assert report.rows_quarantined == 2 and Path(report.quarantine_file).is_file()
    ids = Store(store).read("seizures")["id"]
    assert len(ids) == 30 and ids.is_unique
    assert_tidy(store)
    latest = json.loads((store / "seizures" / "ingest-report.json").read_text())
    assert latest == report.to_dict()


def test_a_kill_between_the_part_and_its_report(tmp_path, monkeypatch):
    import riskscore.features.ingest as ingest_module

    store = tmp_path / "store"
    path = write_csv(tmp_path / "a.csv", 30, bad=2)

    def killed(*args, **kwargs):
        raise KilledError

    monkeypatch.setattr(ingest_module, "_write_report", killed)
    with pytest.raises(KilledError):
        ingest("seizures", path, store, today=TODAY)
    monkeypatch.undo()
    # an ingest that did not finish is not seen by readers
    assert Store(store).read("seizures").empty

    report = ingest("seizures", path, store, today=TODAY)
    assert (report.rows_new, report.rows_already_present) == (30, 0)
    assert credited(store, path) == 30
    assert_tidy(store)


def test_leftovers_of_older_versions_are_cleaned(tmp_path):
    store = tmp_path / "store"
    ingest("seizures", write_csv(tmp_path / "a.csv", 3), store, today=TODAY)
    kind_dir = store / "seizures"
    (kind_dir / "part-20240101T000000000000Z-abcd1234.tmp").write_bytes(b"PAR1")
    (kind_dir / "quarantine").mkdir()
    (kind_dir / "quarantine" / "a-20240101T000000000000Z.csv").write_bytes(b"")
    (kind_dir / "reports" / ".x.json.0123abcd.tmp").write_bytes(b"{")

    ingest("seizures", write_csv(tmp_path / "b.csv", 4), store, today=TODAY)
    assert_tidy(store)
    assert len(Store(store).read("seizures")) == 4


def test_no_empty_quarantine_file(tmp_path):
    store = tmp_path / "store"
    report = ingest("seizures", write_csv(tmp_path / "a.csv", 3), store, today=TODAY)
    assert report.quarantine_file is None
    assert not (store / "seizures" / "quarantine").exists()


# --- 12. control characters -----------------------------------------------------------------


def test_control_characters_clean_text_and_refuse_ids(tmp_path):
    csv = tmp_path / "ctl.csv"
    rows = [
        "id,date,reporting_country,commodity_category,description,x_note",
        'S1,2024-02-05,KR,drugs,"COT\x00TON\x07 BAGS\x1b",a\x00b',
        "S2\x00,2024-02-05,KR,drugs,fine,",
        "S3\x07X,2024-02-05,KR,drugs,fine,",
        'S2,2024-02-06,KR,drugs,"two\tcolumns",',
        '"S4\x00",not a date,KR,drugs,fine,',
    ]
    csv.write_bytes(("\n".join(rows) + "\n").encode())
    report = ingest("seizures", csv, tmp_path / "store", today=TODAY)

    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (5, 2, 3)
    stored = Store(tmp_path / "store").read("seizures").set_index("id")
    assert sorted(stored.index) == ["S1", "S2"]  # S2 is not a duplicate of 'S2\x00'
    assert stored.loc["S1", "description"] == "COTTON BAGS"
    assert stored.loc["S1", "x_note"] == "ab"
    assert stored.loc["S2", "description"] == "two\tcolumns"  # tab, newline and CR are kept
    quarantined = pd.read_csv(report.quarantine_file, dtype=str, keep_default_na=False)
    reasons = dict(zip(quarantined["source_row"], quarantined["reasons"], strict=True))
    assert reasons["3"] == "id: contains a control character 'S2\\x00'"
    assert reasons["4"] == "id: contains a control character 'S3\\x07X'"
    assert reasons["6"].startswith("id: contains a control character 'S4\\x00'; date: ")
    assert report.reasons_by_field["id"] == 3
