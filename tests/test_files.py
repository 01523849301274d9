"""riskscore.files and riskscore.redact: the safe writes every state file goes through."""

from __future__ import annotations

import errno
import os
import threading

import pytest

from riskscore.files import PRIVATE, StorageError, atomic_write, make_private, writer_lock
from riskscore.redact import redact


def test_atomic_write_replaces_whole_and_private(tmp_path):
    target = tmp_path / "sub" / "state.json"
    atomic_write(target, "old", mode=PRIVATE)
    atomic_write(target, b"new", mode=PRIVATE)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == PRIVATE
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_full_disk_keeps_the_old_file_and_names_it(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    atomic_write(target, "kept")

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StorageError) as caught:
        atomic_write(target, "lost")
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    monkeypatch.undo()
    assert target.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_lock_held_too_long_is_one_error_naming_it(tmp_path):
    lock = tmp_path / ".writer.lock"
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with writer_lock(lock):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    try:
        refused = pytest.raises(StorageError, match=r"another writer holds .*lock \(a test\)")
        with refused, writer_lock(lock, timeout=0.2, what="a test"):
            pass
    finally:
        release.set()
        thread.join()
    with writer_lock(lock, timeout=1):  # free again once the holder left
        pass


def test_make_private_narrows_an_old_file(tmp_path):
    old = tmp_path / "audit.jsonl"
    old.write_text("x")
    os.chmod(old, 0o644)
    make_private(old)
    make_private(tmp_path / "missing")  # nothing to narrow: no error
    assert old.stat().st_mode & 0o777 == PRIVATE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://user:pw@host:5000/x", "http://***@host:5000/x"),
        ("a postgresql+psycopg://u:p@db/x; b", "a postgresql+psycopg://***@db/x; b"),
        ("sqlite:///var/mlflow.db", "sqlite:///var/mlflow.db"),
        ("no url here: a@b", "no url here: a@b"),
        (
            "postgresql://db/x?user=u&password=s3cret&sslmode=require",
            "postgresql://db/x?user=u&password=***&sslmode=require",
        ),
        ("host=db user=u password=s3cret dbname=x", "host=db user=u password=*** dbname=x"),
        ("the password is wrong", "the password is wrong"),
        (None, None),
    ],
)
def test_redact_hides_url_user_info_and_passwords_only(text, expected):
    assert redact(text) == expected
