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
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ALL_MEMBERS = "*"
_PREFIX = "rsk"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    member: str
    sha256: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may_act_for(self, member: str | None) -> bool:
        """Whether this key may score or report for `member` (a reporting country code)."""
        return self.member == ALL_MEMBERS or member is None or member == self.member


class KeyStore:
    """The key file; reloaded when it changes on disk, so `riskscore keys` acts at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, ApiKey] = {}

    def _load(self) -> dict[str, ApiKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._keys, self._stamp = {}, None
            return self._keys
        # Saves replace the file, so its inode changes even when two land in one mtime tick.
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            data = json.loads(self.path.read_text())
            self._keys = {k["key_id"]: ApiKey(**k) for k in data.get("keys", [])}
            self._stamp = stamp
        return self._keys

    def _save(self, keys: dict[str, ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"keys": [asdict(k) for k in keys.values()]}, indent=2))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def create(self, member: str) -> tuple[ApiKey, str]:
        """A new key for `member`; returns the record and the key, which is never stored."""
        member = member.strip().upper() if member.strip() != ALL_MEMBERS else ALL_MEMBERS
        if not member:
            raise ValueError("a member code is required (e.g. GB, or * for a regional office)")
        key_id = secrets.token_hex(4)
        secret = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(
            key_id=key_id,
            member=member,
            sha256=_digest(secret),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        with self._lock:
            keys = dict(self._load())
            keys[key_id] = record
            self._save(keys)
        return record, secret

    def list(self) -> list[ApiKey]:
        with self._lock:
            return sorted(self._load().values(), key=lambda k: k.created_at)

    def revoke(self, key_id: str) -> ApiKey:
        with self._lock:
            keys = dict(self._load())
            if key_id not in keys:
                raise KeyError(key_id)
            record = keys[key_id]
            if record.active:
                record = ApiKey(**(asdict(record) | {"revoked_at": _now()}))
                keys[key_id] = record
                self._save(keys)
            return record

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


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
