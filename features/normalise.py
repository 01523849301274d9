"""Normalisation of raw customs values: countries, HS codes, transport modes, dates, units.

Every normaliser takes a Series of raw text (missing values as <NA>) and returns a `Normalised`:
the clean values and, per row, the reason a present value was rejected. Work is done once per
distinct value, which keeps a million-row file fast: customs columns repeat heavily.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd
import pycountry

from riskscore.features import vocab


@dataclass
class Normalised:
    """Clean values, and the rejection reason of each row whose present value was invalid."""

    values: pd.Series
    errors: pd.Series  # string reason or <NA>


# Forms of country names used in customs and trade data that pycountry does not resolve.
COUNTRY_ALIASES = {
    "hong kong china": "HK",
    "hong kong sar": "HK",
    "hong kong sar china": "HK",
    "china hong kong sar": "HK",
    "macao china": "MO",
    "macau": "MO",
    "macau china": "MO",
    "macao sar": "MO",
    "korea": "KR",
    "republic of korea": "KR",
    "korea republic of": "KR",
    "korea rep": "KR",
    "korea south": "KR",
    "south korea": "KR",
    "north korea": "KP",
    "korea dpr": "KP",
    "dprk": "KP",
    "democratic people s republic of korea": "KP",
    "lao pdr": "LA",
    "lao people s democratic republic": "LA",
    "laos": "LA",
    "viet nam": "VN",
    "vietnam": "VN",
    "iran": "IR",
    "iran islamic republic of": "IR",
    "türkiye": "TR",
    "turkiye": "TR",
    "turkey": "TR",
    "uk": "GB",  # the usual non-ISO code
    "u k": "GB",
    "el": "GR",  # the EU's code for Greece
    "great britain": "GB",
    "england": "GB",
    "britain": "GB",
    "united kingdom": "GB",
    "usa": "US",
    "u s a": "US",
    "us": "US",
    "united states of america": "US",
    "america": "US",
    "russia": "RU",
    "russian federation": "RU",
    "taiwan": "TW",
    "taiwan china": "TW",
    "chinese taipei": "TW",
    "taiwan province of china": "TW",
    "china": "CN",
    "people s republic of china": "CN",
    "pr china": "CN",
    "prc": "CN",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "côte d ivoire": "CI",
    "cape verde": "CV",
    "cabo verde": "CV",
    "swaziland": "SZ",
    "eswatini": "SZ",
    "burma": "MM",
    "myanmar": "MM",
    "brunei": "BN",
    "brunei darussalam": "BN",
    "holland": "NL",
    "czech republic": "CZ",
    "czechia": "CZ",
    "macedonia": "MK",
    "north macedonia": "MK",
    "moldova": "MD",
    "congo dem rep": "CD",
    "democratic republic of the congo": "CD",
    "dr congo": "CD",
    "drc": "CD",
    "congo rep": "CG",
    "republic of the congo": "CG",
    "uae": "AE",
    "u a e": "AE",
    "emirates": "AE",
    "syria": "SY",
    "tanzania": "TZ",
    "venezuela": "VE",
    "bolivia": "BO",
    "palestine": "PS",
    "state of palestine": "PS",
    "vatican": "VA",
    "holy see": "VA",
    "kosovo": "XK",
    "xx": "ZZ",
    "unknown": "ZZ",
    "not known": "ZZ",
    "unspecified": "ZZ",  # user-assigned code used by the EU and WCO members
    "east timor": "TL",
    "micronesia": "FM",
    "st kitts and nevis": "KN",
    "st lucia": "LC",
    "st vincent and the grenadines": "VC",
    "gambia the": "GM",
    "bahamas the": "BS",
}

# User-assigned codes in common customs use: Kosovo, and ZZ for "unknown or unspecified"
# (declared as such, which is information, not an error).
_EXTRA_ALPHA2 = {"XK", "ZZ"}
_EXTRA_ALPHA3 = {"XKX": "XK"}


@cache
def country_code(raw: str) -> str | None:
    """ISO 3166-1 alpha-2 for a code (alpha-2/alpha-3/numeric) or a name, or None if unknown."""
    text = raw.strip()
    if not text:
        return None
    upper = text.upper()
    key = vocab.simplify(text).removeprefix("the ")
    if key in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[key]
    found = None
    if upper.isdigit():
        found = pycountry.countries.get(numeric=upper.zfill(3))
    elif len(upper) == 2 and upper.isalpha():
        if upper in _EXTRA_ALPHA2:
            return upper
        found = pycountry.countries.get(alpha_2=upper)
    elif len(upper) == 3 and upper.isalpha():
        if upper in _EXTRA_ALPHA3:
            return _EXTRA_ALPHA3[upper]
        found = pycountry.countries.get(alpha_3=upper)
    if found is not None:
        return found.alpha_2
    if len(upper) <= 3:
        return None
    for name in (text, re.sub(r"(?i)^the\s+", "", text)):
        try:
            return pycountry.countries.lookup(name).alpha_2
        except LookupError:
            continue
    return None


def _by_distinct(raw: pd.Series, convert: Callable[[str], str | None], what: str) -> Normalised:
    """Apply `convert` once per distinct present value; None means invalid."""
    text = _as_text(raw)
    present = text.notna()
    uniques = text[present].unique()
    mapping = {u: convert(u) for u in uniques}
    values = text.map(mapping).astype("string")
    bad = present & values.isna()
    errors = pd.Series(pd.NA, index=raw.index, dtype="string")
    errors[bad] = what + " " + _quote(text[bad])
    return Normalised(values, errors)


def _as_text(raw: pd.Series) -> pd.Series:
    text = raw.astype("string").str.strip()
    return text.mask(text == "")


def _quote(values: pd.Series) -> pd.Series:
    return "'" + values.astype("string").str.slice(0, 60) + "'"


def normalise_country(raw: pd.Series) -> Normalised:
    """Countries to ISO 3166-1 alpha-2."""
    return _by_distinct(raw, country_code, "unknown country")


_STRONG_SPLIT = re.compile(r"\s*[;|/>]\s*|\s+-\s+")


def country_list(raw: str) -> str | None:
    """Codes of a route list; a comma separates countries unless it is part of one name."""
    codes: list[str] = []
    for part in (p for p in _STRONG_SPLIT.split(raw) if p.strip()):
        # "Hong Kong, China" and "Korea, Republic of" are one country each; "AE,SG" is two.
        whole = country_code(part)
        pieces = [whole] if whole else [country_code(p) for p in part.split(",") if p.strip()]
        if not pieces or any(c is None for c in pieces):
            return None
        codes += pieces  # type: ignore[arg-type]
    return ";".join(codes)


def normalise_country_list(raw: pd.Series) -> Normalised:
    """A list of countries (separated by ; , | / or >) to ISO alpha-2 codes joined by ';'."""
    result = _by_distinct(raw, country_list, "unknown country in list")
    # An empty list is a valid value: no transit.
    result.values = result.values.fillna("")
    return result


_HS_NOISE = re.compile(r"[\s.\-]")
_FLOAT_REPR = re.compile(r"^\d+\.0$")
_LAST_GROUP_SHORT = re.compile(r"(?<=^\d{4})\.(\d)$|(?<=\.\d\d)\.(\d)$")


def hs_code(raw: str) -> str | None:
    """Digits of an HS code, or None unless 4 to 10 digits in chapter 01-97 (77 is reserved)."""
    text = raw.strip()
    if _FLOAT_REPR.match(text):  # a spreadsheet number: 100630.0
        text = text[:-2]
    # HS groups are digit pairs: "1006.3" is 1006.30 whose trailing zero a spreadsheet dropped.
    text = _LAST_GROUP_SHORT.sub(lambda m: "." + (m.group(1) or m.group(2)) + "0", text)
    digits = _HS_NOISE.sub("", text)
    if not digits.isdigit():
        return None
    # A spreadsheet that held the code as a number dropped its leading zero (10630 for 010630).
    if len(digits) in (3, 5, 7, 9):
        digits = "0" + digits
    if len(digits) not in (4, 6, 8, 10):
        return None
    chapter = int(digits[:2])
    if not 1 <= chapter <= 97 or chapter == 77:
        return None
    return digits


def normalise_hs_code(raw: pd.Series) -> Normalised:
    """HS codes: strip dots and spaces, keep leading zeros, validate the chapter."""
    return _by_distinct(raw, hs_code, "invalid HS code")


def hs_levels(codes: pd.Series, prefix: str = "") -> dict[str, pd.Series]:
    """HS2/HS4/HS6 columns from normalised codes (HS6 missing for 4-digit codes)."""
    hs6 = codes.str.slice(0, 6)
    return {
        f"{prefix}hs2": codes.str.slice(0, 2),
        f"{prefix}hs4": codes.str.slice(0, 4),
        f"{prefix}hs6": hs6.mask(hs6.str.len() < 6),
    }


def _vocabulary(aliases: Mapping[str, str]) -> Callable[[str], str | None]:
    table = {vocab.simplify(k): v for k, v in aliases.items()}
    return lambda raw: table.get(vocab.simplify(raw))


_MODE_NAMES = _vocabulary(vocab.MODE_ALIASES)


def transport_mode(raw: str) -> str | None:
    """Transport mode from a name or a UN/ECE Recommendation 19 code."""
    text = raw.strip()
    if text.endswith(".0"):
        text = text[:-2]
    # ASCII digits only: str.isdigit() also accepts '¹' or '٣', which are no Rec. 19 code.
    if text.isascii() and text.isdigit() and len(text) <= 2:
        return vocab.REC19_MODES[text[0]]
    return _MODE_NAMES(text)


def normalise_mode(raw: pd.Series) -> Normalised:
    """Transport modes to one vocabulary; missing means unknown."""
    result = _by_distinct(raw, transport_mode, "unknown transport mode")
    result.values = result.values.fillna("unknown")
    return result


def normalise_choice(raw: pd.Series, aliases: Mapping[str, str], what: str) -> Normalised:
    """A controlled vocabulary with its known spellings."""
    return _by_distinct(raw, _vocabulary(aliases), f"unknown {what}")


def normalise_unit(raw: pd.Series) -> Normalised:
    """Units of quantity to vocab.UNITS."""
    return normalise_choice(raw, vocab.UNIT_ALIASES, "unit")


def currency_code(raw: str) -> str | None:
    """ISO 4217 alpha-3 from a code."""
    found = pycountry.currencies.get(alpha_3=raw.strip().upper())
    return found.alpha_3 if found else None


def normalise_currency(raw: pd.Series) -> Normalised:
    return _by_distinct(raw, currency_code, "unknown currency")


_THOUSANDS_COMMA = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$")
# "1.500" alone is ambiguous (1.5 in most exports): dots are thousands only beside a decimal
# comma or when repeated.
_THOUSANDS_DOT = re.compile(r"^[-+]?\d{1,3}((\.\d{3}){2,}(,\d*)?|\.\d{3},\d*)$")


def number(raw: str) -> float | None:
    """A finite number from "1234.5", "1,234.5", "1.234,5", "1 234,5" or "1,5"; else None."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "").replace("'", "")
    if _THOUSANDS_COMMA.match(text):
        text = text.replace(",", "")
    elif _THOUSANDS_DOT.match(text) or ("," in text and "." not in text):
        text = text.replace(".", "").replace(",", ".")  # decimal comma
    elif "," in text and "." in text:
        return None  # mixed separators in no known layout
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def normalise_number(raw: pd.Series) -> Normalised:
    """Non-negative finite numbers, with thousands separators and decimal commas understood."""
    text = _as_text(raw)
    present = text.notna().to_numpy()
    # Plain numbers in one vectorised pass; only the rest (separators, junk) goes value by value.
    fast = pd.to_numeric(text, errors="coerce")
    values = np.array(fast.to_numpy(dtype="float64", na_value=np.nan), dtype="float64")
    slow = present & ~np.isfinite(values)
    if slow.any():
        rest = text[slow]
        table = {u: number(u) for u in rest.unique()}
        values[slow] = [table[v] if table[v] is not None else np.nan for v in rest]
    values = pd.Series(values, index=raw.index)
    errors = pd.Series(pd.NA, index=raw.index, dtype="string")
    unparsed = present & values.isna().to_numpy()
    errors[unparsed] = "not a number " + _quote(text[unparsed])
    negative = values < 0
    errors[negative] = "negative value " + _quote(text[negative])
    return Normalised(values.mask(negative), errors)


