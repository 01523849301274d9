"""Selection records: how each scored declaration was selected for control, and how likely that was.

Every declaration scored (API or `riskscore score`) gets one record per member and declaration
id (the latest scoring wins: an amended declaration is scored again and the last answer is the
one acted on):

| selection | why | propensity | draw_share |
| --- | --- | --- | --- |
| red, yellow | the model's score | 1 | - |
| alert | an analyst's alert raised it from green or random | 1 | - |
| random | drawn from the green channel (TFA Art. 7.4.3) | the draw's share r | r |
| green | not selected | 0 | r |

`propensity` is the probability that this declaration is inspected given the rule it fell under.
`draw_share` says which random draw a green-by-score declaration stood in: the random stream is
a sample of share r of those declarations, which is what makes unbiased estimates possible
(models.selection_estimates). An outcome on a green declaration comes from outside the policy
(an officer's own choice, a post-clearance audit): it is counted, never weighted.

Stored in `$RISKSCORE_STATE_DIR/selections.sqlite` (private, WAL), or in the `selections` table
of the database the replicas share (RISKSCORE_DATABASE_URL). The scoring service writes
through a background thread (serving.selection_writer), so a request does not wait on the disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Column, Float, MetaData, PrimaryKeyConstraint, Table, Text

from riskscore.database import Location, exists
from riskscore.private_db import PrivateDatabase

COLUMNS = (
    "member",
    "declaration_id",
    "declaration_date",
    "scored_at",
    "source",
    "model_version",
    "state_version",
    "raw_score",
    "score",
    "channel",
    "model_channel",
    "selection",
    "propensity",
    "draw_share",
)
SELECTED = ("red", "yellow", "alert", "random")
BY_RULE = ("red", "yellow", "alert")  # propensity 1


def selection_of(model_channel: str, channel: str, draw_share: float) -> tuple[str, float]:
    """(selection, propensity) of one declaration from the model's channel and the one given."""
    if model_channel in ("red", "yellow"):
        return model_channel, 1.0
    if channel in ("red", "yellow"):  # raised by an alert
        return "alert", 1.0
    if model_channel == "random":
        return "random", draw_share
    return "green", 0.0


def selection_records(
    results: Sequence[dict],
    members: Iterable[object],
    dates: Iterable[object],
    *,
    model_version: str | None,
    state_version: str | None,
    draw_share: float,
    source: str,
) -> list[tuple]:
    """Rows for `SelectionLog.record` from scoring answers (id, score, raw_score, channel and,
    when an alert raised it, model_channel), with each declaration's member and date."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    rows = []
    # Plain lists: iterating pandas Series row by row costs more than the rest of this loop.
    for answer, member, day in zip(results, list(members), list(dates), strict=True):
        channel = str(answer["channel"])
        model_channel = str(answer.get("model_channel") or channel)
        selection, propensity = selection_of(model_channel, channel, draw_share)
        rows.append(
            (
                _text(member) or "",
                str(answer["id"]),
                _day(day),
                now,
                source,
                model_version,
                state_version,
                float(answer["raw_score"]),
                float(answer["score"]),
                channel,
                model_channel,
                selection,
                propensity,
                draw_share if selection in ("random", "green") else None,
            )
        )
    return rows


def _table() -> Table:
    return Table(
        "selections",
        MetaData(),
        Column("member", Text, nullable=False),
        Column("declaration_id", Text, nullable=False),
        Column("declaration_date", Text),
        Column("scored_at", Text, nullable=False),
        Column("source", Text),
        Column("model_version", Text),
        Column("state_version", Text),
        Column("raw_score", Float),
        Column("score", Float),
        Column("channel", Text),
        Column("model_channel", Text),
        Column("selection", Text, nullable=False),
        Column("propensity", Float, nullable=False),
        Column("draw_share", Float),
        PrimaryKeyConstraint("member", "declaration_id"),
    )


class SelectionLog(PrivateDatabase):
    """The selection records of one deployment."""

    what = "the selection log"
    # Not the audit trail (the audit log is): a power cut may lose the last writes.
    synchronous = "NORMAL"

    def _create(self) -> None:
        _table().create(self._db.sa, checkfirst=True)

    def record(self, rows: Sequence[tuple]) -> int:
        """Store rows of `selection_records`; a declaration scored again keeps the latest."""
        if not rows:
            return 0
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])
        with self._lock, self._transaction("record selections in"):
            self._db.execute(
                f"INSERT INTO selections ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join(':' + c for c in COLUMNS)}) "
                f"ON CONFLICT (member, declaration_id) DO UPDATE SET {updates}",
                [dict(zip(COLUMNS, row, strict=True)) for row in rows],
            )
        return len(rows)

    def read(self, date_from: object = None, date_to: object = None) -> pd.DataFrame:
        """The records of declarations dated `date_from`..`date_to` (inclusive; None: open)."""
        where, args = [], {}
        if date_from is not None:
            where.append("declaration_date >= :date_from")
            args["date_from"] = _day(date_from)
        if date_to is not None:
            where.append("declaration_date <= :date_to")
            args["date_to"] = _day(date_to)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(
            f"SELECT {', '.join(COLUMNS)} FROM selections {clause} "
            "ORDER BY declaration_date, member, declaration_id",
            args,
        )
        return _frame([tuple(r) for r in rows])

    def count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM selections")[0][0])


def read_selections(
    location: Location, date_from: object = None, date_to: object = None
) -> pd.DataFrame:
    """The records of `SelectionLog.read`, or none when nothing was ever scored there."""
    if not exists(location):
        return _frame([])
    log = SelectionLog(location)
    try:
        return log.read(date_from, date_to)
    finally:
        log.close()


def no_selections() -> pd.DataFrame:
    """An empty frame of selection records."""
    return _frame([])


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("raw_score", "score", "propensity", "draw_share"):
        frame[column] = frame[column].astype("float64")
    return frame


def with_outcomes(records: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The records with `illicit` (NaN when unknown) from `outcomes` (member, declaration_id,
    illicit), and `outside_policy`: an outcome on a declaration the policy did not select."""
    keys = ["member", "declaration_id"]
    known = outcomes[[*keys, "illicit"]].astype({"member": str, "declaration_id": str})
    known = known.dropna(subset=["illicit"]).drop_duplicates(keys, keep="last")
    merged = records.merge(known, on=keys, how="left")
    merged["illicit"] = merged["illicit"].astype("float64")
    merged["outside_policy"] = (merged["selection"] == "green") & merged["illicit"].notna()
    return merged


def _day(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    text = str(value)
    return text[:10] if text else None


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)
