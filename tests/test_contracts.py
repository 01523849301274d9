"""The declared contracts: field lists, derived columns, and the pandera schemas they build."""

from __future__ import annotations

import pandas as pd
import pandera.errors
import pytest

from riskscore.features import vocab
from riskscore.features.contracts import (
    CLEARANCE,
    CONTRACTS,
    DECLARATIONS,
    SEIZURES,
    Contract,
    Field,
    Kind,
    empty_frame,
    get_contract,
)
from riskscore.features.readers import SOURCE_ROW
from riskscore.features.validation import validate

# One good raw row per contract, in messy-but-valid spellings; validate() normalises it.
GOOD_RAW = {
    "seizures": {
        "id": ["S1", "S2"],
        "date": ["2024-01-05", "06/01/2024"],
        "reporting_country": ["KR", "Viet Nam"],
        "commodity_category": ["drugs", "cigarettes"],
        "hs_code": ["1211.90", "2402.20"],
        "quantity": ["12.5", "1,000"],
        "quantity_unit": ["kgs", "sticks"],
        "transport_mode": ["Maritime", "4"],
        "transit_countries": ["Panama; NL", ""],
        "place_type": ["port", "airport"],
    },
    "clearance": {
        "id": ["C1", "C2"],
        "date": ["2024-01-05", "2024-01-06"],
        "reporting_country": ["KR", "KR"],
        "hs_code": ["100630", "8471.30"],
        "origin_country": ["CN", "USA"],
        "flow": ["import", "IM"],
        "declared_value": ["100", "2,500.75"],
        "currency": ["usd", "KRW"],
    },
    "declarations": {
        "id": ["D1", "D2"],
        "date": ["2024-01-05", "2024-01-06"],
        "reporting_country": ["KR", "KR"],
        "hs_code": ["100630", "0101 21"],
        "origin_country": ["CN", "Hong Kong, China"],
        "illicit": ["1", "no"],
        "revenue_recovered": ["150.5", ""],
    },
}


def good_frame(contract: Contract) -> pd.DataFrame:
    raw = pd.DataFrame(GOOD_RAW[contract.name], dtype="string")
    raw[SOURCE_ROW] = range(2, 2 + len(raw))
    checked = validate(contract, raw)
    assert checked.rejected_reasons.empty, checked.rejected_reasons.tolist()
    return checked.accepted


def schema_failures(contract: Contract, frame: pd.DataFrame) -> list[tuple[str, object]]:
    """(column, failure case) pairs the contract's pandera schema reports for `frame`."""
    try:
        contract.schema().validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return list(zip(cases["column"], cases["failure_case"], strict=True))
    return []


@pytest.mark.parametrize("contract", CONTRACTS.values(), ids=list(CONTRACTS))
def test_schema_accepts_a_good_normalised_frame(contract):
    frame = good_frame(contract)
    assert len(frame) == 2
    assert schema_failures(contract, frame) == []
    assert sorted(frame.columns) == sorted(contract.field_names + contract.derived_columns)


@pytest.mark.parametrize("contract", CONTRACTS.values(), ids=list(CONTRACTS))
def test_schema_accepts_the_empty_frame(contract):
    frame = empty_frame(contract)
    assert list(frame.columns) == contract.field_names + contract.derived_columns
    assert schema_failures(contract, frame) == []


BAD_VALUES = [
    ("seizures", "quantity", -1.0),
    ("seizures", "estimated_value", -0.5),
    ("seizures", "hs_code", "1006.30"),
    ("seizures", "hs_code", "9999"),
    ("seizures", "hs_code", "10063"),
    ("seizures", "reporting_country", "kr"),
    ("seizures", "reporting_country", "KOR"),
    ("seizures", "transit_countries", "PA,NL"),
    ("seizures", "transport_mode", "boat"),
    ("seizures", "quantity_unit", "kgs"),
    ("seizures", "commodity_category", "cigarettes"),
    ("seizures", "place_type", "port"),
    ("clearance", "origin_country", "cn"),
    ("clearance", "currency", "usd"),
    ("clearance", "flow", "IM"),
    ("clearance", "declared_value", -100.0),
    ("declarations", "illicit", 2),
    ("declarations", "hs_code", "0012"),
]


@pytest.mark.parametrize(("kind", "column", "value"), BAD_VALUES)
def test_schema_rejects_a_bad_value(kind, column, value):
    contract = get_contract(kind)
    frame = good_frame(contract)
    frame.loc[frame.index[1], column] = value
    assert schema_failures(contract, frame) == [(column, value)]


