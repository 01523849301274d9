"""Normalise a mapped frame field by field, then enforce the contract with pandera.

Rows are never dropped silently: each row either passes or leaves with every reason it failed.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pandera.errors

from riskscore.features import normalise as norm
from riskscore.features import vocab
from riskscore.features.contracts import EXTRA_PREFIX, Contract, Field, Kind
from riskscore.features.readers import SOURCE_ROW

_CHOICE_ALIASES = {
    "place_type": vocab.PLACE_TYPE_ALIASES,
    "commodity_category": vocab.COMMODITY_ALIASES,
    "flow": vocab.FLOW_ALIASES,
}


@dataclass
class Validated:
    """Accepted rows in contract form, and the reasons of every rejected row (by position)."""

    accepted: pd.DataFrame  # index: positions in the input frame
    rejected_reasons: pd.Series  # same index; value: "field: reason; ..."


def _normalise_field(
    f: Field, raw: pd.Series, date_formats: tuple[str, ...], today: date | None
) -> norm.Normalised:
    match f.kind:
        case Kind.ID | Kind.TEXT:
            return norm.normalise_text(raw)
        case Kind.DATE:
            return norm.normalise_date(raw, date_formats + norm.DATE_FORMATS, today)
        case Kind.COUNTRY:
            return norm.normalise_country(raw)
        case Kind.COUNTRY_LIST:
            return norm.normalise_country_list(raw)
        case Kind.HS_CODE:
            return norm.normalise_hs_code(raw)
        case Kind.MODE:
            return norm.normalise_mode(raw)
        case Kind.NUMBER:
            return norm.normalise_number(raw)
        case Kind.UNIT:
            return norm.normalise_unit(raw)
        case Kind.CURRENCY:
            return norm.normalise_currency(raw)
        case Kind.FLAG:
            return norm.normalise_flag(raw)
        case Kind.CHOICE:
            aliases = _CHOICE_ALIASES.get(f.name, {c: c for c in f.choices})
            return norm.normalise_choice(raw, aliases, f.name.replace("_", " "))
    raise AssertionError(f"no normaliser for {f.kind}")


def validate(
    contract: Contract,
    mapped: pd.DataFrame,
    *,
    date_formats: tuple[str, ...] = (),
    numeric_extras: tuple[str, ...] = (),
    today: date | None = None,
) -> Validated:
    """Normalise every contract field of `mapped`, collect reasons, validate the rest.

    Member-specific columns (x_*) pass as text, or as numbers when named in `numeric_extras`.
    """
    mapped = mapped.reset_index(drop=True)
    clean, problems = _normalise_fields(contract, mapped, date_formats, today)
    extras, extra_problems = _extra_columns(mapped, numeric_extras)
    frame = pd.DataFrame(clean | extras, index=mapped.index)
    problems |= extra_problems
    problems["id"] = _flag_repeated_ids(frame["id"], mapped[SOURCE_ROW], problems["id"])

    reasons = _join_reasons(problems)
    # pandera is the contract's last word: anything a normaliser let through that breaks the
    # declared schema is rejected here with the schema's own message.
    for label, text in _schema_failures(contract, frame[reasons.isna()]).items():
        reasons.loc[label] = text
    ok = reasons.isna()
    return Validated(accepted=frame[ok], rejected_reasons=reasons[~ok])


def _normalise_fields(
    contract: Contract, mapped: pd.DataFrame, date_formats: tuple[str, ...], today: date | None
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Clean columns of the contract's fields (plus HS levels), and the problems per field."""
    clean: dict[str, pd.Series] = {}
    problems: dict[str, pd.Series] = {}
    empty = pd.Series(pd.NA, index=mapped.index, dtype="string")
    for f in contract.fields:
        raw = mapped.get(f.name, empty)
        result = _normalise_field(f, raw, date_formats, today)
        clean[f.name] = result.values
        missing = result.values.isna() & result.errors.isna()
        errors = result.errors.copy()
        if f.required:
            errors[missing] = "missing required value"
        problems[f.name] = errors
        if f.kind is Kind.HS_CODE:
            clean.update(norm.hs_levels(result.values, prefix=f.name.removesuffix("hs_code")))
    return clean, problems


def _extra_columns(
    mapped: pd.DataFrame, numeric_extras: tuple[str, ...]
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Member-specific columns, and the problems of those read as numbers."""
    columns: dict[str, pd.Series] = {}
    problems: dict[str, pd.Series] = {}
    for column in mapped.columns:
        if column in numeric_extras:
            result = norm.normalise_number(mapped[column])
            columns[column] = result.values
            problems[column] = result.errors
        elif column.startswith(EXTRA_PREFIX):
            columns[column] = mapped[column].astype("string").str.strip()
    return columns, problems


def _flag_repeated_ids(ids: pd.Series, source_row: pd.Series, problems: pd.Series) -> pd.Series:
    """`problems` of the id field, with every repeat of an id pointing at its first row."""
    repeated = ids.notna() & ids.duplicated(keep="first")
    if not repeated.any():
        return problems
    first_row = source_row.groupby(ids).transform("first").astype("Int64")
    return problems.mask(
        repeated, "duplicate of row " + first_row.astype("string") + " in this file"
    )


def _schema_failures(contract: Contract, accepted: pd.DataFrame) -> dict[Hashable, str]:
    """pandera's reasons for the rows of `accepted` that break the schema, by row label."""
    try:
        contract.schema().validate(accepted, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        failures = exc.failure_cases
        failures = failures[failures["index"].notna()]
        return {
            label: "; ".join(
                f"{col}: fails {check} ({value!r})"
                for col, check, value in zip(
                    group["column"], group["check"], group["failure_case"], strict=True
                )
            )
            for label, group in failures.groupby("index")
        }
    return {}


def _join_reasons(problems: dict[str, pd.Series]) -> pd.Series:
    table = pd.DataFrame(problems)
    any_bad = table.notna().any(axis=1)
    reasons = pd.Series(pd.NA, index=table.index, dtype="string")
    if any_bad.any():
        bad = table[any_bad]
        reasons[any_bad] = [
            "; ".join(f"{col}: {msg}" for col, msg in row.items() if not pd.isna(msg))
            for row in bad.to_dict("records")
        ]
    return reasons
