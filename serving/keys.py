"""API keys per member administration: shown once, stored only as hashes.

A key reads `rsk_<key id>_<secret>`. The file keeps, per key id, the member code, the SHA-256 of
the whole key (keys are 256-bit random, so a salted slow hash would add nothing), and dates.
Lookups compare hashes with `hmac.compare_digest`. Member "*" is a regional office (RILO):
every member's declarations.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from riskscore.files import PRIVATE, atomic_write, make_private, writer_lock

ALL_MEMBERS = "*"
_PREFIX = "rsk"
RACY_SECONDS = 2  # above the mtime granularity of any file system the state dir may be on


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    member: str
    sha256: str
    created_at: str
    revoked_at: str | None = None
    analyst: bool = False  # may add and expire alerts (POST /v1/alerts)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may_act_for(self, member: str | None) -> bool:
        """Whether this key may score or report for `member` (a reporting country code)."""
        return self.member == ALL_MEMBERS or member is None or member == self.member


class KeyStore:
    """The key file; reloaded when it changes on disk, so `riskscore keys` acts at once.

    Changes (create, revoke) hold an inter-process lock beside the file, re-read it from disk
    inside the lock and replace it atomically (0600), so that concurrent `riskscore keys`
    commands and servers never lose a key or a revocation.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, ApiKey] = {}
        make_private(path)  # key files written before this release were 0644

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _load(self) -> dict[str, ApiKey]:
        """The keys, read again when the file changed. Hold self._lock."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._keys, self._stamp = {}, None
            return self._keys
        # Saves replace the file (a new inode, mtime and size); a copy read soon after a change
        # keeps no stamp, so it is read again (see _read).
        if _stamp(stat) != self._stamp:
            self._read()
        return self._keys

    def _read(self) -> dict[str, ApiKey]:
        """Read the file now; the stamp is of the very file read (fstat of the open file)."""
        try:
            with self.path.open("rb") as f:
                stat = os.fstat(f.fileno())
                data = json.loads(f.read())
        except FileNotFoundError:
            self._keys, self._stamp = {}, None
            return self._keys
        self._keys = {k["key_id"]: ApiKey(**k) for k in data.get("keys", [])}
        # A file changed within the last RACY_SECONDS may change again in the same mtime tick
        # into a freed inode number with the same size: then its stamp would not tell, so
        # such a copy is read again until the file has been left alone that long.
        racy = time.time_ns() - stat.st_mtime_ns < RACY_SECONDS * 1_000_000_000
        self._stamp = None if racy else _stamp(stat)
        return self._keys

    def _change(self, edit: Callable[[dict[str, ApiKey]], ApiKey]) -> ApiKey:
        """Apply `edit` to the keys on disk and save, all under the file's writer lock."""
        with self._lock, writer_lock(self.lock_path, what="riskscore keys"):
            keys = dict(self._read())  # never the cached copy: another process may have saved
            before = dict(keys)
            record = edit(keys)
            if keys != before:
                payload = json.dumps({"keys": [asdict(k) for k in keys.values()]}, indent=2)
                atomic_write(self.path, payload, mode=PRIVATE)
                self._keys, self._stamp = keys, None
            return record

    def create(self, member: str, analyst: bool = False) -> tuple[ApiKey, str]:
        """A new key for `member` (with the analyst scope when asked); returns the record and
        the key, which is never stored."""
        member = member.strip().upper() if member.strip() != ALL_MEMBERS else ALL_MEMBERS
        if not member:
            raise ValueError("a member code is required (e.g. GB, or * for a regional office)")
        secret = ""

        def add(keys: dict[str, ApiKey]) -> ApiKey:
            nonlocal secret
            key_id = secrets.token_hex(4)
            while key_id in keys:  # 32 random bits: a clash is rare, but must not replace a key
                key_id = secrets.token_hex(4)
            secret = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
            keys[key_id] = ApiKey(key_id, member, _digest(secret), _now(), analyst=analyst)
            return keys[key_id]

        return self._change(add), secret

    def list(self) -> list[ApiKey]:
        with self._lock:
            return sorted(self._load().values(), key=lambda k: k.created_at)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke `key_id` (KeyError if there is none); revoking twice keeps the first date."""

        def revoked(keys: dict[str, ApiKey]) -> ApiKey:
            if key_id not in keys:
                raise KeyError(key_id)
            if keys[key_id].active:
                keys[key_id] = ApiKey(**(asdict(keys[key_id]) | {"revoked_at": _now()}))
            return keys[key_id]

        return self._change(revoked)

    def authenticate(self, presented: str | None) -> ApiKey | None:
        """The active key matching `presented`, or None."""
        if not presented or not presented.startswith(f"{_PREFIX}_"):
            return None
        parts = presented.split("_", 2)
        if len(parts) != 3:
            return None
        with self._lock:
            record = self._load().get(parts[1])
        if record is None or not record.active:
            return None
        return record if hmac.compare_digest(record.sha256, _digest(presented)) else None


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
