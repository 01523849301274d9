"""The feature registry: every model input declared once, as data.

Each feature names its WTO TFA Art. 7.4.4 selectivity criterion, says in plain language what it
measures (the words reach officers through explanations), and says how it is computed from the
row itself and from point-in-time statistics (`Stat`s) over earlier declarations, earlier
inspection outcomes and earlier seizures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from riskscore.features.pipeline import Context


class Criterion(StrEnum):
    """Selectivity criteria of WTO TFA Art. 7.4.4, plus the regional seizure intelligence."""

    HS_CODE = "hs_code"
    GOODS_DESCRIPTION = "goods_description"
    ORIGIN = "origin"
    ROUTE = "shipped_from_route"
    VALUE = "value"
    TRADER = "trader_record"
    MODE = "transport_mode"
    SEIZURE = "seizure_intelligence"
    DECLARATION = "declaration_attributes"  # a member's own extra columns (x_*)


class Source(StrEnum):
    """What a statistic counts."""

    DECLARATIONS = "declarations"  # every earlier declaration, known on its date
    OUTCOMES = "outcomes"  # earlier outcomes (n, positives), known `outcome_lag_days` later
    POSITIVES = "positives"  # earlier positive outcomes only
    VALUES = "values"  # earlier declarations with a unit value: n and sum of log unit value
    TOKENS = "tokens"  # earlier (HS heading, description word) pairs
    SEIZURES = "seizures"  # earlier seizures in the seizure database


@dataclass(frozen=True)
class Stat:
    """A point-in-time aggregate per key over events dated strictly before each row."""

    name: str
    keys: str  # a prepared column holding the key ("*" is one key for all rows)
    source: Source
    decayed: bool = False  # weight events by the seizure half-life
    first_day: bool = False
    last_day: bool = False


@dataclass(frozen=True)
class Feature:
    """One model input."""

    name: str
    criterion: Criterion
    description: str
    compute: Callable[[Context], np.ndarray] | None = None  # None: the prepared column as is
    categorical: bool = False
    unit: str = ""  # how the value reads in a sentence: "x", "%", "days", "USD/kg"...

    def describe(self) -> dict[str, object]:
        """What the API, the CLI and a run's feature_registry.json say of the feature."""
        return {
            "name": self.name,
            "criterion": self.criterion.value,
            "categorical": self.categorical,
            "description": self.description,
        }


TRADER_ROLES = {"importer": "importer_id", "exporter": "exporter_id", "declarant": "declarant_id"}
SEIZURE_CELLS = {
    "hs4_origin": "HS heading from this origin",
    "hs4_departure": "HS heading shipped from this country",
    "route": "this route (origin to country shipped from)",
    "mode": "this means of transport",
}
NEVER_DAYS = 3650.0  # "no offence on record": ten years, so the feature stays a number
KNOWN_CAP_DAYS = 365.0


def _stats() -> tuple[Stat, ...]:
    stats: list[Stat] = []
    for role, column in TRADER_ROLES.items():
        stats += [
            Stat(f"{role}_decl", column, Source.DECLARATIONS, first_day=True),
            Stat(f"{role}_out", column, Source.OUTCOMES),
            Stat(f"{role}_pos", column, Source.POSITIVES, last_day=True),
        ]
    stats += [
        Stat("all_out", "*", Source.OUTCOMES),
        Stat("hs4_out", "hs4", Source.OUTCOMES),
        Stat("origin_out", "origin_country", Source.OUTCOMES),
        Stat("route_out", "route", Source.OUTCOMES),
        Stat("mode_origin_out", "mode_origin", Source.OUTCOMES),
        Stat("hs6_value", "hs6", Source.VALUES),
        Stat("hs4_value", "hs4", Source.VALUES),
        Stat("hs4_decl", "hs4", Source.DECLARATIONS),
        Stat("hs4_tokens", "hs4_token", Source.TOKENS),
        Stat("sz_all", "*", Source.SEIZURES, decayed=True),
        Stat("tr_all", "*", Source.DECLARATIONS, decayed=True),
    ]
    for cell in SEIZURE_CELLS:
        stats += [
            Stat(f"sz_{cell}", cell, Source.SEIZURES, decayed=True),
            Stat(f"tr_{cell}", cell, Source.DECLARATIONS, decayed=True),
        ]
    return tuple(stats)


STATS = _stats()


def _hit_rate(stat: str) -> Callable[[Context], np.ndarray]:
    return lambda ctx: ctx.hit_rate(stat)


def _seizure_lift(cell: str) -> Callable[[Context], np.ndarray]:
    return lambda ctx: ctx.seizure_lift(cell)


