"""Key administration from several processes at once: no key and no revocation is lost."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from riskscore.files import describe
from riskscore.serving import keys as keys_module
from riskscore.serving.keys import KeyStore

WRITERS = 8


def _create(path: str, member: str, start: float) -> None:
    time.sleep(max(0.0, start - time.time()))  # line the processes up on one instant
    KeyStore(Path(path)).create(member)


def _revoke(path: str, key_id: str, start: float) -> None:
    time.sleep(max(0.0, start - time.time()))
    KeyStore(Path(path)).revoke(key_id)


def _run(targets: list[tuple]) -> None:
    context = multiprocessing.get_context("spawn")  # no fork: a clean interpreter per writer
    processes = [context.Process(target=t, args=a) for t, *a in targets]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        assert p.exitcode == 0


def _start() -> float:
    return time.time() + 2.0  # spawn takes about a second per interpreter on a busy machine


def test_concurrent_creates_keep_every_key(tmp_path):
    path = tmp_path / "api-keys.json"
    start = _start()
    _run([(_create, str(path), f"M{i}", start) for i in range(WRITERS)])
    keys = json.loads(path.read_text())["keys"]
    assert sorted(k["member"] for k in keys) == sorted(f"M{i}" for i in range(WRITERS))


@pytest.mark.parametrize("round_", range(3))
def test_a_revocation_racing_creates_holds(tmp_path, round_):
    path = tmp_path / "api-keys.json"
    store = KeyStore(path)
    victim, secret = store.create("GB")
    start = _start()
    creates = [(_create, str(path), "FR", start) for _ in range(3)]
    _run([*creates, (_revoke, str(path), victim.key_id, start)])
    fresh = KeyStore(path)
    assert not {k.key_id: k for k in fresh.list()}[victim.key_id].active
    assert len(fresh.list()) == 4
    assert fresh.authenticate(secret) is None
    assert store.authenticate(secret) is None  # the long-lived store sees it too


def test_the_key_file_is_private_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "var" / "api-keys.json"
    old = os.umask(0o022)
    try:
        KeyStore(path).create("GB")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_an_existing_world_readable_key_file_is_narrowed(tmp_path):
    path = tmp_path / "api-keys.json"
    KeyStore(path).create("GB")
    os.chmod(path, 0o644)
    KeyStore(path).list()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_change_in_the_same_clock_tick_is_not_missed(tmp_path):
    """A save that keeps inode, size and mtime (possible with a coarse clock and a reused
    inode) must still be seen by a long-lived store."""
    path = tmp_path / "api-keys.json"
    store = KeyStore(path)
    record, secret = store.create("GB")
    assert store.authenticate(secret) is not None
    before = path.stat()
    # Rewrite in place, same length and mtime: only the stored hash differs (the key changed).
    data = json.loads(path.read_text())
    digest = data["keys"][0]["sha256"]
    data["keys"][0]["sha256"] = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    with path.open("r+") as f:
        f.write(json.dumps(data, indent=2))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    assert store.authenticate(secret) is None


def test_riskscore_keys_commands_racing_lose_nothing(tmp_path):
    """The reported case: `riskscore keys create` runs while `riskscore keys revoke` does."""
    riskscore = Path(sys.executable).parent / "riskscore"
    if not riskscore.exists():
        pytest.skip(f"console script not installed at {riskscore}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKSCORE_")}
    env |= {"RISKSCORE_STATE_DIR": str(tmp_path / "var"), "COLUMNS": "2000"}
    victim, secret = KeyStore(tmp_path / "var" / "api-keys.json").create("GB")
    commands = [["keys", "create", "--member", "FR"]] * 5 + [["keys", "revoke", victim.key_id]]
    running = [
        subprocess.Popen(
            [str(riskscore), *c], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
        )
        for c in commands
    ]
    printed = [p.communicate(timeout=120)[0] for p in running]
    assert [p.returncode for p in running] == [0] * len(commands)
    assert printed[-1].startswith(f"revoked {victim.key_id}")
    fresh = KeyStore(tmp_path / "var" / "api-keys.json")
    assert len(fresh.list()) == 6 and fresh.authenticate(secret) is None
    created = {line.strip().split("_")[1] for line in printed[:-1]}
    assert created <= {k.key_id for k in fresh.list() if k.active} and len(created) == 5


@pytest.mark.parametrize("verb", ["create", "revoke"])
def test_a_key_change_the_disk_refuses_is_one_line_and_changes_nothing(
    invoke, tmp_path, monkeypatch, verb
):
    monkeypatch.delenv("RISKSCORE_STATE_DIR", raising=False)
    created = invoke("keys", "create", "--member", "GB")
    assert created.exit_code == 0, created.stderr
    store = KeyStore(tmp_path / "var" / "api-keys.json")
    (record,) = store.list()

    def full(path: Path, data: object, mode: int | None = None) -> None:
        raise describe(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), path)

    monkeypatch.setattr(keys_module, "atomic_write", full)
    args = ["revoke", record.key_id] if verb == "revoke" else ["create", "--member", "FR"]
    result = invoke("keys", *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], result.stderr
    assert "api-keys.json" in lines[0] and "revoked " not in result.stdout
    if verb == "revoke":
        assert lines[0].endswith(f"key {record.key_id} is NOT revoked")
    assert [(k.key_id, k.active) for k in KeyStore(store.path).list()] == [(record.key_id, True)]
