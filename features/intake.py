"""Read a file, map its columns to a contract and validate it: the one path every input takes
(ingestion, batch scoring, an upload to the scoring API, a declaration's case file).

For every file rows_in = len(accepted) + rows_rejected: a row the reader could not split
(`malformed`) or the contract refused (`reasons`) is kept with its source row number and the
reasons, ready for a quarantine file.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from riskscore.features.contracts import EXTRA_PREFIX, Contract, Kind, get_contract
from riskscore.features.errors import BadInputError
from riskscore.features.mapping import ColumnMapping, apply_mapping, extra_name, load_mapping
from riskscore.features.normalise import control_character_errors, without_control_characters
from riskscore.features.readers import SOURCE_ROW, read_raw
from riskscore.features.validation import validate
from riskscore.files import atomic_write

Select = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass
class Checked:
    """A file read, mapped and validated."""

    path: Path
    contract: Contract
    mapping: ColumnMapping
    raw: pd.DataFrame  # the rows as read (text), with their source row numbers
    malformed: pd.DataFrame  # lines the reader could not split: source row, reason, text
    accepted: pd.DataFrame  # valid rows, normalised; index: position in `raw`
    reasons: pd.Series  # position in `raw` -> why the contract refused the row
    ignored: list[str]  # source columns the mapping leaves out

    @property
    def rows_in(self) -> int:
        return len(self.raw) + len(self.malformed)

    @property
    def rows_rejected(self) -> int:
        return len(self.reasons) + len(self.malformed)

    def rejected(self) -> list[tuple[int, str]]:
        """(source row, reasons) of every rejected row, in source order."""
        rows = self.raw[SOURCE_ROW]
        found = [(int(rows[i]), str(why)) for i, why in self.reasons.items()]
        found += [
            (int(row), str(why))
            for row, why in zip(self.malformed[SOURCE_ROW], self.malformed["reason"], strict=True)
        ]
        return sorted(found)

    def write_quarantine(self, target: Path, reasons: pd.Series | None = None) -> None:
        """The rejected rows as they came, source row and reasons first, in source order.

        `reasons` replaces the contract's (e.g. with rows ingestion refused as conflicts added).
        """
        reasons = self.reasons if reasons is None else reasons
        rows = self.raw.loc[reasons.index]
        ours = {"source_file", "source_row", "reasons", "raw_text"}
        rows = rows.rename(columns={c: f"{c} (source)" for c in rows.columns if c in ours})
        refused = pd.DataFrame(
            {"source_row": rows[SOURCE_ROW].to_numpy(), "reasons": reasons.to_numpy()}
        ).join(rows.drop(columns=SOURCE_ROW).reset_index(drop=True))
        unreadable = pd.DataFrame(
            {
                "source_row": self.malformed[SOURCE_ROW].to_numpy(),
                "reasons": self.malformed["reason"].to_numpy(),
                "raw_text": self.malformed["text"].to_numpy(),
            }
        )
        out = (
            pd.concat([refused, unreadable], ignore_index=True)
            .astype({"source_row": "int64"})
            .sort_values("source_row")
        )
        out.insert(0, "source_file", self.path.name)
        # Whole or not at all: never an empty or cut-short quarantine file (StorageError).
        atomic_write(target, out.to_csv(index=False))


def read_checked(
    path: Path,
    contract: Contract | str | None,
    mapping: Path | ColumnMapping | None = None,
    *,
    sheet: str | None = None,
    numeric_extras: tuple[str, ...] | None = None,
    today: date | None = None,
    select: Select | None = None,
) -> Checked:
    """Read `path`, map it to `contract` and validate it.

    Without `contract`, the mapping's (`kind:`) or else the clearance contract. Member columns
    (x_*) are numbers when the mapping says so, or when named in `numeric_extras`. `select`
    picks rows of the mapped frame before validation (one declaration out of a large file).
    Raises BadInputError when the file or the mapping cannot be used at all.
    """
    path = Path(path)
    column_mapping = load_mapping(mapping) if isinstance(mapping, Path) else mapping
    column_mapping = column_mapping or ColumnMapping()
    if not isinstance(contract, Contract):
        contract = get_contract(contract or column_mapping.kind or "clearance")
    raw_file = read_raw(path, sheet=sheet or column_mapping.sheet, kind=contract.name)
    mapped, ignored = apply_mapping(raw_file.frame, contract, column_mapping, path)
    if select is not None:
        mapped = select(mapped)
    positions = mapped.index  # validation renumbers rows; put their positions in `raw` back
    if numeric_extras is None:
        numeric_extras = tuple(extra_name(c) for c in column_mapping.extra_numbers)
    mapped, bad_ids = _control_characters(mapped, contract, numeric_extras)
    checked = validate(
        contract,
        mapped,
        date_formats=column_mapping.date_formats,
        numeric_extras=numeric_extras,
        today=today,
    )
    accepted, reasons = _refuse_ids(
        checked.accepted.set_axis(positions[checked.accepted.index]),
        checked.rejected_reasons.set_axis(positions[checked.rejected_reasons.index]),
        bad_ids,
    )
    return Checked(
        path=path,
        contract=contract,
        mapping=column_mapping,
        raw=raw_file.frame,
        malformed=raw_file.malformed,
        accepted=accepted,
        reasons=reasons,
        ignored=ignored,
    )


def _control_characters(
    mapped: pd.DataFrame, contract: Contract, numeric_extras: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.Series]:
    """Free text (text fields, x_* text columns) without control characters, and the reasons
    of the rows whose id holds one (an id is refused, not repaired: 'A\\x00' is not 'A').

    Coded fields need nothing here: a control character makes their value invalid anyway.
    """
    text = {f.name for f in contract.fields if f.kind is Kind.TEXT}
    text |= {c for c in mapped.columns if c.startswith(EXTRA_PREFIX) and c not in numeric_extras}
    cleaned = {c: without_control_characters(mapped[c]) for c in mapped.columns if c in text}
    if cleaned:
        mapped = mapped.assign(**cleaned)
    bad_ids = pd.Series([], dtype="string")
    if "id" in mapped:
        bad_ids = control_character_errors(mapped["id"]).dropna()
    return mapped, "id: " + bad_ids


def _refuse_ids(
    accepted: pd.DataFrame, reasons: pd.Series, bad_ids: pd.Series
) -> tuple[pd.DataFrame, pd.Series]:
    """Move the rows of `bad_ids` (reasons by position) from accepted to refused, their id
    reason first."""
    if bad_ids.empty:
        return accepted, reasons
    earlier = reasons.reindex(bad_ids.index)
    joined = bad_ids.where(earlier.isna(), bad_ids + "; " + earlier)
    reasons = pd.concat([reasons.drop(bad_ids.index, errors="ignore"), joined]).sort_index()
    return accepted.drop(index=bad_ids.index, errors="ignore"), reasons.astype("string")


def check_upload(
    body: bytes,
    suffix: str,
    contract: Contract | str | None,
    *,
    numeric_extras: tuple[str, ...] | None = None,
) -> Checked:
    """An uploaded file (its bytes, and the suffix of its format) read like a file on disk.

    Raises BadInputError about "the upload": never the server's temporary path.
    """
    name = f"upload{suffix}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(body)
        try:
            checked = read_checked(path, contract, numeric_extras=numeric_extras)
        except BadInputError as exc:
            raise BadInputError(
                "the upload", exc.problem.replace(str(path), "the upload")
            ) from None
    return dataclasses.replace(checked, path=Path(name))
