"""The local store: one folder per input kind holding append-only Parquet parts.

```
STORE/<kind>/part-<utc>.parquet           normalised accepted rows, one part per ingest
STORE/<kind>/quarantine/<file>-<utc>.csv  rejected source rows with their reasons
STORE/<kind>/reports/<utc>-<file>.json    every ingest report
STORE/<kind>/ingest-report.json           the latest one
STORE/<kind>/.writer.lock                 held by the one ingest writing this kind
```
Every file is written to a temporary name and renamed, so a reader never sees half a file. The
files of one ingest share its `<utc>` stamp, and its history report, written last, commits it:
a part or quarantine file whose report is missing belongs to an ingest that never finished;
readers ignore such a part and the next ingest (holding the lock) removes it (`recover`).
Parts named `part-<utc>-<token>.parquet` (older versions, `append`) need no report.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from riskscore.features.contracts import empty_frame, get_contract
from riskscore.features.errors import DamagedStoreError
from riskscore.files import atomic_write, stale_temporaries, writer_lock

log = logging.getLogger(__name__)

KINDS = ("seizures", "clearance", "declarations")
LINEAGE_KEYS = (
    "kind",
    "source_file",
    "source_sha256",
    "rows_in",
    "rows_accepted",
    "rows_quarantined",
    "rows_new",
    "date_min",
    "date_max",
    "started_at",
)
ROW_HASH = "_row_hash"
SOURCE_FILE = "_source_file"
INGESTED_AT = "_ingested_at"
LATEST_REPORT = "ingest-report.json"
WRITER_LOCK = ".writer.lock"
_STAMP = r"\d{8}T\d{12}Z"
_INGEST_PART = re.compile(rf"part-({_STAMP})\.parquet")  # committed by its ingest's report
_QUARANTINE = re.compile(rf".*-({_STAMP})\.csv")


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class Store:
    """A directory of normalised, validated records by kind."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def kind_dir(self, kind: str) -> Path:
        get_contract(kind)
        return self.root / kind

    @contextlib.contextmanager
    def writer(self, kind: str) -> Iterator[None]:
        """Be the one writer of `kind` (waits for another; StorageError after LOCK_TIMEOUT)."""
        with writer_lock(self.kind_dir(kind) / WRITER_LOCK, what=f"an ingest of {kind}"):
            yield

    def parts(self, kind: str) -> list[Path]:
        """The committed parts of a kind (an ingest's part counts once its report exists)."""
        committed = self._report_stamps(kind)
        return [
            p
            for p in sorted(self.kind_dir(kind).glob("part-*.parquet"))
            if (m := _INGEST_PART.fullmatch(p.name)) is None or m[1] in committed
        ]

    def read(self, kind: str, columns: list[str] | None = None) -> pd.DataFrame:
        """All stored rows of a kind (an empty frame with the contract's columns if none)."""
        parts = self.parts(kind)
        if not parts:
            frame = empty_frame(get_contract(kind)).assign(
                **{
                    ROW_HASH: pd.Series([], dtype="uint64"),
                    SOURCE_FILE: pd.Series([], dtype="string"),
                    INGESTED_AT: pd.Series([], dtype="datetime64[us]"),  # UTC
                }
            )
            return frame[columns] if columns else frame
        # Parts may differ in their x_* columns: read them under the union of their schemas.
        schema = pa.unify_schemas([pq.read_schema(p) for p in parts])
        table = ds.dataset(parts, schema=schema, format="parquet").to_table(columns=columns)
        return table.to_pandas(types_mapper=_pandas_type)

    def read_parts(self, kind: str, names: list[str]) -> pd.DataFrame:
        """The rows of some committed parts of a kind, by file name (none: an empty frame)."""
        if not names:
            return self.read(kind).iloc[:0]
        paths = [self.kind_dir(kind) / name for name in names]
        schema = pa.unify_schemas([pq.read_schema(p) for p in paths])
        table = ds.dataset(paths, schema=schema, format="parquet").to_table()
        return table.to_pandas(types_mapper=_pandas_type)

    def read_unique(self, kind: str) -> pd.DataFrame:
        """`read(kind)`, refusing a store where an id is stored twice (DamagedStoreError)."""
        frame = self.read(kind)
        repeated = frame.loc[frame["id"].duplicated(keep=False)]
        if len(repeated):
            raise self._damaged(kind, repeated)
        return frame

    def _damaged(self, kind: str, repeated: pd.DataFrame) -> DamagedStoreError:
        """What to say about ids stored more than once: how many, one of them, where from."""
        count = repeated["id"].nunique()
        example = repeated["id"].iloc[0]
        sources = sorted(repeated.loc[repeated["id"] == example, SOURCE_FILE].dropna().unique())
        # Which parts hold it is only worth reading on this (rare) path.
        parts = [
            p.name
            for p in self.parts(kind)
            if pc.any(pc.equal(pq.read_table(p, columns=["id"]).column("id"), example)).as_py()
        ]
        ids = "id" if count == 1 else "ids"
        return DamagedStoreError(
            self.kind_dir(kind),
            f"{count} {ids} stored more than once (e.g. {example!r} from "
            f"{', '.join(map(str, sources)) or 'unknown files'} in parts {', '.join(parts)}), "
            f"most likely left by two ingests at once before ingestion took a lock; re-ingest "
            f"the {kind} files into a fresh store (riskscore ingest {kind} FILE --store NEW) "
            f"and train on that",
        )

    def keys(self, kind: str) -> pd.DataFrame:
        """id, row hash and source file of every stored row."""
        return self.read(kind, columns=["id", ROW_HASH, SOURCE_FILE])

    def append(self, kind: str, frame: pd.DataFrame) -> Path:
        """Write `frame` as a new part that needs no report, atomically."""
        path = self.kind_dir(kind) / f"part-{utc_stamp()}-{secrets.token_hex(4)}.parquet"
        atomic_write(path, _parquet(frame))
        return path

    def write_part(self, kind: str, frame: pd.DataFrame, stamp: str) -> Path:
        """Write the part of the ingest `stamp`, atomically; it counts once its report exists."""
        path = self.kind_dir(kind) / f"part-{stamp}.parquet"
        atomic_write(path, _parquet(frame))
        return path

    def write_report(self, kind: str, name: str, text: str) -> Path:
        """Commit an ingest: its report, as the latest and in the history (`name`) last."""
        folder = self.kind_dir(kind)
        atomic_write(folder / LATEST_REPORT, text)
        history = folder / "reports" / name
        atomic_write(history, text)
        return history

    def recover(self, kind: str) -> list[Path]:
        """Remove what ingests that never finished left (temporaries, parts and quarantine
        files without a report, empty quarantine files) and put the latest report back.

        Call it holding the writer lock. Returns the files removed.
        """
        folder = self.kind_dir(kind)
        if not folder.is_dir():
            return []
        stamps = self._report_stamps(kind)
        quarantine = folder / "quarantine"
        folders = (folder, quarantine, folder / "reports")
        removed = [p for d in folders for p in stale_temporaries(d)]
        for part in folder.glob("part-*.parquet"):
            if (m := _INGEST_PART.fullmatch(part.name)) and m[1] not in stamps:
                removed.append(part)
        for kept in quarantine.glob("*.csv") if quarantine.is_dir() else []:
            m = _QUARANTINE.fullmatch(kept.name)
            if kept.stat().st_size == 0 or (m and m[1] not in stamps):
                removed.append(kept)
        for path in removed:
            path.unlink(missing_ok=True)
        self._restore_latest(kind)
        return removed

    def _report_stamps(self, kind: str) -> set[str]:
        """Stamps of the ingests whose report exists (readable or not): the committed ones."""
        folder = self.kind_dir(kind) / "reports"
        return {p.name.split("-", 1)[0] for p in folder.glob("*.json")}

    def _restore_latest(self, kind: str) -> None:
        """Make ingest-report.json the newest readable history report again."""
        folder = self.kind_dir(kind)
        latest = folder / LATEST_REPORT
        history = sorted((folder / "reports").glob("*.json"), reverse=True)
        if not history:
            latest.unlink(missing_ok=True)  # it can only describe an ingest undone
            return
        for report in history:
            if read_report(report) is not None:
                text = report.read_bytes()
                if not latest.is_file() or latest.read_bytes() != text:
                    atomic_write(latest, text)
                return

    def lineage(self) -> dict:
        """Every file ingested into the store: path, hash, rows, dates (from the ingest reports).

        A report that cannot be read (empty, cut short) is skipped and named in
        `corrupt_reports`.
        """
        files, corrupt = [], []
        for kind in KINDS:
            folder = self.root / kind / "reports"
            for report in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                data = read_report(report)
                if data is None:
                    log.warning("skipped %s: not a readable ingest report", report)
                    corrupt.append(str(report))
                    continue
                files.append({key: data.get(key) for key in LINEAGE_KEYS})
        return {"store": str(self.root.resolve()), "files": files, "corrupt_reports": corrupt}

    def fingerprint(self, outcomes: pd.DataFrame | None = None) -> str:
        """A hash of the store's content (every stored row's content hash, by kind) and of the
        inspection outcomes fed back through the API.

        Re-ingesting a file that adds nothing leaves it unchanged, so a retraining job can tell
        whether there is anything new to learn from.
        """
        digest = hashlib.sha256()
        for kind in KINDS:
            hashes = self.read(kind, columns=[ROW_HASH])[ROW_HASH].to_numpy(dtype="uint64")
            digest.update(kind.encode())
            digest.update(np.sort(hashes).tobytes())
        if outcomes is not None and len(outcomes):
            fed = pd.util.hash_pandas_object(outcomes, index=False).to_numpy(dtype="uint64")
            digest.update(b"outcomes")
            digest.update(np.sort(fed).tobytes())
        return digest.hexdigest()[:16]


def read_report(path: Path) -> dict | None:
    """An ingest report's content, or None when it cannot be read as one (empty, cut short)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _parquet(frame: pd.DataFrame) -> bytes:
    """`frame` as Parquet bytes, to be written atomically like every other store file."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def _pandas_type(arrow_type: pa.DataType) -> object:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    return None


def row_hash(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """A content hash per row over the contract columns, to tell a re-send from a correction."""
    return pd.util.hash_pandas_object(frame[columns], index=False).astype("uint64")
