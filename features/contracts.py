"""Data contracts for the three input kinds: seizures, clearance records, labelled declarations.

Each contract is declared once, as data: a tuple of `Field`s. The same declaration drives the
normalisation of raw values (`features.normalise`), the pandera schema that validates the result,
the Excel bulk-upload template and docs/data-contracts.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import pandas as pd
import pandera.pandas as pa

from riskscore.features import vocab


class Kind(StrEnum):
    """How a raw value is normalised and what the stored value looks like."""

    ID = "id"  # non-empty text, unique within the kind
    TEXT = "text"
    DATE = "date"  # ISO date
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    COUNTRY_LIST = "country_list"  # ISO alpha-2 codes joined by ";" in route order
    HS_CODE = "hs_code"  # 4 to 10 digits, chapter 01-97; derives hs2/hs4/hs6
    MODE = "transport_mode"  # vocab.TRANSPORT_MODES
    NUMBER = "number"  # non-negative float
    UNIT = "unit"  # vocab.UNITS
    CURRENCY = "currency"  # ISO 4217 alpha-3
    FLAG = "flag"  # 0/1
    CHOICE = "choice"  # one of Field.choices


@dataclass(frozen=True)
class Field:
    """One column of a contract."""

    name: str
    kind: Kind
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    """A declared input schema: its fields, and the pandera schema that enforces them."""

    name: str
    title: str
    fields: tuple[Field, ...]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def derived_columns(self) -> list[str]:
        """Columns the normaliser adds (HS levels of every HS-code field)."""
        return [
            f"{prefix}{level}"
            for f in self.fields
            if f.kind is Kind.HS_CODE
            for prefix in [f.name.removesuffix("hs_code")]
            for level in ("hs2", "hs4", "hs6")
        ]

    def schema(self) -> pa.DataFrameSchema:
        return _schema(self)


def _column(f: Field) -> pa.Column:
    nullable = not f.required
    checks: list[pa.Check] = []
    dtype: object = "string"
    match f.kind:
        case Kind.ID | Kind.TEXT:
            if f.required:
                checks.append(pa.Check.str_length(min_value=1))
        case Kind.DATE:
            dtype = "datetime64[ns]"
        case Kind.COUNTRY:
            checks.append(pa.Check.str_matches(r"^[A-Z]{2}$"))
        case Kind.COUNTRY_LIST:
            checks.append(pa.Check.str_matches(r"^([A-Z]{2}(;[A-Z]{2})*)?$"))
        case Kind.HS_CODE:
            # Chapters 01-97; 77 is reserved by the HS.
            checks.append(
                pa.Check.str_matches(r"^(0[1-9]|[1-6]\d|7[0-689]|8\d|9[0-7])(\d{2}){1,4}$")
            )
        case Kind.MODE:
            checks.append(pa.Check.isin(vocab.TRANSPORT_MODES))
        case Kind.NUMBER:
            dtype = "float64"
            checks.append(pa.Check.ge(0))
        case Kind.UNIT:
            checks.append(pa.Check.isin(vocab.UNITS))
        case Kind.CURRENCY:
            checks.append(pa.Check.str_matches(r"^[A-Z]{3}$"))
        case Kind.FLAG:
            dtype = "Int8"
            checks.append(pa.Check.isin([0, 1]))
        case Kind.CHOICE:
            checks.append(pa.Check.isin(f.choices))
    return pa.Column(
        dtype,
        checks=checks,
        nullable=nullable,
        unique=f.kind is Kind.ID,
        required=True,
        description=f.description,
    )


@cache
def _schema(contract: Contract) -> pa.DataFrameSchema:
    columns = {f.name: _column(f) for f in contract.fields}
    for col in contract.derived_columns:
        columns[col] = pa.Column("string", nullable=True, required=True)
    # Member-specific extra columns (prefix x_) pass through untouched.
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name=contract.name)


_ROUTE = (
    Field("origin_country", Kind.COUNTRY, "Country of origin of the goods"),
    Field("departure_country", Kind.COUNTRY, "Country the goods were shipped from (departure)"),
    Field("transit_countries", Kind.COUNTRY_LIST, "Transit countries in route order"),
    Field("destination_country", Kind.COUNTRY, "Country of destination"),
)

SEIZURES = Contract(
    name="seizures",
    title="Seizure records (WCO CEN-style)",
    fields=(
        Field("id", Kind.ID, "Seizure reference, unique per reporting office", required=True),
        Field("date", Kind.DATE, "Date of the seizure", required=True),
        Field("reporting_country", Kind.COUNTRY, "Country reporting the seizure", required=True),
        Field("place", Kind.TEXT, "Place of seizure (port, airport, border post, city)"),
        Field("place_type", Kind.CHOICE, "Type of place of seizure", choices=vocab.PLACE_TYPES),
        Field("offence_type", Kind.TEXT, "Offence (smuggling, trafficking, IPR infringement...)"),
        Field(
            "commodity_category",
            Kind.CHOICE,
            "Category of the commodity seized",
            required=True,
            choices=vocab.COMMODITY_CATEGORIES,
        ),
        Field("description", Kind.TEXT, "Description of the goods seized"),
        Field("hs_code", Kind.HS_CODE, "HS code of the goods, where known"),
        Field("quantity", Kind.NUMBER, "Quantity seized"),
        Field("quantity_unit", Kind.UNIT, "Unit of the quantity"),
        Field("estimated_value", Kind.NUMBER, "Estimated value in USD"),
        Field("transport_mode", Kind.MODE, "Means of transport"),
        Field("conveyance", Kind.TEXT, "Conveyance (vessel, flight, vehicle)"),
        Field("transport_document", Kind.TEXT, "Transport document: B/L, AWB or container number"),
        Field("detection_method", Kind.TEXT, "How the goods were detected"),
        Field("concealment_method", Kind.TEXT, "How the goods were concealed"),
        *_ROUTE,
        Field("trader", Kind.TEXT, "Trader (importer or exporter) identifier or name"),
        Field("consignee", Kind.TEXT, "Consignee identifier or name"),
    ),
)

_CLEARANCE_FIELDS = (
    Field("id", Kind.ID, "Record identifier, unique in the data set", required=True),
    Field("date", Kind.DATE, "Date of clearance (or of arrival)", required=True),
    Field("reporting_country", Kind.COUNTRY, "Reporting (importing) country", required=True),
    Field("flow", Kind.CHOICE, "Trade flow", choices=vocab.FLOWS),
    Field("hs_code", Kind.HS_CODE, "HS code declared", required=True),
    Field("goods_description", Kind.TEXT, "Description of goods as declared"),
    Field("origin_country", Kind.COUNTRY, "Country of origin", required=True),
    Field("departure_country", Kind.COUNTRY, "Country shipped from"),
    Field("port_of_loading", Kind.TEXT, "Port of loading (UN/LOCODE where known)"),
    Field("port_of_discharge", Kind.TEXT, "Port of discharge (UN/LOCODE where known)"),
    Field("transit_countries", Kind.COUNTRY_LIST, "Transit countries in route order"),
    Field("transport_mode", Kind.MODE, "Means of transport at the border"),
    Field("carrier", Kind.TEXT, "Carrier or vessel"),
    Field("transport_document", Kind.TEXT, "Transport document: B/L, AWB or container number"),
    Field("importer_id", Kind.TEXT, "Importer (consignee)"),
    Field("exporter_id", Kind.TEXT, "Exporter (shipper, seller)"),
    Field("declarant_id", Kind.TEXT, "Declarant (customs broker)"),
    Field("quantity", Kind.NUMBER, "Quantity in the supplementary unit"),
    Field("quantity_unit", Kind.UNIT, "Unit of the quantity"),
    Field("gross_weight_kg", Kind.NUMBER, "Gross (or net) weight in kg"),
    Field("declared_value", Kind.NUMBER, "Declared customs value"),
    Field("currency", Kind.CURRENCY, "Currency of the declared value (ISO 4217)"),
)

CLEARANCE = Contract(
    name="clearance",
    title="Clearance records (purchased commercial shipment data)",
    fields=_CLEARANCE_FIELDS,
)

DECLARATIONS = Contract(
    name="declarations",
    title="Labelled declarations (a member's own, with inspection outcomes)",
    fields=(
        *_CLEARANCE_FIELDS,
        Field("illicit", Kind.FLAG, "Inspection outcome: 1 if an offence was found", required=True),
        Field("revenue_recovered", Kind.NUMBER, "Revenue recovered by the inspection, if any"),
    ),
)

CONTRACTS: dict[str, Contract] = {c.name: c for c in (SEIZURES, CLEARANCE, DECLARATIONS)}

EXTRA_PREFIX = "x_"
"""Prefix of member-specific columns carried through ingestion as opaque text."""


def get_contract(kind: str) -> Contract:
    """The contract of an input kind, or a ValueError naming the valid kinds."""
    try:
        return CONTRACTS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(CONTRACTS)}") from None


def empty_frame(contract: Contract) -> pd.DataFrame:
    """A zero-row frame with the contract's stored dtypes."""
    data = {}
    for f in contract.fields:
        dtype = {Kind.DATE: "datetime64[ns]", Kind.NUMBER: "float64", Kind.FLAG: "Int8"}.get(
            f.kind, "string"
        )
        data[f.name] = pd.Series([], dtype=dtype)
    for col in contract.derived_columns:
        data[col] = pd.Series([], dtype="string")
    return pd.DataFrame(data)


def declaration_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready declarations (contract fields and x_* columns, ISO dates, None for
    missing): what the scoring API accepts, so a stored record can be posted as it is."""
    columns = [c for c in CLEARANCE.field_names if c in frame]
    columns += [c for c in frame.columns if c.startswith(EXTRA_PREFIX)]
    out = frame[columns].copy()
    if "date" in out and pd.api.types.is_datetime64_any_dtype(out["date"]):
        out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")
