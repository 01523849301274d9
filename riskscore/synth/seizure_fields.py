"""Seizure fields shared by the member's and the region's seizures: what was seized and how much,
the HS code as precise as a seizure gives it, the conveyance and the type of place."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.synth.catalogue_arrays import Catalogue
from riskscore.synth.catalogue_goods import PRODUCTS
from riskscore.synth.catalogue_places import CARRIERS
from riskscore.synth.catalogue_seizures import (
    PARCEL_CONCEALMENT,
    PARCEL_DETECTION,
    PARCEL_DRUGS,
    PATTERN_OFFENCES,
    VESSEL_NAMES,
)
from riskscore.synth.draws import pick
from riskscore.synth.patterns import PATTERN_NAMES

_GENERIC_CONCEALMENT = ("misdeclared goods", "mixed with legitimate goods", "not concealed")
_GENERIC_DETECTION = ("risk profiling", "documentary check", "physical examination", "random check")


def as_text(numbers: np.ndarray, width: int = 0) -> np.ndarray:
    """Integers as zero-padded text, in an object array that concatenates with +."""
    text = np.asarray(numbers).astype(str)
    return (np.char.zfill(text, width) if text.size else text).astype(object)


def blank(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Leave an optional field empty in a share of the rows, as members do."""
    out = np.asarray(values, dtype=object).copy()
    out[rng.random(len(out)) < share] = ""
    return out


def offence_fields(
    c: Catalogue, t: pd.DataFrame, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """What was seized, why, how it was hidden and found, and how much, from the cause."""
    n = len(t)
    reason = PATTERN_NAMES[t["_reason"].to_numpy()]
    by_product = np.array([p.seizure for p in PRODUCTS], dtype=object)[t["_prod"].to_numpy()]
    out = {
        "commodity_category": by_product[:, 0].copy(),
        "offence_type": by_product[:, 1].copy(),
        "description": by_product[:, 2].copy(),
        "concealment_method": pick(rng, _GENERIC_CONCEALMENT, n),
        "detection_method": pick(rng, _GENERIC_DETECTION, n),
        "quantity": t["quantity"].to_numpy(dtype=float).copy(),
        "quantity_unit": t["quantity_unit"].to_numpy(dtype=object).copy(),
        "estimated_value": t["declared_value"].to_numpy(dtype=float).copy(),
    }
    rows = reason == "description_mismatch"
    out["offence_type"][rows] = "misdescription of goods"
    declared = t["goods_description"].to_numpy(dtype=object)[rows]
    out["description"][rows] = out["description"][rows] + " declared as " + declared
    for name, o in PATTERN_OFFENCES.items():
        rows = np.flatnonzero(reason == name)
        m = len(rows)
        out["commodity_category"][rows] = o.category
        out["offence_type"][rows] = o.offence
        out["description"][rows] = pick(rng, o.goods, m)
        out["concealment_method"][rows] = pick(rng, o.concealment, m)
        out["detection_method"][rows] = pick(rng, o.detection, m)
        if o.unit:
            out["quantity"][rows] = np.round(o.median_qty * rng.lognormal(0.0, 0.8, m), 1)
            out["quantity_unit"][rows] = o.unit
        if o.usd_per_unit:
            out["estimated_value"][rows] = np.round(out["quantity"][rows] * o.usd_per_unit, 2)
    _parcel_drugs(c, t, rng, out, np.flatnonzero(reason == "parcel_drugs"))
    out["concealment_method"] = blank(rng, out["concealment_method"], 0.05)
    out["detection_method"] = blank(rng, out["detection_method"], 0.05)
    out["estimated_value"][rng.random(n) < 0.08] = np.nan
    return out


def _parcel_drugs(
    c: Catalogue,
    t: pd.DataFrame,
    rng: np.random.Generator,
    out: dict[str, np.ndarray],
    rows: np.ndarray,
) -> None:
    """Sets out[rows]: grams of the drug each origin sends by parcel, at wholesale prices."""
    m = len(rows)
    drug = [
        PARCEL_DRUGS.get(c.countries[o], ("herbal cannabis", 6_000.0))
        for o in t["_origin"].to_numpy()[rows]
    ]
    grams = np.maximum(1.0, np.round(300.0 * rng.lognormal(0.0, 0.9, m)))
    out["commodity_category"][rows] = "drugs"
    out["offence_type"][rows] = "drug trafficking"
    out["description"][rows] = np.array([d[0] for d in drug], dtype=object)
    out["concealment_method"][rows] = pick(rng, PARCEL_CONCEALMENT, m)
    out["detection_method"][rows] = pick(rng, PARCEL_DETECTION, m)
    out["quantity"][rows], out["quantity_unit"][rows] = grams, "g"
    out["estimated_value"][rows] = np.round(grams / 1000 * np.array([d[1] for d in drug]), 2)


def hs_precision(rng: np.random.Generator, codes: pd.Series) -> np.ndarray:
    """Seizures give the HS code to 4, 6 or all digits: at least the heading, for linking."""
    digits = rng.choice([4, 6, 8], size=len(codes), p=[0.4, 0.3, 0.3])
    return np.array([code[:d] for code, d in zip(codes, digits, strict=True)], dtype=object)


def conveyances(rng: np.random.Generator, mode: np.ndarray, carrier: np.ndarray) -> np.ndarray:
    """Vessel and voyage, flight number or lorry; nothing for parcels."""
    n = len(mode)
    out = np.full(n, "", dtype=object)
    number = as_text(rng.integers(100, 1000, n))
    sea, air, road = mode == "sea", mode == "air", mode == "road"
    out[sea] = pick(rng, VESSEL_NAMES, int(sea.sum())) + " V." + number[sea]
    codes = {cr.name: cr.code for cr in CARRIERS}
    airline = np.array([codes.get(x) or "XX" for x in carrier[air]], dtype=object)
    out[air] = airline + as_text(rng.integers(1, 10_000, int(air.sum())), 4)
    out[road] = "lorry " + as_text(rng.integers(10, 100, int(road.sum()))) + "-" + number[road]
    return blank(rng, out, 0.3)


def place_types(mode: np.ndarray, member: bool) -> np.ndarray:
    """The type of place where goods travelling by each mode are seized."""
    # Lorries reach the member through RoRo ports; the other members have land borders.
    road = "seaport" if member else "land_border"
    table = {"sea": "seaport", "air": "airport", "road": road}
    return np.array([table.get(m, "postal_courier_centre") for m in mode], dtype=object)