def normalise_flag(raw: pd.Series) -> Normalised:
    """0/1 flags from 0/1, true/false, yes/no, y/n."""
    table = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0, "y": 1, "n": 0}
    text = _as_text(raw).str.lower().str.removesuffix(".0")
    values = text.map(table).astype("Int8")
    errors = pd.Series(pd.NA, index=raw.index, dtype="string")
    bad = text.notna() & values.isna()
    errors[bad] = "not a 0/1 flag " + _quote(text[bad])
    return Normalised(values, errors)


# Tried in order after ISO 8601; customs data outside North America writes the day first.
DATE_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y%m%d", "%d %b %Y", "%d %B %Y", "%Y/%m/%d")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_TZ_SUFFIX = re.compile(r"(?<=\d\d:\d\d)((?::\d\d)?(?:\.\d+)?)\s*(?:Z|UTC|[+-]\d\d:?\d\d)$")


def normalise_date(
    raw: pd.Series, formats: tuple[str, ...] = DATE_FORMATS, today: date | None = None
) -> Normalised:
    """Dates to day precision from ISO strings, the given formats, or Excel serial numbers."""
    text = _as_text(raw)
    # A million rows hold a few thousand distinct dates: parse each once.
    codes, uniques = pd.factorize(text)
    parsed, failed = _parse_dates(pd.Series(uniques, dtype="string"), formats)
    known = codes >= 0
    values = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    values[known] = parsed.to_numpy()[codes[known]]
    unparsed = np.zeros(len(text), dtype=bool)
    unparsed[known] = failed[codes[known]]
    errors = pd.Series(pd.NA, index=raw.index, dtype="string")
    errors[unparsed] = "unparseable date " + _quote(text[unparsed])
    limit = pd.Timestamp(today or date.today())
    future = values > limit
    errors[future] = "date in the future " + _quote(text[future])
    values[future] = pd.NaT
    return Normalised(values, errors)


