"""The planted risk patterns: one per TFA Art. 7.4.4 criterion, and the inspection that finds them.

Each shipment's truth is a noisy-OR of independent causes, p = 1 - prod(1 - hazard) over the
patterns that apply to it; an illicit shipment's cause is drawn in proportion to those hazards.
docs/demo-data.md gives each pattern's rule and the rates measured on a 20k data set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from riskscore.synth.catalogue_arrays import Catalogue, product_index
from riskscore.synth.catalogue_goods import COVER_DESCRIPTIONS, PRODUCTS
from riskscore.synth.scope import COURIER, POSTAL, SEA

if TYPE_CHECKING:
    from riskscore.synth.shipments import Shipments
    from riskscore.synth.traders import World


@dataclass(frozen=True)
class Pattern:
    """A planted risk pattern: the TFA criterion it illustrates, its strength, what finds it."""

    name: str
    criterion: str  # TFA Art. 7.4.4 criterion
    hazard: float  # probability that a matching shipment is illicit because of this pattern
    rule: str
    feature: str  # the kind of feature that should recover it


PATTERNS: tuple[Pattern, ...] = (
    Pattern("background", "none", 0.004, "every shipment", "none (noise floor)"),
    Pattern(
        "rice_cocaine",
        "hs_code",
        0.30,
        "HS 1006 rice from EC, CO, PE or BR by sea (cocaine in the cover load)",
        "seizure rate of HS4 x origin, member and regional seizures",
    ),
    Pattern(
        "cigarette_hub",
        "shipped_from_route",
        0.30,
        "HS 2402 shipped from AE, SG or PA while originating elsewhere",
        "departure != origin; seizure rate of HS4 x country shipped from",
    ),
    Pattern(
        "undervaluation",
        "value",
        0.85,
        "4 % of HS 6110, 8517 and 8703 shipments declared at 8-28 % of their value",
        "declared unit value / reference unit value of the HS code (x mode)",
    ),
    Pattern(
        "repeat_offender",
        "trader_record",
        0.25,
        "1.5 % of importers (mid-sized, present from the start), whole period",
        "importer's past hit rate and seizure count (point in time)",
    ),
    Pattern(
        "new_trader",
        "trader_record",
        0.15,
        "importers entering from April 2024 on, during their first 180 days",
        "days since the importer was first seen; number of past declarations",
    ),
    Pattern(
        "parcel_drugs",
        "transport_mode",
        0.15,
        "postal or courier, under 2 kg, origin NL, CA, US or CO",
        "mode x origin rate; gross weight",
    ),
    Pattern(
        "description_mismatch",
        "goods_description",
        0.30,
        "0.8 % of shipments described as goods of another heading",
        "how usual the description is under the declared HS4 (text vs HS consistency)",
    ),
    Pattern(
        "timber_origin",
        "origin",
        0.20,
        "HS chapter 44 (wood) originating in CM",
        "origin x HS chapter rate",
    ),
)
PATTERN_INDEX = {p.name: i for i, p in enumerate(PATTERNS)}
PATTERN_NAMES = np.array([p.name for p in PATTERNS], dtype=object)
REVENUE_CASE = PATTERN_INDEX["undervaluation"]  # found on inspection; never a CEN seizure

RICE_ORIGINS = ("EC", "CO", "PE", "BR")
CIGARETTE_HUBS = ("AE", "SG", "PA")
CIGARETTE_HUB_ORIGINS = {"CN": 0.35, "VN": 0.2, "ID": 0.15, "KR": 0.1, "AE": 0.2}
CIGARETTE_HUB_SHARE = 0.3  # of cigarette shipments routed through a hub
UNDERVALUED_HEADINGS = ("6110", "8517", "8703")
UNDERVALUATION_SHARE = 0.04  # fraudulent, among shipments of those headings
LOW_PRICE_SHARE = 0.015  # legitimately cheap (clearance sales, seconds) among the same
PARCEL_DRUG_ORIGINS = ("NL", "CA", "US", "CO")
PARCEL_DRUG_MAX_KG = 2.0
MISMATCH_SHARE = 0.008
TIMBER_CHAPTER, TIMBER_ORIGIN = "44", "CM"
NEW_TRADER_DAYS = 180
IMPORT_VAT = 0.20

# Inspection (selectivity): a random floor plus a push from a noisy view of the true risk.
INSPECT_RANDOM = 0.30
INSPECT_RISK_GAIN = 4.0
INSPECT_MAX = 0.95
LATE_DETECTION = 0.15  # share of uninspected illicit shipments seized later, inland


def declared_values(rng: np.random.Generator, s: Shipments) -> tuple[np.ndarray, np.ndarray]:
    """Declared values, and which are undervalued (the value pattern).

    Legitimately cheap lots of the same headings look alike, so that price alone is not proof.
    """
    n = len(s.prod)
    uv_heading = np.isin(s.prod, [product_index(h) for h in UNDERVALUED_HEADINGS])
    u = rng.random(n)
    undervalued = uv_heading & (u < UNDERVALUATION_SHARE)
    cheap = uv_heading & (u >= UNDERVALUATION_SHARE) & (u < UNDERVALUATION_SHARE + LOW_PRICE_SHARE)
    factor = np.ones(n)
    factor[undervalued] = rng.uniform(0.08, 0.28, int(undervalued.sum()))
    factor[cheap] = rng.uniform(0.15, 0.35, int(cheap.sum()))
    value = np.maximum(0.01, np.round(s.true_value * factor, 2))
    return value, undervalued


def misdescribe(c: Catalogue, rng: np.random.Generator, s: Shipments) -> np.ndarray:
    """Describe some shipments as goods of another heading (goods_description pattern).

    Changes s.desc in place and returns the mask of the misdescribed shipments.
    """
    mismatch = rng.random(len(s.prod)) < MISMATCH_SHARE
    s.desc[mismatch] = _mismatched_descriptions(c, rng, s.prod[mismatch])
    return mismatch


def _mismatched_descriptions(
    c: Catalogue, rng: np.random.Generator, prod: np.ndarray
) -> np.ndarray:
    """Half generic cover descriptions ("ceramic tiles"), half another heading's description."""
    m = len(prod)
    n_cover = len(COVER_DESCRIPTIONS)
    out = len(c.descs) - n_cover + rng.integers(0, n_cover, m)
    other = (prod + rng.integers(1, len(PRODUCTS), m)) % len(PRODUCTS)
    use_other = rng.random(m) < 0.5
    for i in np.flatnonzero(use_other):
        out[i] = rng.choice(c.prod_descs[other[i]])
    return out