@pytest.mark.parametrize("contract", CONTRACTS.values(), ids=list(CONTRACTS))
def test_schema_rejects_a_duplicate_id(contract):
    frame = good_frame(contract)
    frame.loc[frame.index[1], "id"] = frame["id"].iloc[0]
    failures = schema_failures(contract, frame)
    assert failures and {col for col, _ in failures} == {"id"}


@pytest.mark.parametrize("contract", CONTRACTS.values(), ids=list(CONTRACTS))
@pytest.mark.parametrize("column", ["id", "date", "reporting_country"])
def test_schema_rejects_a_missing_required_value(contract, column):
    frame = good_frame(contract)
    frame.loc[frame.index[0], column] = None
    assert [col for col, _ in schema_failures(contract, frame)] == [column]


def test_schema_rejects_a_missing_required_column():
    frame = good_frame(SEIZURES).drop(columns=["commodity_category"])
    # pandera reports a missing column against the schema, with the column as the failure case
    assert schema_failures(SEIZURES, frame) == [("seizures", "commodity_category")]


def test_schema_lets_extra_member_columns_through():
    frame = good_frame(DECLARATIONS).assign(x_office_id=pd.Series(["40", "20"], dtype="string"))
    assert schema_failures(DECLARATIONS, frame) == []


def test_schema_rejects_reserved_chapter_77():
    frame = good_frame(CLEARANCE)
    frame.loc[frame.index[1], "hs_code"] = "770100"
    assert schema_failures(CLEARANCE, frame) == [("hs_code", "770100")]


def test_required_fields():
    assert SEIZURES.required == ["id", "date", "reporting_country", "commodity_category"]
    assert CLEARANCE.required == ["id", "date", "reporting_country", "hs_code", "origin_country"]
    assert DECLARATIONS.required == CLEARANCE.required + ["illicit"]


def test_declarations_extend_clearance():
    assert DECLARATIONS.field_names[: len(CLEARANCE.field_names)] == CLEARANCE.field_names
    assert DECLARATIONS.field_names[len(CLEARANCE.field_names) :] == [
        "illicit",
        "revenue_recovered",
    ]


@pytest.mark.parametrize("contract", CONTRACTS.values(), ids=list(CONTRACTS))
def test_field_names_are_unique_and_lookup_works(contract):
    names = contract.field_names
    assert len(names) == len(set(names))
    assert contract.field("id").kind is Kind.ID
    with pytest.raises(KeyError):
        contract.field("no_such_field")


def test_derived_hs_columns():
    for contract in CONTRACTS.values():
        assert contract.derived_columns == ["hs2", "hs4", "hs6"]
    prefixed = Contract(
        "t", "t", (Field("id", Kind.ID, "", required=True), Field("x_hs_code", Kind.HS_CODE, ""))
    )
    assert prefixed.derived_columns == ["x_hs2", "x_hs4", "x_hs6"]


def test_validate_fills_derived_hs_columns():
    frame = good_frame(SEIZURES)
    assert frame[["hs_code", "hs2", "hs4", "hs6"]].values.tolist() == [
        ["121190", "12", "1211", "121190"],
        ["240220", "24", "2402", "240220"],
    ]


def test_choice_fields_use_the_vocabularies():
    assert SEIZURES.field("commodity_category").choices == vocab.COMMODITY_CATEGORIES
    assert SEIZURES.field("place_type").choices == vocab.PLACE_TYPES
    assert CLEARANCE.field("flow").choices == vocab.FLOWS


def test_get_contract():
    assert get_contract("seizures") is SEIZURES
    assert get_contract("declarations") is DECLARATIONS


def test_get_contract_of_unknown_kind_names_the_valid_kinds():
    with pytest.raises(ValueError, match="unknown kind 'seizure'") as info:
        get_contract("seizure")
    message = str(info.value)
    for kind in ("seizures", "clearance", "declarations"):
        assert kind in message


def test_schema_failure_is_charged_to_the_right_row():
    # A contract whose schema is stricter than its normaliser: 'flow' accepts any FLOW alias,
    # but the schema allows only 'import', so 'export' is caught by pandera, not the normaliser.
    strict = Contract(
        "strict",
        "t",
        (
            Field("id", Kind.ID, "", required=True),
            Field("flow", Kind.CHOICE, "", choices=("import",)),
        ),
    )
    raw = pd.DataFrame(
        {"id": [None, "B", "C", "D"], "flow": ["import", "import", "export", "import"]},
        dtype="string",
    ).assign(**{SOURCE_ROW: [2, 3, 4, 5]})
    checked = validate(strict, raw)
    assert checked.accepted["id"].tolist() == ["B", "D"]
    assert sorted(checked.rejected_reasons.index) == [0, 2]
    assert "export" in checked.rejected_reasons.loc[2]
