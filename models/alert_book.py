"""The alert book: analysts' alerts, watch lists and the declarations alerts selected (SQLite,
or the shared database of the replicas).

Every add, change and expiry of an alert, and every save of a watch list, is kept in a history
with who did it and when, and moves `revision()` on, so a server polls one integer and rebuilds
its `Matcher` only when it moved. The book may be written by a CLI while servers read it;
writes are one at a time (SQLite's write lock, BEGIN IMMEDIATE; an advisory lock in
PostgreSQL) and wait for another writer up to `timeout`. A write the database refuses raises
StorageError naming it, after the whole change was rolled back. In the shared database, whose
tables the selection log shares, the book's `selections` and `meta` are `alert_selections` and
`alert_meta`; a SQLite file keeps its own names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Column, Integer, MetaData, PrimaryKeyConstraint, Table, Text

from riskscore.database import Location
from riskscore.models.alerts import (
    Alert,
    AlertError,
    WatchList,
    check_list_name,
    check_watchlists,
)
from riskscore.private_db import PrivateDatabase

SHARED_NAMES = {"selections": "alert_selections", "meta": "alert_meta"}


def _schema(names: Mapping[str, str]) -> MetaData:
    """The book's tables; `names` renames some (in the shared database)."""
    schema = MetaData()
    Table(
        "alerts",
        schema,
        Column("number", Integer, primary_key=True, autoincrement=False),
        Column("id", Text, nullable=False, unique=True),
        Column("criteria", Text, nullable=False),
        Column("channel", Text, nullable=False),
        Column("message", Text, nullable=False),
        Column("author", Text, nullable=False),
        Column("valid_from", Text),
        Column("valid_until", Text),
        Column("created_at", Text, nullable=False),
        Column("expired_at", Text),
    )
    Table(
        "alert_history",
        schema,
        Column("seq", Integer, primary_key=True),
        Column("alert_id", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("who", Text, nullable=False),
        Column("at", Text, nullable=False),
        Column("alert", Text, nullable=False),
        sqlite_autoincrement=True,
    )
    Table(
        "watchlists",
        schema,
        Column("name", Text, primary_key=True),
        Column("kind", Text, nullable=False),
        Column("entries", Text, nullable=False),
        Column("author", Text, nullable=False),
        Column("loaded_at", Text, nullable=False),
        Column("source_file", Text, nullable=False),
    )
    Table(
        "watchlist_history",
        schema,
        Column("seq", Integer, primary_key=True),
        Column("name", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("who", Text, nullable=False),
        Column("at", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("size", Integer, nullable=False),
        Column("source_file", Text, nullable=False),
        Column("entries", Text, nullable=False),
        sqlite_autoincrement=True,
    )
    Table(
        names["selections"],
        schema,
        Column("alert_id", Text, nullable=False),
        Column("declaration_id", Text, nullable=False),
        Column("member", Text, nullable=False),
        Column("declaration_date", Text),
        Column("channel", Text),
        Column("model_version", Text),
        Column("scored_at", Text, nullable=False),
        PrimaryKeyConstraint("alert_id", "member", "declaration_id"),
    )
    Table(
        names["meta"],
        schema,
        Column("key", Text, primary_key=True),
        Column("value", Integer, nullable=False),
    )
    return schema


_ALERT_FIELDS = (
    "id", "criteria", "channel", "message", "author",
    "valid_from", "valid_until", "created_at", "expired_at",
)  # fmt: skip
_ALERT_COLUMNS = ", ".join(_ALERT_FIELDS)
SELECTION_COLUMNS = (
    "alert_id",
    "declaration_id",
    "member",
    "declaration_date",
    "channel",
    "model_version",
    "scored_at",
)
CHANGEABLE = ("message", "channel", "valid_until")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stamp(when: datetime | str | None) -> str:
    if when is None:
        return _now()
    return when.isoformat(timespec="seconds") if isinstance(when, datetime) else str(when)


def _alert(row: tuple) -> Alert:
    criteria = {k: tuple(v) for k, v in json.loads(row[1]).items()}
    return Alert(row[0], criteria, *row[2:])


class AlertBook(PrivateDatabase):
    """Alerts, watch lists, their history and the selections, in one SQLite file or in the
    shared database.

    A book may be shared by threads. Two books (two processes, two servers) on one database
    see each other's committed changes.
    """

    what = "the alert book"
    exclusive_writes = True  # alerts are numbered from the highest one stored

    def __init__(self, location: Location | str, timeout: float = 30.0) -> None:
        shared = not isinstance(location, str | Path)
        names = {name: SHARED_NAMES[name] if shared else name for name in SHARED_NAMES}
        self._selections, self._meta = names["selections"], names["meta"]
        super().__init__(location, timeout)

    def _create(self) -> None:
        _schema({"selections": self._selections, "meta": self._meta}).create_all(self._db.sa)

    def _bump(self) -> None:
        self._db.execute(
            f"INSERT INTO {self._meta} (key, value) VALUES ('revision', 1) "
            f"ON CONFLICT (key) DO UPDATE SET value = {self._meta}.value + 1"
        )

    def _record(self, alert: Alert, action: str, who: str, at: str) -> None:
        self._db.execute(
            "INSERT INTO alert_history (alert_id, action, who, at, alert) "
            "VALUES (:alert_id, :action, :who, :at, :alert)",
            {
                "alert_id": alert.id,
                "action": action,
                "who": who,
                "at": at,
                "alert": json.dumps(alert.to_dict()),
            },
        )
        self._bump()

    def _get(self, alert_id: str) -> Alert:
        row = self._db.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = :id", {"id": alert_id}
        ).fetchone()
        if row is None:
            raise AlertError(f"no alert {alert_id!r}")
        return _alert(row)

    def _kinds(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT name, kind FROM watchlists").fetchall())

    # ---- alerts ---------------------------------------------------------------------------

    def add(
        self,
        criteria: Mapping[str, object],
        channel: str,
        message: str,
        *,
        author: str,
        valid_from: date | str | None = None,
        valid_until: date | str | None = None,
    ) -> Alert:
        """A new alert, numbered A0001, A0002, ...; AlertError when it is invalid or names a
        watch list that does not exist (nothing is stored then)."""
        now = _now()
        with self._lock, self._transaction("add an alert to"):
            last = self._db.execute("SELECT MAX(number) FROM alerts").fetchone()[0] or 0
            alert = Alert(
                id=f"A{last + 1:04d}",
                criteria=dict(criteria),  # type: ignore[arg-type] - validated by Alert
                channel=channel,
                message=message,
                author=author,
                valid_from=valid_from,  # type: ignore[arg-type]
                valid_until=valid_until,  # type: ignore[arg-type]
                created_at=now,
            )
            check_watchlists(alert, self._kinds())
            self._db.execute(
                f"INSERT INTO alerts (number, {_ALERT_COLUMNS}) "
                f"VALUES (:number, {', '.join(':' + c for c in _ALERT_FIELDS)})",
                {"number": last + 1, **self._row(alert)},
            )
            self._record(alert, "add", alert.author, now)
        return alert

    @staticmethod
    def _row(alert: Alert) -> dict[str, object]:
        d = alert.to_dict()
        d["criteria"] = json.dumps(d["criteria"])
        return {c: d[c] for c in _ALERT_FIELDS}

    def _update(self, alert: Alert) -> None:
        sets = ", ".join(f"{c} = :{c}" for c in _ALERT_FIELDS[1:])
        self._db.execute(f"UPDATE alerts SET {sets} WHERE id = :id", self._row(alert))

    def expire(self, alert_id: str, who: str, when: datetime | str | None = None) -> Alert:
        """Withdraw an alert: from now on it matches nothing (AlertError if unknown/expired)."""
        at = _stamp(when)
        with self._lock, self._transaction("expire an alert in"):
            alert = self._get(alert_id)
            if alert.expired:
                raise AlertError(f"alert {alert_id} expired already at {alert.expired_at}")
            alert = replace(alert, expired_at=at)
            self._update(alert)
            self._record(alert, "expire", _who(who), _now())
        return alert

    def change(self, alert_id: str, who: str, **fields: object) -> Alert:
        """Change an alert's message, channel or valid_until (validated as on creation)."""
        unknown = sorted(set(fields) - set(CHANGEABLE))
        if unknown:
            raise AlertError(f"cannot change {', '.join(unknown)}: only {', '.join(CHANGEABLE)}")
        with self._lock, self._transaction("change an alert in"):
            before = self._get(alert_id)
            if before.expired:
                raise AlertError(f"alert {alert_id} expired at {before.expired_at}")
            alert = replace(before, **fields)  # type: ignore[arg-type]
            if alert != before:
                self._update(alert)
                self._record(alert, "change", _who(who), _now())
        return alert

    def get(self, alert_id: str) -> Alert:
        rows = self._read(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = :id", {"id": alert_id})
        if not rows:
            raise AlertError(f"no alert {alert_id!r}")
        return _alert(rows[0])

    def history(self, alert_id: str | None = None) -> list[dict]:
        """Every add / change / expire, oldest first: seq, alert_id, action, who, at, alert."""
        where, args = ("WHERE alert_id = :id", {"id": alert_id}) if alert_id else ("", None)
        rows = self._read(
            f"SELECT seq, alert_id, action, who, at, alert FROM alert_history {where} ORDER BY seq",
            args,
        )
        keys = ("seq", "alert_id", "action", "who", "at")
        return [dict(zip(keys, r[:5], strict=True), alert=json.loads(r[5])) for r in rows]

    def revision(self) -> int:
        """A counter moved on by every change of alerts or watch lists (cheap to poll)."""
        rows = self._read(f"SELECT value FROM {self._meta} WHERE key = 'revision'")
        return int(rows[0][0]) if rows else 0

    # ---- watch lists ----------------------------------------------------------------------

    def save_watchlist(self, watchlist: WatchList, who: str) -> WatchList:
        """Store a watch list, replacing the one of that name; refused (AlertError) when a
        live alert uses the name with a criterion the new kind does not fit."""
        stored = replace(watchlist, author=_who(who))
        entries = json.dumps(sorted(stored.entries))
        with self._lock, self._transaction("save a watch list in"):
            kinds = self._kinds()
            action = "replace" if stored.name in kinds else "create"
            kinds[stored.name] = stored.kind
            for row in self._db.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE expired_at IS NULL"
            ).fetchall():
                alert = _alert(row)
                if stored.name in alert.watchlists_used():
                    try:
                        check_watchlists(alert, kinds)
                    except AlertError as exc:
                        raise AlertError(f"alert {alert.id}: {exc}") from None
            row = {
                "name": stored.name,
                "kind": stored.kind,
                "entries": entries,
                "author": stored.author,
                "loaded_at": stored.loaded_at,
                "source_file": stored.source_file,
            }
            self._db.execute(
                "INSERT INTO watchlists (name, kind, entries, author, loaded_at, source_file) "
                "VALUES (:name, :kind, :entries, :author, :loaded_at, :source_file) "
                "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, "
                "entries = excluded.entries, author = excluded.author, "
                "loaded_at = excluded.loaded_at, source_file = excluded.source_file",
                row,
            )
            self._db.execute(
                "INSERT INTO watchlist_history "
                "(name, action, who, at, kind, size, source_file, entries) "
                "VALUES (:name, :action, :who, :at, :kind, :size, :source_file, :entries)",
                row
                | {
                    "action": action,
                    "who": stored.author,
                    "at": _now(),
                    "size": len(stored.entries),
                },
            )
            self._bump()
        return stored

    def watchlists(self) -> dict[str, WatchList]:
        rows = self._read(
            "SELECT name, kind, entries, source_file, loaded_at, author FROM watchlists"
        )
        return {
            r[0]: WatchList(r[0], r[1], frozenset(json.loads(r[2])), r[3], r[4], r[5]) for r in rows
        }

    def watchlist_history(self, name: str | None = None) -> list[dict]:
        """Every save of a watch list, oldest first (without the entries)."""
        if name is not None:
            check_list_name(name)
        where, args = ("WHERE name = :name", {"name": name}) if name else ("", None)
        rows = self._read(
            "SELECT seq, name, action, who, at, kind, size, source_file "
            f"FROM watchlist_history {where} ORDER BY seq",
            args,
        )
        keys = ("seq", "name", "action", "who", "at", "kind", "size", "source_file")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # ---- selections -----------------------------------------------------------------------

    def record_selections(self, rows: list[dict]) -> int:
        """Store which declarations alerts selected; a declaration already stored under the
        same alert (and member) is kept once. Returns how many rows were new."""
        now = _now()
        values = []
        for row in rows:
            missing = [k for k in ("alert_id", "declaration_id") if not row.get(k)]
            if missing:
                raise AlertError(f"selection without {', '.join(missing)}: {row!r}")
            record = {**row, "member": row.get("member") or ""}
            record["scored_at"] = _stamp(row.get("scored_at") or now)
            day = _text(row.get("declaration_date"))
            record["declaration_date"] = day[:10] if day else None  # a day, not a time
            values.append({c: _text(record.get(c)) for c in SELECTION_COLUMNS})
        if not values:
            return 0
        with self._lock, self._transaction("record selections in"):
            return self._db.execute(
                f"INSERT INTO {self._selections} ({', '.join(SELECTION_COLUMNS)}) "
                f"VALUES ({', '.join(':' + c for c in SELECTION_COLUMNS)}) "
                "ON CONFLICT (alert_id, member, declaration_id) DO NOTHING",
                values,
            ).rowcount

    def selections(self, alert_id: str | None = None) -> pd.DataFrame:
        where, args = ("WHERE alert_id = :id", {"id": alert_id}) if alert_id else ("", None)
        rows = self._read(
            f"SELECT {', '.join(SELECTION_COLUMNS)} FROM {self._selections} {where} "
            "ORDER BY scored_at, alert_id, member, declaration_id",
            args,
        )
        return pd.DataFrame(rows, columns=list(SELECTION_COLUMNS))

    def hit_rates(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """Per alert: selections, outcomes known, hits (illicit) and hit_rate (hits / known,
        NaN while none is known). `outcomes`: declaration_id, member, illicit."""
        keys = ["member", "declaration_id"]
        known = outcomes[[*keys, "illicit"]].astype({"member": str, "declaration_id": str})
        known = known.drop_duplicates(keys, keep="last")
        merged = self.selections().merge(known, on=keys, how="left")
        merged["hit"] = merged["illicit"].fillna(0).astype(int) == 1
        ids = [a.id for a in self.list()]
        ids += sorted(set(merged["alert_id"]) - set(ids))  # selections of unknown alerts too
        counts = merged.groupby("alert_id").agg(
            selections=("declaration_id", "size"),
            outcomes_known=("illicit", "count"),
            hits=("hit", "sum"),
        )
        table = counts.reindex(ids, fill_value=0).astype("int64")
        table["hit_rate"] = table["hits"] / table["outcomes_known"].where(
            table["outcomes_known"] > 0
        )
        return table.rename_axis("alert_id").reset_index()

    def list(self, active_only: bool = False, today: date | str | None = None) -> list[Alert]:
        """Alerts in creation order; `active_only`: not expired and not ended before today.

        Last in the class: below it, `list` in the class body would name this method."""
        rows = self._read(f"SELECT {_ALERT_COLUMNS} FROM alerts ORDER BY number")
        alerts = [_alert(r) for r in rows]
        return [a for a in alerts if a.active(today)] if active_only else alerts


def selection_rows(
    ids: Iterable[object],
    channels: Iterable[str],
    alerts: Iterable[Iterable[str]],
    members: Iterable[str | None],
    dates: Iterable[object],
    model_version: str | None,
) -> list[dict]:
    """The rows `AlertBook.record_selections` takes: one per declaration and alert it matched
    (`alerts`: each declaration's alert ids), with its member, date and the channel given."""
    return [
        {
            "alert_id": alert_id,
            "declaration_id": str(declaration_id),
            "member": member,
            "declaration_date": day,
            "channel": channel,
            "model_version": model_version,
        }
        for declaration_id, channel, found, member, day in zip(
            ids, channels, alerts, members, dates, strict=True
        )
        for alert_id in found
    ]


def _who(who: str) -> str:
    text = str(who or "").strip()
    if not text:
        raise AlertError("who: must not be empty")
    return text


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


__all__ = ["CHANGEABLE", "SELECTION_COLUMNS", "AlertBook", "selection_rows"]
