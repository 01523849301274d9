"""Column mappings: how a member's own export maps onto a contract, declared in YAML.

```yaml
kind: declarations            # optional: the contract it is written for
sheet: Sheet1                 # optional: the Excel sheet to read
columns:                      # source column -> contract field
  Declaration ID: id
  HS6 Code: hs_code
extra: [Office ID, Tax Type]  # kept as opaque categories x_office_id, x_tax_type
extra_numbers: [Tax Rate]     # kept as numbers x_tax_rate (a bad number quarantines the row)
constants:                    # contract field -> value for every row
  reporting_country: KR
values:                       # contract field -> {source value: contract value}
  transport_mode: {"10": sea, "40": air}
date_formats: ["%d/%m/%Y"]    # optional: tried before the defaults
```
Without a mapping, source columns whose simplified names equal a field name are taken as is
("HS Code" -> hs_code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from riskscore.features.contracts import EXTRA_PREFIX, Contract
from riskscore.features.errors import BadInputError
from riskscore.features.readers import SOURCE_ROW
from riskscore.features.vocab import simplify


@dataclass(frozen=True)
class ColumnMapping:
    """A declared mapping from source columns to contract fields."""

    columns: dict[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    extra_numbers: tuple[str, ...] = ()
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ()
    sheet: str | None = None
    kind: str | None = None
    source: str | None = None


def extra_name(column: str) -> str:
    """Stored name of a member-specific column: 'Office ID' -> 'x_office_id'."""
    return EXTRA_PREFIX + re.sub(r"\W+", "_", column.strip().lower()).strip("_")


def load_mapping(path: Path) -> ColumnMapping:
    """Read a mapping file; BadInputError names what is wrong with it."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise BadInputError(path, "mapping file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInputError(path, f"unreadable mapping file ({exc})".splitlines()[0]) from exc
    if not isinstance(doc, dict):
        raise BadInputError(path, "a mapping file must be a YAML mapping (key: value)")
    known = {
        "kind",
        "sheet",
        "columns",
        "extra",
        "extra_numbers",
        "constants",
        "values",
        "date_formats",
    }
    unknown = sorted(set(doc) - known)
    if unknown:
        raise BadInputError(path, f"unknown keys {unknown}; expected some of {sorted(known)}")

    def section(name: str, kind: type) -> object:
        value = doc.get(name) or kind()
        if not isinstance(value, kind):
            raise BadInputError(path, f"'{name}' must be a {kind.__name__}")
        return value

    values = section("values", dict)
    for fld, table in values.items():  # type: ignore[union-attr]
        if not isinstance(table, dict):
            raise BadInputError(path, f"values.{fld} must map source values to contract values")
    return ColumnMapping(
        columns={str(k): str(v) for k, v in section("columns", dict).items()},  # type: ignore[union-attr]
        extra=tuple(str(c) for c in section("extra", list)),  # type: ignore[union-attr]
        extra_numbers=tuple(str(c) for c in section("extra_numbers", list)),  # type: ignore[union-attr]
        constants={str(k): str(v) for k, v in section("constants", dict).items()},  # type: ignore[union-attr]
        values={
            str(f): {str(k): str(v) for k, v in t.items()}
            for f, t in values.items()  # type: ignore[union-attr]
        },
        date_formats=tuple(str(f) for f in section("date_formats", list)),  # type: ignore[union-attr]
        sheet=doc.get("sheet"),
        kind=doc.get("kind"),
        source=str(path),
    )


def apply_mapping(
    raw: pd.DataFrame, contract: Contract, mapping: ColumnMapping, path: Path
) -> tuple[pd.DataFrame, list[str]]:
    """Rename, add constants and translate values; returns the frame and the ignored columns.

    Raises BadInputError when the mapping names a column the file lacks, a field the contract
    lacks, or when a required field is left without a source.
    """
    fields = set(contract.field_names)
    where = mapping.source or "mapping"
    bad_targets = sorted({t for t in mapping.columns.values() if t not in fields})
    bad_targets += sorted(f for f in (*mapping.constants, *mapping.values) if f not in fields)
    if bad_targets:
        raise BadInputError(
            where, f"unknown {contract.name} fields {bad_targets}; fields are: {sorted(fields)}"
        )
    if mapping.kind and mapping.kind != contract.name:
        raise BadInputError(where, f"written for {mapping.kind}, not {contract.name}")

    extras = (*mapping.extra, *mapping.extra_numbers)
    missing = [c for c in (*mapping.columns, *extras) if c not in raw.columns]
    if missing:
        raise BadInputError(
            path, f"columns named in the mapping are missing: {', '.join(map(repr, missing))}"
        )

    renames = dict(mapping.columns)
    by_simple_name = {simplify(f).replace(" ", "_"): f for f in fields}
    for column in raw.columns:
        if column in renames or column == SOURCE_ROW or column in extras:
            continue
        target = by_simple_name.get(simplify(column).replace(" ", "_"))
        if target and target not in renames.values():
            renames[column] = target
    out = pd.DataFrame({target: raw[source] for source, target in renames.items()})
    for column in extras:
        out[extra_name(column)] = raw[column]
    # Columns already named x_* (e.g. exported from a store) keep their name and values.
    for column in raw.columns:
        if column.startswith(EXTRA_PREFIX) and column not in out and column not in renames:
            out[column] = raw[column]
    for fld, value in mapping.constants.items():
        out[fld] = pd.Series(value, index=raw.index, dtype="string")
    for fld, table in mapping.values.items():
        if fld in out:
            out[fld] = out[fld].astype("string").str.strip().replace(table)
    out[SOURCE_ROW] = raw[SOURCE_ROW]

    absent = [f for f in contract.required if f not in out]
    if absent:
        raise BadInputError(
            path,
            f"required column(s) missing: {', '.join(absent)} "
            f"(found: {', '.join(c for c in raw.columns if c != SOURCE_ROW)})",
        )
    used = set(renames) | set(extras) | {SOURCE_ROW} | {c for c in out if c in raw.columns}
    ignored = [c for c in raw.columns if c not in used]
    return out, ignored
