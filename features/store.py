"""The local store: one folder per input kind holding append-only Parquet parts.

```
STORE/<kind>/part-<utc>-<token>.parquet   normalised accepted rows, one part per ingest
STORE/<kind>/quarantine/<file>-<utc>.csv  rejected source rows with their reasons
STORE/<kind>/reports/<utc>-<file>.json    every ingest report
STORE/<kind>/ingest-report.json           the latest one
```
Parts are written to a temporary name and renamed, so a reader never sees half a part.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from riskscore.features.contracts import empty_frame, get_contract

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


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class Store:
    """A directory of normalised, validated records by kind."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def kind_dir(self, kind: str) -> Path:
        get_contract(kind)
        return self.root / kind

    def parts(self, kind: str) -> list[Path]:
        return sorted(self.kind_dir(kind).glob("part-*.parquet"))

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

    def keys(self, kind: str) -> pd.DataFrame:
        """id, row hash and source file of every stored row."""
        return self.read(kind, columns=["id", ROW_HASH, SOURCE_FILE])

    def append(self, kind: str, frame: pd.DataFrame) -> Path:
        """Write `frame` as a new part, atomically."""
        folder = self.kind_dir(kind)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{utc_stamp()}-{secrets.token_hex(4)}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        os.replace(tmp, path)
        return path

    def lineage(self) -> dict:
        """Every file ingested into the store: path, hash, rows, dates (from the ingest reports)."""
        files = []
        for kind in KINDS:
            folder = self.root / kind / "reports"
            for report in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                data = json.loads(report.read_text())
                files.append({key: data.get(key) for key in LINEAGE_KEYS})
        return {"store": str(self.root.resolve()), "files": files}

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


def _pandas_type(arrow_type: pa.DataType) -> object:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    return None


def row_hash(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """A content hash per row over the contract columns, to tell a re-send from a correction."""
    return pd.util.hash_pandas_object(frame[columns], index=False).astype("uint64")