def planted_truth(
    w: World,
    rng: np.random.Generator,
    s: Shipments,
    undervalued: np.ndarray,
    mismatch: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True probability, illicit draw and cause (index into PATTERNS, -1 when licit)."""
    n = len(s.prod)
    hz = np.zeros((n, len(PATTERNS)))
    for name, rows in _matches(w, s, undervalued, mismatch).items():
        hz[rows, PATTERN_INDEX[name]] = PATTERNS[PATTERN_INDEX[name]].hazard
    p_true = 1.0 - np.prod(1.0 - hz, axis=1)
    illicit = rng.random(n) < p_true
    reason = np.full(n, -1, dtype=np.int64)
    cum = np.cumsum(hz[illicit], axis=1)
    at = rng.random(len(cum)) * cum[:, -1]
    reason[illicit] = (cum < at[:, None]).sum(axis=1)
    reason[illicit & undervalued] = REVENUE_CASE  # found on inspection: a revenue case
    return p_true, illicit, reason


def _matches(
    w: World, s: Shipments, undervalued: np.ndarray, mismatch: np.ndarray
) -> dict[str, np.ndarray]:
    """Pattern name -> the shipments it applies to."""
    c = w.cat
    imp = s.imp
    return {
        "background": np.ones(len(s.prod), dtype=bool),
        "rice_cocaine": (s.prod == product_index("1006"))
        & np.isin(s.origin, [c.cix[x] for x in RICE_ORIGINS])
        & (s.mode == SEA),
        "cigarette_hub": (s.prod == product_index("2402"))
        & (s.departure != s.origin)
        & np.isin(s.departure, [c.cix[x] for x in CIGARETTE_HUBS]),
        "undervaluation": undervalued,
        "repeat_offender": w.repeat_offender[imp],
        "new_trader": (w.entry_day[imp] > 0) & (s.day - w.entry_day[imp] < NEW_TRADER_DAYS),
        "parcel_drugs": ((s.mode == COURIER) | (s.mode == POSTAL))
        & np.isin(s.origin, [c.cix[x] for x in PARCEL_DRUG_ORIGINS])
        & (s.weight < PARCEL_DRUG_MAX_KG),
        "description_mismatch": mismatch,
        "timber_origin": _timber_headings()[s.prod] & (s.origin == c.cix[TIMBER_ORIGIN]),
    }


@cache
def _timber_headings() -> np.ndarray:
    return np.array([p.hs4.startswith(TIMBER_CHAPTER) for p in PRODUCTS])


def draw_inspections(rng: np.random.Generator, p_true: np.ndarray) -> np.ndarray:
    """Selectivity: a random share plus a push from a noisy view of the true risk."""
    n = len(p_true)
    p_seen = p_true * rng.lognormal(0.0, 0.6, n)
    return rng.random(n) < np.minimum(INSPECT_MAX, INSPECT_RANDOM + INSPECT_RISK_GAIN * p_seen)


def revenue_recovered(
    c: Catalogue, s: Shipments, value: np.ndarray, found: np.ndarray
) -> np.ndarray:
    """Customs duty plus import VAT on the undervalued part, where undervaluation was found."""
    duty = c.prod_duty[s.prod]
    return np.where(
        found,
        np.round((s.true_value - value) * (duty + IMPORT_VAT * (1 + duty)), 2),
        0.0,
    )
