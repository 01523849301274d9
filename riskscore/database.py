"""Where the service state lives, and the SQLAlchemy engines that reach it.

A store lives in its own private SQLite file in the state dir (the embedded default), or, when
RISKSCORE_DATABASE_URL is set, in the one database that every replica shares (PostgreSQL;
a sqlite:/// URL works too, for one machine). Both are reached through SQLAlchemy Core, so a
store has one code path: `Connection.execute` takes dialect-neutral SQL with :named
parameters (INSERT .. ON CONFLICT works in both).

Connections run in the driver's autocommit mode and the stores spell their transactions out
(BEGIN IMMEDIATE or BEGIN .. COMMIT, see private_db): SQLAlchemy's pysqlite recipe, as Python's
sqlite3 would otherwise begin transactions on its own, and too late to take the write lock.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import sqlalchemy
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, CursorResult, Engine, make_url
from sqlalchemy.pool import NullPool

from riskscore.redact import redact
from riskscore.settings import Settings

POSTGRESQL = "postgresql+psycopg"  # psycopg 3; a bare postgresql:// would mean psycopg2
CONNECT_TIMEOUT = 10  # seconds to reach PostgreSQL before a request is answered 503
_POSTGRES = ("postgresql", "postgres")  # postgres:// as some hosting services spell it
_DIALECTS = ("sqlite", *_POSTGRES)


@dataclass(frozen=True)
class SharedDatabase:
    """The database replicas share (RISKSCORE_DATABASE_URL); printed without credentials."""

    url: str = field(repr=False)

    def __post_init__(self) -> None:
        try:
            dialect = make_url(self.url).get_backend_name()
        except sa_exc.ArgumentError:
            raise ValueError(f"RISKSCORE_DATABASE_URL {self}: not a database URL") from None
        if dialect not in _DIALECTS:
            raise ValueError(
                f"RISKSCORE_DATABASE_URL {self}: {dialect} is not supported "
                "(postgresql://HOST/DB with the user and password in the URL, or sqlite:///PATH)"
            )

    def __str__(self) -> str:
        return redact(self.url) or ""

    def __repr__(self) -> str:
        return f"SharedDatabase({self})"


Location = Path | SharedDatabase
"""A store's own SQLite file, or the shared database."""


@dataclass(frozen=True)
class StateLocations:
    """Where each store of the service state lives, for one Settings."""

    shared: SharedDatabase | None  # also API keys and the audit trail, when set
    outcomes: Location
    alerts: Location
    selections: Location


def locate(settings: Settings) -> StateLocations:
    """The shared database for every store when RISKSCORE_DATABASE_URL is set, else each
    store's file in the state dir."""
    if settings.database_url:
        shared = SharedDatabase(settings.database_url)
        return StateLocations(shared, shared, shared, shared)
    return StateLocations(None, settings.outcomes_db, settings.alerts_db, settings.selections_db)


def exists(location: Location) -> bool:
    """Whether a reader will find the store (the shared database always has its tables made
    on first use; a file may never have been written)."""
    return isinstance(location, SharedDatabase) or Path(location).exists()


def engine_url(location: Location) -> URL:
    if isinstance(location, SharedDatabase):
        url = make_url(location.url)
        if url.get_backend_name() in _POSTGRES:
            url = url.set(drivername=POSTGRESQL)
        return url
    return URL.create("sqlite", database=str(location))


def sqlite_file(location: Location) -> Path | None:
    """The file of a SQLite store (None in memory or in PostgreSQL)."""
    url = engine_url(location)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def engine(location: Location, timeout: float) -> Engine:
    """SQLite: an engine of its own per store, whose one connection the store keeps (NullPool:
    closing it closes the file). PostgreSQL: one pooled engine per URL for the process, its
    connections checked (pre-ping) before use, so a restarted server costs no request."""
    url = engine_url(location)
    if url.get_backend_name() == "sqlite":
        return sqlalchemy.create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"timeout": timeout, "check_same_thread": False},
        )
    return _pooled(url.render_as_string(hide_password=False), timeout)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _pooled(url: str, timeout: float) -> Engine:
    with _engines_lock:
        if url not in _engines:
            _engines[url] = sqlalchemy.create_engine(
                url,
                isolation_level="AUTOCOMMIT",
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=10,
                pool_timeout=timeout,
                connect_args={"connect_timeout": CONNECT_TIMEOUT},
            )
        return _engines[url]


def dispose(location: Location) -> None:
    """Close the pooled connections to `location`'s database (tests that drop it)."""
    url = engine_url(location).render_as_string(hide_password=False)
    with _engines_lock:
        pooled = _engines.pop(url, None)
    if pooled is not None:
        pooled.dispose()


@lru_cache(maxsize=256)
def _text(sql: str) -> sqlalchemy.TextClause:
    return sqlalchemy.text(sql)


class Connection:
    """One connection of an engine, in the driver's autocommit mode: the store issues BEGIN,
    COMMIT and ROLLBACK itself, as statements."""

    def __init__(self, engine: Engine) -> None:
        self._conn = engine.connect()
        self.dialect = engine.dialect.name

    @property
    def sa(self) -> sqlalchemy.Connection:
        """The SQLAlchemy connection (DDL and inspection)."""
        return self._conn

    def execute(
        self, sql: str, params: Mapping[str, object] | Sequence[Mapping[str, object]] | None = None
    ) -> CursorResult:
        """Run `sql` (:name parameters); a list of parameter sets runs it once for each."""
        return self._conn.execute(_text(sql), params)

    @property
    def in_transaction(self) -> bool:
        """Whether the database holds a transaction open on this connection."""
        if self._conn.invalidated or self._conn.closed:
            return False
        raw = self._conn.connection.dbapi_connection
        if raw is None:
            return False
        if self.dialect == "sqlite":
            return bool(raw.in_transaction)
        return int(raw.info.transaction_status) != 0  # psycopg: 0 is IDLE

    def close(self) -> None:
        """Give the connection back; one still in a transaction is discarded, not reused."""
        if self.in_transaction:
            self._conn.invalidate()
        self._conn.close()


FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    sqlite3.DatabaseError,  # the driver's own, where it reaches a store unwrapped
    sa_exc.DBAPIError,  # what the driver raised (full disk, server down, constraint), wrapped
    sa_exc.TimeoutError,  # no pooled connection free in time
)


def cause(exc: BaseException) -> str:
    """One line saying why: SQLite's message ('database or disk is full'), the OS's ('No
    space left on device') or PostgreSQL's ('connection refused'); no credentials."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    elif isinstance(exc, sa_exc.SQLAlchemyError):
        text = str(exc).split(" (Background on this error at:")[0]
    else:
        text = str(exc)
    return redact(" ".join(text.split())) or type(exc).__name__


def lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64 bits) for `name`."""
    digest = hashlib.sha256(f"riskscore:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
