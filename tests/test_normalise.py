"""Table-driven tests of the raw-value normalisers in riskscore.features.normalise."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.features import normalise as norm
from riskscore.features import vocab


def run(normaliser, raws, **kwargs) -> norm.Normalised:
    """Apply a normaliser to a list of raw text values (None = missing cell)."""
    result = normaliser(pd.Series(raws, dtype="string"), **kwargs)
    assert len(result.values) == len(raws) == len(result.errors)
    return result


def one(normaliser, raw, **kwargs) -> tuple[object, object]:
    """(clean value, error reason) of a single raw value; missing values come back as None."""
    result = run(normaliser, [raw], **kwargs)
    value, error = result.values.iloc[0], result.errors.iloc[0]
    return (None if pd.isna(value) else value), (None if pd.isna(error) else error)


# --- countries --------------------------------------------------------------------------------

COUNTRIES = [
    ("Hong Kong, China", "HK"),
    ("Macao, China", "MO"),
    ("Korea", "KR"),
    ("Republic of Korea", "KR"),
    ("Korea, Republic of", "KR"),
    ("Lao PDR", "LA"),
    ("Viet Nam", "VN"),
    ("Iran", "IR"),
    ("Iran (Islamic Republic of)", "IR"),
    ("Türkiye", "TR"),
    ("The Netherlands", "NL"),
    ("the Gambia", "GM"),
    ("Turkey", "TR"),
    ("UK", "GB"),
    ("USA", "US"),
    ("United States", "US"),
    ("Russia", "RU"),
    ("Taiwan", "TW"),
    ("Côte d'Ivoire", "CI"),
    ("People's Republic of China", "CN"),
    ("COL", "CO"),  # alpha-3
    ("076", "BR"),  # ISO numeric
    ("76", "BR"),  # numeric that lost its leading zero
    ("NA", "NA"),  # Namibia, not a missing value
    ("Namibia", "NA"),
    ("EL", "GR"),  # the EU's code for Greece
    ("XK", "XK"),  # Kosovo, user-assigned
    ("ZZ", "ZZ"),  # user-assigned "unknown or unspecified", declared as such (e.g. KCS data)
    ("kr", "KR"),
    ("  viet   nam ", "VN"),
    (" germany ", "DE"),
]


@pytest.mark.parametrize(("raw", "expected"), COUNTRIES)
def test_country_is_normalised_to_alpha2(raw, expected):
    assert one(norm.normalise_country, raw) == (expected, None)


@pytest.mark.parametrize("raw", ["Atlantis", "QQ", "XYZ", "999", "n/a"])
def test_unknown_country_is_rejected_with_reason(raw):
    value, error = one(norm.normalise_country, raw)
    assert value is None
    assert error == f"unknown country '{raw}'"


def test_ascii_cote_divoire_is_recognised():
    assert one(norm.normalise_country, "Cote d'Ivoire") == ("CI", None)


def test_missing_country_is_not_an_error():
    result = run(norm.normalise_country, [None, "", "  "])
    assert result.values.isna().all()
    assert result.errors.isna().all()


def test_country_normalisation_keeps_row_alignment():
    result = run(norm.normalise_country, ["Viet Nam", "Atlantis", None, "Viet Nam", "UK"])
    assert result.values.tolist()[0] == "VN"
    assert result.values.tolist()[3:] == ["VN", "GB"]
    assert result.errors.notna().tolist() == [False, True, False, False, False]


COUNTRY_LISTS = [
    ("Panama; NL", "PA;NL"),
    ("AE,SG", "AE;SG"),
    ("CN > HK > SG", "CN;HK;SG"),
    ("AE / SG", "AE;SG"),
    ("Korea, Republic of; SG", "KR;SG"),
    ("", ""),
    (None, ""),
]


@pytest.mark.parametrize(("raw", "expected"), COUNTRY_LISTS)
def test_country_list(raw, expected):
    assert one(norm.normalise_country_list, raw) == (expected, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Hong Kong, China; SG", "HK;SG"), ("Hong Kong, China", "HK"), ("Macao, China; HK", "MO;HK")],
)
def test_country_list_with_comma_in_a_country_name(raw, expected):
    assert one(norm.normalise_country_list, raw) == (expected, None)


def test_country_list_with_one_unknown_is_rejected():
    value, error = one(norm.normalise_country_list, "SG; Atlantis")
    assert value == ""  # the list is dropped, with a reason
    assert error == "unknown country in list 'SG; Atlantis'"


# --- HS codes ---------------------------------------------------------------------------------

HS_CODES = [
    ("1006.30", "100630"),
    ("0101 21", "010121"),
    ("0101.21.00", "01012100"),
    ("10630", "010630"),  # a spreadsheet number that dropped its leading zero
    ("1006", "1006"),
    ("8471300000", "8471300000"),  # 10-digit national tariff line
    ("847130000", "0847130000"),
    ("9701", "9701"),  # chapter 97 is the last one
]


@pytest.mark.parametrize(("raw", "expected"), HS_CODES)
def test_hs_code_is_normalised(raw, expected):
    assert one(norm.normalise_hs_code, raw) == (expected, None)


@pytest.mark.parametrize(
    "raw",
    [
        "9999",  # chapter 99: national use, not HS
        "9801",
        "7701",  # chapter 77 is reserved
        "00123456",  # chapter 00
        "abc",
        "97",  # too short
        "12345678901",  # too long
        "1006-3x",
    ],
)
def test_invalid_hs_code_is_rejected(raw):
    value, error = one(norm.normalise_hs_code, raw)
    assert value is None
    assert error == f"invalid HS code '{raw}'"


@pytest.mark.parametrize(
    ("raw", "expected"), [("100630.0", "100630"), ("10630.0", "010630"), ("1006.0", "1006")]
)
def test_hs_code_written_as_float(raw, expected):
    assert one(norm.normalise_hs_code, raw) == (expected, None)


def test_hs_levels():
    codes = pd.Series(["100630", "1006", "8471300000", None], dtype="string")
    levels = norm.hs_levels(codes)
    assert set(levels) == {"hs2", "hs4", "hs6"}
    assert levels["hs2"].tolist()[:3] == ["10", "10", "84"]
    assert levels["hs4"].tolist()[:3] == ["1006", "1006", "8471"]
    assert levels["hs6"].tolist()[0] == "100630"
    assert pd.isna(levels["hs6"].iloc[1])  # a 4-digit heading has no HS6
    assert levels["hs6"].iloc[2] == "847130"
    assert all(pd.isna(levels[k].iloc[3]) for k in levels)


def test_hs_levels_prefix():
    levels = norm.hs_levels(pd.Series(["240220"], dtype="string"), prefix="declared_")
    assert {k: v.iloc[0] for k, v in levels.items()} == {
        "declared_hs2": "24",
        "declared_hs4": "2402",
        "declared_hs6": "240220",
    }


# --- transport modes --------------------------------------------------------------------------

MODES = [
    ("Maritime", "sea"),
    ("SEA", "sea"),
    ("Air cargo", "air"),
    ("Post", "postal"),
    ("Express courier", "courier"),
    ("pipeline", "fixed_installation"),
    ("barge", "inland_waterway"),
    ("Rail transport", "rail"),
    ("truck", "road"),
    ("1", "sea"),
    ("2", "rail"),
    ("3", "road"),
    ("4", "air"),
    ("5", "postal"),
    ("6", "unknown"),  # multimodal
    ("7", "fixed_installation"),
    ("8", "inland_waterway"),
    ("9", "unknown"),
    ("10", "sea"),  # two-digit national sub-codes keep the first digit
    ("40", "air"),
    ("40.0", "air"),
    ("", "unknown"),
    (None, "unknown"),
]


@pytest.mark.parametrize(("raw", "expected"), MODES)
def test_transport_mode(raw, expected):
    assert one(norm.normalise_mode, raw) == (expected, None)
    assert expected in vocab.TRANSPORT_MODES


@pytest.mark.parametrize("raw", ["zeppelin", "100", "teleport"])
def test_unknown_transport_mode_is_rejected(raw):
    value, error = one(norm.normalise_mode, raw)
    assert error == f"unknown transport mode '{raw}'"
    # the value itself falls back to "unknown" but the row carries the reason
    assert value == "unknown"


# --- units, currencies, numbers, flags --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("KGM", "kg"),
        ("kgs", "kg"),
        ("Kg", "kg"),
        ("pieces", "unit"),
        ("sticks", "unit"),
        ("PR", "pair"),
        (" l ", "l"),
        ("TNE", "t"),
        ("carats", "carat"),
    ],
)
def test_unit(raw, expected):
    assert one(norm.normalise_unit, raw) == (expected, None)
    assert expected in vocab.UNITS


@pytest.mark.parametrize("raw", ["xyz", "bushel"])
def test_unknown_unit_is_rejected(raw):
    assert one(norm.normalise_unit, raw) == (None, f"unknown unit '{raw}'")


@pytest.mark.parametrize(("raw", "expected"), [("usd", "USD"), ("EUR", "EUR"), (" KRW ", "KRW")])
def test_currency(raw, expected):
    assert one(norm.normalise_currency, raw) == (expected, None)


@pytest.mark.parametrize("raw", ["XYZ", "dollar"])
def test_unknown_currency_is_rejected(raw):
    assert one(norm.normalise_currency, raw) == (None, f"unknown currency '{raw}'")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,234.5", 1234.5), ("1 000", 1000.0), ("0", 0.0), ("12.50", 12.5), ("1e3", 1000.0)],
)
def test_number(raw, expected):
    assert one(norm.normalise_number, raw) == (expected, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("-5", "negative value '-5'"),
        ("-0.01", "negative value '-0.01'"),
        ("abc", "not a number 'abc'"),
    ],
)
def test_bad_number_is_rejected(raw, reason):
    value, error = one(norm.normalise_number, raw)
    assert value is None
    assert error == reason


def test_missing_number_is_not_an_error():
    result = run(norm.normalise_number, [None, ""])
    assert result.values.isna().all() and result.errors.isna().all()


@pytest.mark.parametrize("raw", ["inf", "Infinity", "1.5e400"])
def test_infinite_number_is_rejected_not_silently_dropped(raw):
    value, error = one(norm.normalise_number, raw)
    assert value is None
    assert error is not None


@pytest.mark.parametrize(("raw", "decimal_comma_value"), [("1,5", 1.5), ("1.234,5", 1234.5)])
def test_decimal_comma_is_read_as_decimal(raw, decimal_comma_value):
    # A lone comma, or a comma after dotted thousands, is the decimal mark: never 15 or 12345.
    assert one(norm.normalise_number, raw) == (decimal_comma_value, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("0", 0), ("yes", 1), ("No", 0), ("TRUE", 1), ("n", 0), ("1.0", 1), ("0.0", 0)],
)
def test_flag(raw, expected):
    assert one(norm.normalise_flag, raw) == (expected, None)


@pytest.mark.parametrize("raw", ["2", "maybe"])
def test_bad_flag_is_rejected(raw):
    assert one(norm.normalise_flag, raw) == (None, f"not a 0/1 flag '{raw}'")


# --- dates ------------------------------------------------------------------------------------

TODAY = date(2024, 6, 1)

DATES = [
    ("2024-02-05", "2024-02-05"),
    ("05/02/2024", "2024-02-05"),  # day first
    ("05.02.2024", "2024-02-05"),
    ("05-02-2024", "2024-02-05"),
    ("20240205", "2024-02-05"),
    ("5 Feb 2024", "2024-02-05"),
    ("5 February 2024", "2024-02-05"),
    ("2024/02/05", "2024-02-05"),
    ("45327", "2024-02-05"),  # Excel serial
    ("45327.0", "2024-02-05"),
    ("2024-02-05 00:00:00", "2024-02-05"),  # how pandas reads an Excel date cell as text
    ("2024-02-05T10:30:00", "2024-02-05"),  # time of day dropped
    ("2024-06-01", "2024-06-01"),  # today is not the future
]


@pytest.mark.parametrize(("raw", "expected"), DATES)
def test_date(raw, expected):
    assert one(norm.normalise_date, raw, today=TODAY) == (pd.Timestamp(expected), None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2024-13-01", "unparseable date '2024-13-01'"),
        ("31/02/2024", "unparseable date '31/02/2024'"),
        ("12/31/2024", "unparseable date '12/31/2024'"),  # month-first is not guessed
        ("12345", "unparseable date '12345'"),  # implausible Excel serial
        ("yesterday", "unparseable date 'yesterday'"),
        ("2024-06-02", "date in the future '2024-06-02'"),
        ("2030-01-01", "date in the future '2030-01-01'"),
    ],
)
def test_bad_date_is_rejected(raw, reason):
    assert one(norm.normalise_date, raw, today=TODAY) == (None, reason)


def test_mixed_date_formats_in_one_column():
    raws = ["2024-02-05", "06/02/2024", "45329", None, "nonsense", "20240208"]
    result = run(norm.normalise_date, raws, today=TODAY)
    assert result.values.tolist() == [
        pd.Timestamp("2024-02-05"),
        pd.Timestamp("2024-02-06"),
        pd.Timestamp("2024-02-07"),
        pd.NaT,
        pd.NaT,
        pd.Timestamp("2024-02-08"),
    ]
    assert result.errors.notna().tolist() == [False, False, False, False, True, False]


def test_custom_date_format_is_tried():
    value, error = one(norm.normalise_date, "02/05/2024", formats=("%m/%d/%Y",), today=TODAY)
    assert (value, error) == (pd.Timestamp("2024-02-05"), None)


@pytest.mark.parametrize(
    ("raws", "expected"),
    [
        (["2024-02-05T10:30:00+09:00"], ["2024-02-05"]),
        # Beside a naive date: pandas will not parse aware and naive times in one call.
        (["2024-02-05T10:30:00+09:00", "2024-02-06"], ["2024-02-05", "2024-02-06"]),
        # 03:30 at +09:00 is the 4th in UTC: the offset is dropped, not applied.
        (["2024-02-05T03:30:00+09:00", "2024-02-05T22:00:00Z"], ["2024-02-05", "2024-02-05"]),
    ],
)
def test_date_with_utc_offset_keeps_the_local_date(raws, expected):
    result = run(norm.normalise_date, raws, today=TODAY)
    assert result.values.tolist() == [pd.Timestamp(d) for d in expected]
    assert result.errors.isna().all()


@pytest.mark.parametrize("raw", ["0001-01-01", "1500-01-01", "1899-12-31", "2500-01-01", "-5"])
def test_a_date_outside_any_plausible_record_is_refused_not_fatal(raw):
    result = run(norm.normalise_date, [raw, "2024-02-05"], today=TODAY)
    assert pd.isna(result.values.iloc[0]) and not pd.isna(result.errors.iloc[0])
    assert result.values.iloc[1] == pd.Timestamp("2024-02-05")
    assert pd.isna(result.errors.iloc[1])


@pytest.mark.parametrize(
    "convert",
    [norm.transport_mode, norm.country_code, norm.hs_code, norm.currency_code, norm.country_list],
    ids=lambda f: f.__name__,
)
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=12))
def test_a_single_value_normaliser_never_raises(convert, text):
    """The API runs these on every field of a request: any text is a value or None (a 422),
    never an exception (a 500). Found by the fuzzer: '¹' passed str.isdigit()."""
    assert convert(text) is None or isinstance(convert(text), str)


@pytest.mark.parametrize("raw", ["¹", "٣", "²2", "1¹"])
def test_non_ascii_digits_are_no_transport_mode_code(raw):
    assert norm.transport_mode(raw) is None
