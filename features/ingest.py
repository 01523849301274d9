"""Ingestion: read a file, map, normalise, validate, quarantine, and append to the store.

For every file rows_in = rows_accepted + rows_quarantined; accepted rows already in the store
(same id, same content) are counted, not written again, so re-ingesting a file changes nothing.
One ingest at a time writes a kind (the store's writer lock), and its report, written last,
commits it: a crash or a full disk leaves nothing that counts (features/store.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from riskscore.features.errors import StoreWriteError
from riskscore.features.intake import Checked, read_checked
from riskscore.features.mapping import ColumnMapping
from riskscore.features.membership import is_in
from riskscore.features.store import (
    INGESTED_AT,
    ROW_HASH,
    SOURCE_FILE,
    Store,
    row_hash,
    utc_stamp,
)
from riskscore.files import StorageError, describe

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest did; written as JSON beside the data."""

    kind: str
    source_file: str
    source_sha256: str
    mapping_file: str | None
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rows_new: int
    rows_already_present: int
    quarantine_file: str | None
    part_file: str | None
    columns_ignored: list[str] = field(default_factory=list)
    reasons_by_field: dict[str, int] = field(default_factory=dict)
    date_min: str | None = None
    date_max: str | None = None
    started_at: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest(
    kind: str,
    path: Path,
    store_dir: Path,
    mapping: Path | ColumnMapping | None = None,
    sheet: str | None = None,
    today: date | None = None,
) -> IngestReport:
    """Ingest one file of `kind` into the store at `store_dir`.

    Raises BadInputError (and writes nothing) when the file or mapping cannot be used at all,
    StoreWriteError (a BadInputError too; nothing written) when the store cannot be written.
    One ingest writes a kind at a time: another waits for the writer lock.
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    path = Path(path)
    checked = read_checked(path, kind, mapping, sheet=sheet, today=today)
    store = Store(store_dir)
    try:
        # Held from the check against the stored ids to the report, so two ingests of the
        # same ids cannot both find them new.
        with store.writer(kind):
            for left in store.recover(kind):
                log.warning("removed %s, left by an ingest that did not finish", left)
            return _ingest_locked(store, kind, path, checked, started_at, started)
    except StoreWriteError:
        raise
    except OSError as exc:
        if not isinstance(exc, StorageError):
            exc = describe(exc, exc.filename or store.kind_dir(kind))
        raise StoreWriteError(exc) from exc


def _ingest_locked(
    store: Store, kind: str, path: Path, checked: Checked, started_at: str, started: float
) -> IngestReport:
    """Store the rows, quarantine and report; a storage error undoes what was written."""
    try:
        stored = _store_rows(store, kind, path, checked, started_at)
        report = _report(kind, path, checked, stored, started_at, started)
        assert report.rows_in == report.rows_accepted + report.rows_quarantined
        _write_report(store, kind, report, stored.stamp, path)
    except OSError:
        # The report was not written, so this ingest's files are uncommitted: remove them now
        # (a kill leaves them to the next ingest's recover).
        with contextlib.suppress(OSError):
            store.recover(kind)
        raise
    return report


@dataclass
class _Stored:
    """What one ingest wrote: new rows to the store, the rest with reasons to quarantine."""

    new: pd.DataFrame
    present: pd.DataFrame  # accepted rows already stored unchanged
    conflicts: pd.DataFrame  # accepted rows whose id is stored with other content
    reasons: pd.Series  # quarantine reasons by row position, conflicts included
    quarantine_file: Path | None
    part_file: Path | None
    stamp: str


def _store_rows(store: Store, kind: str, path: Path, checked: Checked, started_at: str) -> _Stored:
    """Append the new accepted rows to the store; quarantine rejected and conflicting rows.

    Call it holding the writer lock of `kind`; nothing counts until `_write_report`.
    """
    accepted = checked.accepted  # indexed by position in the file's rows
    accepted[ROW_HASH] = row_hash(accepted, checked.contract.field_names)
    new, present, conflicts = _split_against_store(store, kind, accepted)
    reasons = checked.reasons
    if len(conflicts):
        stored_in = conflicts[SOURCE_FILE].astype("string")
        conflict_reasons = "id: already stored with different content (from " + stored_in + ")"
        reasons = pd.concat([reasons, conflict_reasons]).sort_index()

    stamp = utc_stamp()  # names every file of this ingest; its report commits them
    quarantine_file = None
    if len(reasons) or len(checked.malformed):
        quarantine_file = store.kind_dir(kind) / "quarantine" / f"{path.stem}-{stamp}.csv"
        checked.write_quarantine(quarantine_file, reasons)
    part_file = None
    if len(new):
        new = new.assign(
            **{SOURCE_FILE: path.name, INGESTED_AT: pd.Timestamp(started_at).tz_convert(None)}
        )
        part_file = store.write_part(kind, new.reset_index(drop=True), stamp)
    return _Stored(new, present, conflicts, reasons, quarantine_file, part_file, stamp)


def _report(
    kind: str, path: Path, checked: Checked, stored: _Stored, started_at: str, started: float
) -> IngestReport:
    """The report of one ingest, from the checked file and what was stored."""
    dates = checked.accepted["date"]
    return IngestReport(
        kind=kind,
        source_file=str(path),
        source_sha256=file_sha256(path),
        mapping_file=checked.mapping.source,
        rows_in=checked.rows_in,
        rows_accepted=len(checked.accepted) - len(stored.conflicts),
        rows_quarantined=len(stored.reasons) + len(checked.malformed),
        rows_new=len(stored.new),
        rows_already_present=len(stored.present),
        quarantine_file=str(stored.quarantine_file) if stored.quarantine_file else None,
        part_file=str(stored.part_file) if stored.part_file else None,
        columns_ignored=checked.ignored,
        reasons_by_field=_count_fields(pd.concat([stored.reasons, checked.malformed["reason"]])),
        date_min=dates.min().date().isoformat() if len(dates) else None,
        date_max=dates.max().date().isoformat() if len(dates) else None,
        started_at=started_at,
        seconds=round(time.perf_counter() - started, 3),
    )


def _split_against_store(
    store: Store, kind: str, accepted: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(new rows, rows already stored unchanged, rows whose id is stored with other content)."""
    stored = store.keys(kind)
    if stored.empty:
        return accepted, accepted.iloc[:0], accepted.iloc[:0].assign(**{SOURCE_FILE: ""})
    stored = stored.drop_duplicates("id").set_index("id")
    known = is_in(accepted["id"], stored.index)
    new = accepted[~known]
    seen = accepted[known]
    stored_hash = stored.loc[seen["id"], ROW_HASH].to_numpy()
    same = seen[ROW_HASH].to_numpy() == stored_hash
    conflicts = seen[~same].assign(
        **{SOURCE_FILE: stored.loc[seen.loc[~same, "id"], SOURCE_FILE].to_numpy()}
    )
    return new, seen[same], conflicts


def _count_fields(reasons: pd.Series) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for text in reasons:
        for part in str(text).split("; "):
            counts[part.split(":", 1)[0]] += 1
    return dict(counts.most_common())


def _write_report(store: Store, kind: str, report: IngestReport, stamp: str, path: Path) -> None:
    """Commit the ingest `stamp`: until its history report exists, its files do not count."""
    store.write_report(kind, f"{stamp}-{path.stem}.json", json.dumps(report.to_dict(), indent=2))


__all__ = ["IngestReport", "file_sha256", "ingest"]
