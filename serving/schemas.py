"""The API contract: request and response models.

A declaration has the field names of the declaration data contract (features.contracts), so a
record read from the store can be posted as it is. Values are normalised by the same functions
ingestion uses ("Ecuador" -> EC, "1006.30" -> 100630, "Maritime" -> sea); a value they reject is
a 422 naming the field. Member-specific x_* fields are kept; other unknown fields are ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from riskscore.features import normalise, vocab
from riskscore.features.contracts import CLEARANCE, EXTRA_PREFIX, Kind
from riskscore.features.contracts import Field as ContractField
from riskscore.settings import MAX_TOP_K


def _check(convert, what: str):  # noqa: ANN001, ANN202 - tiny adapter
    def validator(value: str) -> str:
        converted = convert(value)
        if converted is None:
            raise ValueError(f"{what} {value!r}")
        return converted

    return AfterValidator(validator)


def _choice(aliases: dict[str, str], what: str):  # noqa: ANN202
    table = {vocab.simplify(k): v for k, v in aliases.items()}
    return _check(lambda v: table.get(vocab.simplify(v)), f"unknown {what}")


# The same rules as ingestion: an id with a control character is refused, free text loses them.
Id = Annotated[str, Field(min_length=1, max_length=100, pattern=normalise.NO_CONTROL_PATTERN)]
Text = Annotated[str, Field(max_length=500), AfterValidator(normalise.strip_control_characters)]
Country = Annotated[str, Field(max_length=80), _check(normalise.country_code, "unknown country")]
HsCode = Annotated[str, Field(max_length=20), _check(normalise.hs_code, "invalid HS code")]
Mode = Annotated[str, Field(max_length=40), _check(normalise.transport_mode, "unknown mode")]
CountryList = Annotated[
    str, Field(max_length=400), _check(normalise.country_list, "unknown country in list")
]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Currency = Annotated[str, Field(max_length=3), _check(normalise.currency_code, "unknown currency")]

_TYPES: dict[Kind, Any] = {
    Kind.ID: Id,
    Kind.TEXT: Text,
    Kind.DATE: dt.date,
    Kind.COUNTRY: Country,
    Kind.COUNTRY_LIST: CountryList,
    Kind.HS_CODE: HsCode,
    Kind.MODE: Mode,
    Kind.NUMBER: Amount,
    Kind.UNIT: Annotated[str, _choice(vocab.UNIT_ALIASES, "unit")],
    Kind.CURRENCY: Currency,
}


def _field(f: ContractField) -> tuple[Any, Any]:
    if f.kind is Kind.CHOICE:
        kind = Annotated[str, _choice(vocab.FLOW_ALIASES, f.name)]
    else:
        kind = _TYPES[f.kind]
    if f.required:
        return kind, Field(description=f.description)
    return kind | None, Field(default=None, description=f.description)


class _DeclarationBase(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    def fields(self) -> dict[str, Any]:
        """Contract fields and x_* extras; other extra fields are dropped."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        for name, value in (self.model_extra or {}).items():
            if name.startswith(EXTRA_PREFIX):
                data[name] = value
        return data


Declaration = create_model(
    "Declaration",
    __base__=_DeclarationBase,
    __doc__="A declaration (or manifest line) to score.",
    **{f.name: _field(f) for f in CLEARANCE.fields},
)

EXAMPLE = {
    "id": "CLR-000001234",
    "date": "2025-12-01",
    "reporting_country": "GB",
    "hs_code": "10063000",
    "goods_description": "milled rice",
    "origin_country": "EC",
    "departure_country": "EC",
    "transport_mode": "sea",
    "importer_id": "IMP-00042",
    "exporter_id": "EXP-00917",
    "declarant_id": "DEC-007",
    "gross_weight_kg": 24000,
    "declared_value": 16800,
    "currency": "USD",
}


class ScoreRequest(BaseModel):
    declarations: list[Declaration] = Field(min_length=1)  # type: ignore[valid-type]
    top_k: int | None = Field(
        default=None,
        ge=0,
        le=MAX_TOP_K,
        description="Reasons per declaration (0: none; the number of features or more: all); "
        "absent: the server's RISKSCORE_TOP_K (5 unless configured)",
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"declarations": [EXAMPLE]}]})


class ReasonOut(BaseModel):
    feature: str
    criterion: str = Field(description="A TFA Art. 7.4.4 criterion, or `alert` (an analyst's)")
    value: Any
    contribution: float | None = Field(description="SHAP contribution, log-odds; null: an alert")
    sentence: str
    alert_id: str | None = Field(None, description="For an alert: its id")
    message: str | None = Field(None, description="For an alert: the analyst's message")


class ScoreOut(BaseModel):
    id: str
    score: float = Field(description="Calibrated probability that the declaration is illicit")
    raw_score: float = Field(description="Model output in log-odds")
    base_value: float = Field(description="SHAP base value; base + contributions = raw_score")
    channel: str = Field(
        description="red, yellow, green, or random (TFA Art. 7.4.3); at least the channel of "
        "every analyst alert the declaration matches"
    )
    model_channel: str | None = Field(
        None, description="The model's own channel, when an alert raised it (or could have)"
    )
    alerts: list[str] | None = Field(None, description="Ids of the analyst alerts it matches")
    reasons: list[ReasonOut] | None = Field(
        default=None,
        description="Matched alerts first, then the top_k largest contributions; absent when "
        "top_k is 0 and no alert matched",
    )