def _trader_features(role: str) -> list[Feature]:
    who = {"importer": "importer", "exporter": "exporter (seller)", "declarant": "declarant"}[role]
    return [
        Feature(
            f"{role}_declarations",
            Criterion.TRADER,
            f"Earlier declarations of this {who}",
            lambda ctx, r=role: ctx.stat(f"{r}_decl", "n"),
        ),
        Feature(
            f"{role}_offences",
            Criterion.TRADER,
            f"Earlier offences of this {who} on record",
            lambda ctx, r=role: ctx.stat(f"{r}_pos", "n"),
        ),
        Feature(
            f"{role}_hit_rate",
            Criterion.TRADER,
            f"Share of this {who}'s earlier inspected declarations found irregular (smoothed)",
            _hit_rate(f"{role}_out"),
            unit="%",
        ),
        Feature(
            f"{role}_days_known",
            Criterion.TRADER,
            f"Days since this {who} first declared (0 for a new {who}; at most a year)",
            # Capped: beyond a year "established" is all it says, and an uncapped count grows
            # with the calendar, which a model then learns as a date.
            lambda ctx, r=role: np.minimum(
                ctx.days_since(f"{r}_decl", "first_day", default=0.0), KNOWN_CAP_DAYS
            ),
            unit="days",
        ),
        Feature(
            f"{role}_days_since_offence",
            Criterion.TRADER,
            f"Days since this {who}'s last offence (3650 when none on record)",
            lambda ctx, r=role: ctx.days_since(f"{r}_pos", "last_day", default=NEVER_DAYS),
            unit="days",
        ),
    ]


FEATURES: tuple[Feature, ...] = (
    Feature("hs2", Criterion.HS_CODE, "HS chapter", categorical=True),
    Feature("hs4", Criterion.HS_CODE, "HS heading", categorical=True),
    Feature("hs6", Criterion.HS_CODE, "HS subheading", categorical=True),
    Feature(
        "hs4_hit_rate",
        Criterion.HS_CODE,
        "Share of earlier declarations under this HS heading found irregular (smoothed)",
        _hit_rate("hs4_out"),
        unit="%",
    ),
    Feature(
        "desc_hs_match",
        Criterion.GOODS_DESCRIPTION,
        "Share of the description's words usually seen with the declared HS heading",
        lambda ctx: ctx.description_match(),
        unit="%",
    ),
    Feature(
        "desc_vague",
        Criterion.GOODS_DESCRIPTION,
        "Share of vague words in the description (goods, samples, gift, various...)",
        unit="%",
    ),
    Feature(
        "desc_words", Criterion.GOODS_DESCRIPTION, "Number of content words in the description"
    ),
    Feature("origin_country", Criterion.ORIGIN, "Country of origin", categorical=True),
    Feature(
        "origin_hit_rate",
        Criterion.ORIGIN,
        "Share of earlier declarations from this origin found irregular (smoothed)",
        _hit_rate("origin_out"),
        unit="%",
    ),
    Feature("departure_country", Criterion.ROUTE, "Country shipped from", categorical=True),
    Feature("origin_differs", Criterion.ROUTE, "Shipped from a country other than the origin"),
    Feature("n_transit", Criterion.ROUTE, "Number of transit countries"),
    Feature(
        "route_hit_rate",
        Criterion.ROUTE,
        "Share of earlier declarations on this route found irregular (smoothed)",
        _hit_rate("route_out"),
        unit="%",
    ),
    Feature("log_value", Criterion.VALUE, "Declared value (log)"),
    Feature("log_weight", Criterion.VALUE, "Weight in kg (log)"),
    Feature("log_unit_value", Criterion.VALUE, "Declared value per kg (log)"),
    Feature(
        "value_vs_reference",
        Criterion.VALUE,
        "Declared value per kg against the usual price of this HS subheading (log ratio; "
        "negative is below the usual price)",
        lambda ctx: ctx.value_vs_reference(),
        unit="log",
    ),
    *_trader_features("importer"),
    *_trader_features("exporter"),
    *_trader_features("declarant"),
    Feature("transport_mode", Criterion.MODE, "Means of transport", categorical=True),
    Feature(
        "mode_origin_hit_rate",
        Criterion.MODE,
        "Share of earlier declarations by this means of transport from this origin found "
        "irregular (smoothed)",
        _hit_rate("mode_origin_out"),
        unit="%",
    ),
    *(
        Feature(
            f"seizure_lift_{cell}",
            Criterion.SEIZURE,
            f"Seizure rate of {what} against the average (recent seizures weigh more)",
            _seizure_lift(cell),
            unit="x",
        )
        for cell, what in SEIZURE_CELLS.items()
    ),
)


@lru_cache(maxsize=4096)  # asked for on every scoring call; a Feature is immutable
def extra_feature(column: str, categorical: bool) -> Feature:
    """The registry entry of a member-specific column (x_*) found in the data."""
    label = column.removeprefix("x_").replace("_", " ")
    return Feature(
        column,
        Criterion.DECLARATION,
        f"Declared {label} (member-specific field)",
        categorical=categorical,
    )
