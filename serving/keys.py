"""API keys per member administration: shown once, stored only as hashes.

A key reads `rsk_<key id>_<secret>`. The file keeps, per key id, the member code, the SHA-256 of
the whole key (keys are 256-bit random, so a salted slow hash would add nothing), and dates.
Lookups compare hashes with `hmac.compare_digest`. Member "*" is a regional office (RILO):
every member's declarations.

`key_store(settings)` gives the key file of the state dir (`KeyStore`), or, when replicas share
a database (RISKSCORE_DATABASE_URL), its `api_keys` table (`SharedKeyStore`): a server reads
that again at most every `reload_seconds`, so a key revoked through any server or CLI is
refused by every server within `reload_seconds`.
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

from sqlalchemy import Boolean, Column, MetaData, Table, Text

from riskscore.database import SharedDatabase, locate
from riskscore.files import PRIVATE, atomic_write, make_private, writer_lock
from riskscore.private_db import PrivateDatabase
from riskscore.settings import Settings

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
        member = _member(member)
        secret = ""

        def add(keys: dict[str, ApiKey]) -> ApiKey:
            nonlocal secret
            key_id = secrets.token_hex(4)
            while key_id in keys:  # 32 random bits: a clash is rare, but must not replace a key
                key_id = secrets.token_hex(4)
            record, secret = _new_key(key_id, member, analyst)
            keys[key_id] = record
            return record

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

    def authenticate(self, presented: str | None, from_memory: bool = False) -> ApiKey | None:
        """The active key matching `presented`, or None. `from_memory`: from the keys read,
        never the file (after `in_memory` said they are current)."""
        key_id = _key_id(presented)
        if key_id is None:
            return None
        with self._lock:
            record = (self._keys if from_memory else self._load()).get(key_id)
        return _matching(record, presented)

    def in_memory(self) -> bool:
        """Whether `authenticate` can answer from the keys read, the file unchanged since: a
        stat, so the event loop may call it (reading the file is for the thread pool)."""
        try:
            stamp = _stamp(self.path.stat())
        except OSError:
            return False
        with self._lock:
            return stamp == self._stamp

    def close(self) -> None:
        """Nothing to close (the file is read when it changed); as SharedKeyStore.close."""


class SharedKeyStore(PrivateDatabase):
    """The keys in the `api_keys` table of the shared database, with the interface of KeyStore.

    `authenticate` answers from the keys read at most `reload_seconds` ago, so a request does
    not wait on the database; `create`, `list` and `revoke` go to the database. When the keys
    cannot be read, authenticate raises StorageError (503 naming the cause): a server that
    cannot see revocations does not accept keys.
    """

    what = "the API keys in"

    def __init__(self, location: SharedDatabase, reload_seconds: float = 30.0) -> None:
        super().__init__(location)
        self.reload_seconds = max(reload_seconds, 0.0)
        self._cache: dict[str, ApiKey] = {}
        self._due = 0.0  # monotonic time of the next read of the table
        self._cache_lock = threading.Lock()

    def _create(self) -> None:
        _table().create(self._db.sa, checkfirst=True)

    def create(self, member: str, analyst: bool = False) -> tuple[ApiKey, str]:
        """A new key for `member`, as KeyStore.create."""
        member = _member(member)
        with self._lock, self._transaction("store a new API key in"):
            while True:  # a key id another key has (32 random bits: rarely) is drawn again
                record, secret = _new_key(secrets.token_hex(4), member, analyst)
                if self._db.execute(_INSERT, asdict(record)).rowcount:
                    break
        self._due = 0.0  # this server sees its own change at once
        return record, secret

    def list(self) -> list[ApiKey]:
        return sorted(self._all(), key=lambda k: k.created_at)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke `key_id` (KeyError if there is none); revoking twice keeps the first date."""
        with self._lock, self._transaction("revoke an API key in", "nothing was changed"):
            self._db.execute(
                "UPDATE api_keys SET revoked_at = :now WHERE key_id = :key_id "
                "AND revoked_at IS NULL",
                {"now": _now(), "key_id": key_id},
            )
            row = self._db.execute(f"{_SELECT} WHERE key_id = :key_id", {"key_id": key_id})
            found = row.fetchone()
        if found is None:
            raise KeyError(key_id)
        self._due = 0.0
        return _from_row(found)

    def authenticate(self, presented: str | None, from_memory: bool = False) -> ApiKey | None:
        """The active key matching `presented`, or None; StorageError when the keys are due
        to be read again and cannot be. `from_memory`: from the keys read, never the database
        (after `in_memory` said they are current)."""
        key_id = _key_id(presented)
        if key_id is None:
            return None
        return _matching((self._cache if from_memory else self._keys()).get(key_id), presented)

    def in_memory(self) -> bool:
        """Whether `authenticate` can answer from the keys read, without the database."""
        return time.monotonic() < self._due

    def _keys(self) -> dict[str, ApiKey]:
        """The keys read at most reload_seconds ago (reload_seconds 0: read on every use)."""
        if time.monotonic() >= self._due:
            with self._cache_lock:
                if time.monotonic() >= self._due:  # no other thread read them meanwhile
                    started = time.monotonic()
                    self._cache = {k.key_id: k for k in self._all()}
                    self._due = started + self.reload_seconds
        return self._cache

    def _all(self) -> list[ApiKey]:
        return [_from_row(row) for row in self._read(_SELECT)]


_COLUMNS = ("key_id", "member", "sha256", "created_at", "revoked_at", "analyst")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM api_keys"
_INSERT = (
    f"INSERT INTO api_keys ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) ON CONFLICT (key_id) DO NOTHING"
)


def _table() -> Table:
    return Table(
        "api_keys",
        MetaData(),
        Column("key_id", Text, primary_key=True),
        Column("member", Text, nullable=False),
        Column("sha256", Text, nullable=False),
        Column("created_at", Text, nullable=False),
        Column("revoked_at", Text),
        Column("analyst", Boolean, nullable=False),
    )


def _from_row(row: tuple) -> ApiKey:
    return ApiKey(*row[:5], analyst=bool(row[5]))  # SQLite answers 0 or 1


def key_store(settings: Settings) -> KeyStore | SharedKeyStore:
    """The API keys of `settings`: the shared database's when there is one, else the file."""
    shared = locate(settings).shared
    if shared is not None:
        return SharedKeyStore(shared, settings.reload_seconds)
    return KeyStore(settings.keys_file)


def _member(member: str) -> str:
    member = member.strip().upper() if member.strip() != ALL_MEMBERS else ALL_MEMBERS
    if not member:
        raise ValueError("a member code is required (e.g. GB, or * for a regional office)")
    return member


def _new_key(key_id: str, member: str, analyst: bool) -> tuple[ApiKey, str]:
    secret = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return ApiKey(key_id, member, _digest(secret), _now(), analyst=analyst), secret


def _key_id(presented: str | None) -> str | None:
    """The key id of a presented key (rsk_<id>_<secret>), or None for anything else."""
    if not presented or not presented.startswith(f"{_PREFIX}_"):
        return None
    parts = presented.split("_", 2)
    return parts[1] if len(parts) == 3 else None


def _matching(record: ApiKey | None, presented: str | None) -> ApiKey | None:
    if record is None or not record.active or presented is None:
        return None
    return record if hmac.compare_digest(record.sha256, _digest(presented)) else None


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
