"""Read xlsx, csv and parquet files into text columns, keeping each row's source row number."""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute.local_timestamp
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskscore.features.errors import BadInputError

SOURCE_ROW = "_source_row"
"""Row number as a user sees it: the spreadsheet/CSV line (header is 1), the record for parquet."""

SUPPORTED = (".xlsx", ".csv", ".parquet", ".jsonl")
ALLOWED_VALUES_SHEET = "Allowed values"
GUIDE_SHEET = "Field guide"


@dataclass
class RawFile:
    """A file's rows as text, and the rows that could not even be split into fields."""

    frame: pd.DataFrame  # every column as nullable text, plus _source_row
    malformed: pd.DataFrame  # _source_row, reason, text


def read_raw(path: Path, sheet: str | None = None, kind: str | None = None) -> RawFile:
    """All columns as nullable text (empty cells are <NA>), each row with its source row number.

    Raises BadInputError for a missing, unreadable or unsupported file or a wrong sheet.
    """
    if not path.exists():
        raise BadInputError(path, "file not found")
    if not path.is_file():
        raise BadInputError(path, "not a file")
    suffix = path.suffix.lower()
    malformed = pd.DataFrame({SOURCE_ROW: [], "reason": [], "text": []})
    try:
        match suffix:
            case ".csv":
                frame, malformed = _read_csv(path)
            case ".parquet":
                frame = _numbered(_read_parquet(path), first_row=1)
            case ".xlsx":
                frame = _read_xlsx(path, sheet, kind)
            case ".jsonl" | ".ndjson":
                frame, malformed = _read_json_lines(path)
            case _:
                raise BadInputError(
                    path, f"unsupported format {suffix or '(none)'}: use {', '.join(SUPPORTED)}"
                )
    except BadInputError:
        raise
    except (pa.ArrowException, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise BadInputError(path, f"unreadable {suffix} file ({_first_line(exc)})") from exc
    names = [str(c).strip() for c in frame.columns]
    _refuse_duplicates(path, names)
    frame.columns = names
    return RawFile(frame, malformed)


def _refuse_duplicates(path: Path, names: list[str]) -> None:
    stripped = [str(n).strip() for n in names]
    duplicated = sorted({n for n in stripped if stripped.count(n) > 1})
    if duplicated:
        raise BadInputError(path, f"duplicate column names: {', '.join(duplicated)}")


def _numbered(frame: pd.DataFrame, first_row: int) -> pd.DataFrame:
    frame[SOURCE_ROW] = pd.RangeIndex(first_row, first_row + len(frame))
    return frame


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _read_csv(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The well-formed rows, numbered, and the malformed ones (wrong number of fields)."""
    with path.open("rb") as fh:
        if not fh.readline().strip():
            raise BadInputError(path, "empty file: no header row")
    table, malformed = _arrow_csv(path, use_threads=True)
    if malformed:
        # Only a single-threaded read knows the row numbers of malformed rows.
        table, malformed = _arrow_csv(path, use_threads=False)
    bad_rows = [row.number for row in malformed]
    rows = np.setdiff1d(np.arange(2, 2 + table.num_rows + len(bad_rows)), bad_rows)
    frame = _to_text_frame(table, path)
    frame[SOURCE_ROW] = rows
    frame = _drop_empty_rows(frame)
    rejected = pd.DataFrame(
        {
            SOURCE_ROW: bad_rows,
            "reason": [
                f"row: has {r.actual_columns} fields, the header has {r.expected_columns}"
                for r in malformed
            ],
            "text": [r.text for r in malformed],
        }
    )
    return frame, rejected


def _arrow_csv(path: Path, use_threads: bool) -> tuple[pa.Table, list]:
    """The table and the malformed rows (a wrong number of fields)."""
    malformed: list = []

    def keep_aside(row: pacsv.InvalidRow) -> str:
        malformed.append(row)
        return "skip"

    # Every column as text, and only truly empty cells missing: "NA" is Namibia.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        names = next(csv.reader(fh))
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 24, use_threads=use_threads),
        # Blank lines stay rows (all empty, dropped later) so later rows keep their numbers.
        parse_options=pacsv.ParseOptions(invalid_row_handler=keep_aside, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    return table, malformed


def _read_json_lines(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One JSON object per line, every value as text; a line that is not a JSON object is set
    aside with its line number, like a malformed CSV row. Blank lines are not records."""
    rows: list[dict] = []
    numbers: list[int] = []
    bad: list[tuple[int, str, str]] = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                bad.append((number, f"row: not valid JSON ({str(exc).split(':')[0]})", line))
                continue
            if not isinstance(record, dict):
                bad.append((number, "row: not a JSON object", line))
                continue
            rows.append({str(k): _json_text(v) for k, v in record.items()})
            numbers.append(number)
    if bad and not rows:
        raise BadInputError(path, f"no line is a JSON object (line {bad[0][0]}: {bad[0][1][5:]})")
    names = list(dict.fromkeys(name for row in rows for name in row))
    frame = pd.DataFrame(
        {name: pd.array([row.get(name) for row in rows], dtype="string") for name in names}
    )
    frame[SOURCE_ROW] = np.asarray(numbers, dtype="int64")
    malformed = pd.DataFrame(
        {
            SOURCE_ROW: [b[0] for b in bad],
            "reason": [b[1] for b in bad],
            "text": [b[2].decode("utf-8", "replace").rstrip("\n")[:1000] for b in bad],
        }
    )
    return frame, malformed


def _json_text(value: object) -> str | None:
    """A JSON value as the text a file cell would hold (nested values as JSON)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return orjson.dumps(value).decode()


def _read_parquet(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    return _to_text_frame(table, path)


def _to_text_frame(table: pa.Table, path: Path) -> pd.DataFrame:
    _refuse_duplicates(path, table.column_names)
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            # The local date and time as recorded, not their UTC equivalent.
            column = column.cast(pa.timestamp(column.type.unit, tz=column.type.tz))
            column = pa.compute.local_timestamp(column)
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        columns[name] = column.to_pandas(types_mapper=pd.ArrowDtype).astype("string")
    return pd.DataFrame(columns)


def _read_xlsx(path: Path, sheet: str | None, kind: str | None) -> pd.DataFrame:
    with pd.ExcelFile(path, engine="openpyxl") as book:
        chosen = choose_sheet(path, book.sheet_names, sheet, kind)
        frame = pd.read_excel(
            book, sheet_name=chosen, dtype=str, keep_default_na=False, na_values=[""]
        )
    return _drop_empty_rows(_numbered(frame.astype("string"), first_row=2))


def _drop_empty_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank lines and formatted empty spreadsheet rows are not records."""
    empty = frame.drop(columns=SOURCE_ROW).isna().all(axis=1)
    return frame[~empty].reset_index(drop=True) if empty.any() else frame


def choose_sheet(path: Path, sheets: list[str], wanted: str | None, kind: str | None) -> str:
    """The sheet asked for, else the one named after the kind, else the only data sheet."""
    if wanted is not None:
        if wanted in sheets:
            return wanted
        raise BadInputError(path, f"no sheet named {wanted!r}; sheets are: {', '.join(sheets)}")
    by_name = {s.strip().lower(): s for s in sheets}
    if kind and kind in by_name:
        return by_name[kind]
    data_sheets = [s for s in sheets if s not in (ALLOWED_VALUES_SHEET, GUIDE_SHEET)]
    if len(data_sheets) == 1:
        return data_sheets[0]
    raise BadInputError(
        path,
        f"cannot tell which sheet holds the {kind or 'data'}: no sheet named "
        f"{(kind or 'data').capitalize()!r} among {', '.join(sheets)} (name one with --sheet)",
    )