class ModelRef(BaseModel):
    name: str
    version: str
    alias: str
    state_version: str = Field(
        description="The feature state scored with: a `riskscore refresh` stamp, or 'trained'"
    )
    state_as_of: str | None = Field(description="The state holds the records dated before this")


class ScoreResponse(BaseModel):
    request_id: str
    model: ModelRef
    results: list[ScoreOut]


class OutcomeIn(BaseModel):
    declaration_id: Id
    reporting_country: Country = Field(description="Member the declaration belongs to")
    illicit: int = Field(ge=0, le=1)
    revenue_recovered: Amount | None = None
    inspection_date: dt.date


class OutcomesRequest(BaseModel):
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=10_000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outcomes": [
                        {
                            "declaration_id": "CLR-000001234",
                            "reporting_country": "GB",
                            "illicit": 1,
                            "revenue_recovered": 0,
                            "inspection_date": "2025-12-03",
                        }
                    ]
                }
            ]
        }
    )


class OutcomesResponse(BaseModel):
    stored: int = Field(description="New outcomes stored")
    duplicates: int = Field(description="Identical repeats of stored outcomes, ignored")
    received: int = Field(description="Outcomes in the request")


class Thresholds(BaseModel):
    red_share: float
    yellow_share: float
    random_share: float
    red_above_raw_score: float
    yellow_above_raw_score: float


class FeatureOut(BaseModel):
    name: str
    criterion: str = Field(description="WTO TFA Art. 7.4.4 selectivity criterion")
    categorical: bool
    description: str


class ExplainerOut(BaseModel):
    kind: str = Field(
        description="treeshap-tables (exact, tables built at load) or lightgbm-pred-contrib"
    )
    table_bytes: int = Field(description="Memory of the SHAP tables of this model")
    build_seconds: float
    trees: int
    leaves: int
    max_path_features: int = Field(description="Most distinct features on one root-to-leaf path")
    table_depth: int = Field(
        description="Leaves with more path features are computed without a table (-1: none has)"
    )
    few_rows: str | None = Field(
        None,
        description="How a call of a few declarations is explained: from the tables on one "
        "thread when they fit the processor's caches, else from each leaf's polynomial with the "
        "trees split over the cores",
    )
    note: str | None = Field(description="E.g. tables limited by RISKSCORE_SHAP_TABLE_CAP_MB")
    fallback_reason: str | None = Field(
        description="Why LightGBM's pred_contrib explains this model instead of the exact kernel"
    )


class ModelResponse(ModelRef):
    source: str = Field(description="registry, or cache when the registry was unreachable")
    loaded_at: str
    registry_reachable: bool
    last_error: str | None
    cache_error: str | None = Field(
        None, description="Why the local model cache could not be written (or was refused)"
    )
    info: dict[str, Any] = Field(description="Training window, sizes, metrics, configuration")
    state_created_at: str | None = Field(description="When the feature state was computed")
    state_age_seconds: float | None = Field(description="Seconds since then")
    thresholds: Thresholds
    explainer: ExplainerOut = Field(description="How the reasons' SHAP values are computed")
    features: list[FeatureOut]


class FeatureImportance(BaseModel):
    feature: str
    criterion: str
    mean_abs_shap: float


class CriterionImportance(BaseModel):
    criterion: str
    mean_abs_shap: float


class ImportanceResponse(BaseModel):
    by_feature: list[FeatureImportance]
    by_criterion: list[CriterionImportance] = Field(description="Largest first")


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ReadyResponse(BaseModel):
    ready: bool
    model: ModelRef | None
    source: str | None = Field(description="registry, or cache when the registry was unreachable")
    registry_reachable: bool
    last_error: str | None = Field(description="The registry's last trouble, or a refused version")
    cache_error: str | None = Field(description="Why the local model cache was refused")
    reason: str | None = Field(description="When not ready: why no model serves")


class AlertIn(BaseModel):
    criteria: dict[str, list[str]] = Field(
        description="criterion -> accepted values (all criteria must hold, any value of one): "
        "hs (HS prefix), origin, departure, transit, mode, importer, exporter, declarant, "
        "trader, document, container; @NAME names a watch list",
        examples=[{"hs": ["1006"], "origin": ["CO"], "mode": ["sea"]}],
    )
    channel: str = Field("yellow", description="The minimum channel it imposes: yellow or red")
    message: str = Field(min_length=1, max_length=1000, description="What officers read")
    author: str = Field(min_length=1, max_length=200, description="The analyst adding it")
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


class AlertOut(BaseModel):
    id: str
    criteria: dict[str, list[str]]
    channel: str
    message: str
    author: str
    valid_from: str | None
    valid_until: str | None
    created_at: str
    expired_at: str | None
    active: bool


class ExpireIn(BaseModel):
    author: str = Field(min_length=1, max_length=200, description="The analyst expiring it")
