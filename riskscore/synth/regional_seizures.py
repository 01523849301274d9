"""Seizures by the region's other members (RILO intelligence): never linked to a clearance record.

Most copy the goods, HS code, route and mode of an illicit shipment of the clearance data, so they
show the same patterns; the rest are regional background (cash, firearm parts, wildlife...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.synth.catalogue_arrays import Catalogue
from riskscore.synth.catalogue_seizures import (
    REGION_PLACES,
    REGION_REPORTERS,
    REGIONAL_AWB_PREFIXES,
    REGIONAL_BACKGROUND,
    REGIONAL_CONTAINER_PREFIXES,
    WASTE_DESTINATIONS,
)
from riskscore.synth.draws import draw, pick, weighted
from riskscore.synth.patterns import PATTERN_NAMES
from riskscore.synth.scope import MEMBER_COUNTRY, N_DAYS
from riskscore.synth.seizure_fields import (
    as_text,
    blank,
    conveyances,
    hs_precision,
    offence_fields,
    place_types,
)

# Seizure fields a background seizure takes from its kind of offence.
_BACKGROUND_FIELDS = (
    "offence_type",
    "commodity_category",
    "description",
    "hs_code",
    "quantity_unit",
    "transport_mode",
    "detection_method",
    "concealment_method",
    "origin_country",
    "destination_country",
)


def regional_seizures(c: Catalogue, t: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Seizures by the region's other members, following the same patterns as the member's.

    t holds the template shipments, one per seizure.
    """
    n = len(t)
    if not n:
        return pd.DataFrame()
    reporter = _reporters(c, rng, n)
    mode = t["transport_mode"].to_numpy(dtype=object)
    place_type = place_types(mode, member=False)
    place = _region_places(reporter, place_type)
    transit = t["transit_countries"].to_numpy(dtype=object)
    destination = _destinations(c, rng, reporter, transit)
    day = rng.integers(0, N_DAYS, n)
    offences = offence_fields(c, t, rng)
    offences["quantity"] = _other_quantities(rng, offences)
    doc = _foreign_documents(rng, mode)
    trader = "IMP-" + reporter + "-" + as_text(rng.integers(1, 10**6, n), 6)
    return pd.DataFrame(
        {
            "_day": day,
            "date": np.array(c.dates, dtype=object)[day],
            "reporting_country": reporter,
            "place": blank(rng, place, 0.05),
            "place_type": place_type,
            **offences,
            "hs_code": hs_precision(rng, t["hs_code"]),
            "transport_mode": mode,
            "conveyance": conveyances(rng, mode, t["carrier"].to_numpy(dtype=object)),
            "transport_document": blank(rng, doc, 0.7),
            "origin_country": t["origin_country"].to_numpy(dtype=object),
            "departure_country": blank(rng, t["departure_country"].to_numpy(dtype=object), 0.2),
            "transit_countries": transit,
            "destination_country": destination,
            "trader": blank(rng, trader, 0.5),
            "consignee": "",
            "x_linked_clearance_id": "",
            "x_pattern": PATTERN_NAMES[t["_reason"].to_numpy()],
        }
    )