FIRST_DAY, LAST_DAY = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")  # plausible records


def _parse_dates(text: pd.Series, formats: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    """Parsed dates of distinct texts, and which could not be parsed."""
    # The local date as written: a UTC offset or "Z" says nothing about the day of the record.
    text = text.str.replace(_TZ_SUFFIX, r"\1", regex=True)
    values = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    todo = text.notna()
    values[todo] = _dates(text[todo], "ISO8601")
    todo &= values.isna()
    for fmt in formats:
        if not todo.any():
            break
        values[todo] = _dates(text[todo], fmt)
        todo &= values.isna()
    if todo.any():
        serial = pd.to_numeric(text[todo], errors="coerce")
        plausible = serial.between(20_000, 80_000)  # 1954 to 2119
        values[todo] = _EXCEL_EPOCH + pd.to_timedelta(serial.where(plausible), unit="D")
        todo &= values.isna()
    return values.dt.normalize(), todo.to_numpy()


def _dates(text: pd.Series, fmt: str) -> pd.Series:
    """Dates in FIRST_DAY..LAST_DAY as nanosecond timestamps; anything else missing.

    pandas parses "0001-01-01" at a coarser unit than nanoseconds; kept as it is, the value
    would overflow the column and fail the whole file instead of refusing one row.
    """
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    return parsed.where(parsed.between(FIRST_DAY, LAST_DAY)).astype("datetime64[ns]")


def normalise_text(raw: pd.Series) -> Normalised:
    """Trimmed text; empty means missing."""
    text = _as_text(raw)
    return Normalised(text, pd.Series(pd.NA, index=raw.index, dtype="string"))


# Control characters (C0, DEL, C1) other than tab, line feed and carriage return, which a
# multi-line spreadsheet cell legitimately holds. A NUL or a bell in free text is an export
# fault, not content.
CONTROL_IN_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
CONTROL_ANY = r"[\x00-\x1f\x7f-\x9f]"
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"  # for pydantic: a value free of them
_CONTROL_IN_TEXT = re.compile(CONTROL_IN_TEXT)


def strip_control_characters(value: str) -> str:
    """One text value without control characters (tab, line feed, carriage return kept)."""
    return _CONTROL_IN_TEXT.sub("", value)


def without_control_characters(raw: pd.Series) -> pd.Series:
    """Text with control characters removed (tab, line feed and carriage return kept)."""
    text = raw.astype("string")
    found = text.str.contains(CONTROL_IN_TEXT, regex=True).fillna(False).astype(bool)
    if not found.any():  # the usual case: one vectorised scan, no copy
        return text
    text = text.copy()
    text[found] = text[found].str.replace(CONTROL_IN_TEXT, "", regex=True)
    return text


def control_character_errors(raw: pd.Series) -> pd.Series:
    """Per row, why a value that must hold no control character at all (an id) is refused.

    Checked after trimming, so a trailing tab or line break is not a fault.
    """
    text = raw.astype("string").str.strip()
    found = text.str.contains(CONTROL_ANY, regex=True).fillna(False).astype(bool)
    errors = pd.Series(pd.NA, index=raw.index, dtype="string")
    if found.any():
        # Escaped (\x00), so the reason itself holds no control character.
        errors[found] = [f"contains a control character {v[:60]!r}" for v in text[found]]
    return errors