def background_seizures(c: Catalogue, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Regional seizures unrelated to the clearance flows: cash, arms, wildlife, waste..."""
    if not n:
        return pd.DataFrame()
    reporter = _reporters(c, rng, n)
    kind = rng.integers(0, len(REGIONAL_BACKGROUND), n)
    cols, qty, value = _background_offences(rng, reporter, kind)
    place_type = place_types(cols["transport_mode"], member=False)
    place = _region_places(reporter, place_type)
    day = rng.integers(0, N_DAYS, n)
    return pd.DataFrame(
        {
            "_day": day,
            "date": np.array(c.dates, dtype=object)[day],
            "reporting_country": reporter,
            "place": place,
            "place_type": place_type,
            **cols,
            "quantity": qty,
            "estimated_value": value,
            "conveyance": "",
            "transport_document": "",
            "departure_country": cols["origin_country"],
            "transit_countries": "",
            "trader": "",
            "consignee": "",
            "x_linked_clearance_id": "",
            "x_pattern": "regional_background",
        }
    )


def _reporters(c: Catalogue, rng: np.random.Generator, n: int) -> np.ndarray:
    idx, cdf = weighted(REGION_REPORTERS, c.cix)
    return np.array(c.countries, dtype=object)[idx[draw(rng, cdf, n)]]


def _region_places(reporter: np.ndarray, place_type: np.ndarray) -> np.ndarray:
    """The reporter's seaport, airport (also for parcels) or land border crossing."""
    return np.array(
        [
            REGION_PLACES[r]["airport" if pt == "postal_courier_centre" else pt]
            for r, pt in zip(reporter, place_type, strict=True)
        ],
        dtype=object,
    )


def _destinations(
    c: Catalogue, rng: np.random.Generator, reporter: np.ndarray, transit: np.ndarray
) -> np.ndarray:
    """Goods seized on their way through to the member are destined for it; others mostly stay."""
    n = len(reporter)
    in_transit = np.array([r in tr.split(";") for r, tr in zip(reporter, transit, strict=True)])
    u = rng.random(n)
    return np.where(
        in_transit | (u < 0.15),
        MEMBER_COUNTRY,
        np.where(u < 0.25, _reporters(c, rng, n), reporter),
    )


def _other_quantities(rng: np.random.Generator, offences: dict[str, np.ndarray]) -> np.ndarray:
    """Other quantities than the template shipment's; goods, route and mode stay the same."""
    qty = offences["quantity"] * rng.lognormal(0.0, 0.5, len(offences["quantity"]))
    counted = np.isin(offences["quantity_unit"], ["unit", "pair", "l", "g"])
    return np.where(counted, np.maximum(1.0, np.round(qty)), np.maximum(0.1, np.round(qty, 1)))


def _foreign_documents(rng: np.random.Generator, mode: np.ndarray) -> np.ndarray:
    """Document numbers with prefixes no clearance record uses, so they never link by accident."""
    n = len(mode)
    serial = rng.integers(0, 10**7, n)
    doc = np.full(n, "", dtype=object)
    sea, air = mode == "sea", mode == "air"
    doc[sea] = pick(rng, REGIONAL_CONTAINER_PREFIXES, int(sea.sum())) + as_text(serial[sea], 7)
    doc[air] = (
        pick(rng, REGIONAL_AWB_PREFIXES, int(air.sum()))
        + "-"
        + as_text(serial[air], 7)
        + as_text(serial[air] % 7)
    )
    return doc


def _background_offences(
    rng: np.random.Generator, reporter: np.ndarray, kind: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The fields, quantity and value of each background seizure, from its kind of offence."""
    n = len(kind)
    cols = {k: np.full(n, "", dtype=object) for k in _BACKGROUND_FIELDS}
    qty = np.ones(n)
    value = np.zeros(n)
    for j, o in enumerate(REGIONAL_BACKGROUND):
        rows = np.flatnonzero(kind == j)
        m = len(rows)
        q = (
            np.ones(m)
            if o.category == "cash"
            else np.round(o.median_qty * rng.lognormal(0, 0.8, m), 1)
        )
        qty[rows] = np.maximum(1.0, q)
        value[rows] = np.round(qty[rows] * o.usd_per_unit * rng.lognormal(0.0, 0.5, m), 2)
        cols["offence_type"][rows] = o.offence
        cols["commodity_category"][rows] = o.category
        cols["description"][rows] = pick(rng, o.goods, m)
        cols["hs_code"][rows] = pick(rng, o.hs_codes, m) if o.hs_codes else ""
        cols["quantity_unit"][rows] = o.unit
        cols["transport_mode"][rows] = o.mode
        cols["detection_method"][rows] = pick(rng, o.detection, m)
        cols["concealment_method"][rows] = pick(rng, o.concealment, m)
        if o.origins:
            cols["origin_country"][rows] = pick(rng, o.origins, m)
            cols["destination_country"][rows] = reporter[rows]
        else:  # an export: from the reporting country to a waste destination
            cols["origin_country"][rows] = reporter[rows]
            cols["destination_country"][rows] = pick(rng, WASTE_DESTINATIONS, m)
    return cols, qty, value
