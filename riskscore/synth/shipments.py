"""Shipments: who imports what from where, how, and how much of it.

Each chunk of shipments is drawn with vectorised numpy code from its own random stream; the
route of each shipment comes from routes.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskscore.synth import routes
from riskscore.synth.catalogue_arrays import Catalogue, product_index
from riskscore.synth.catalogue_goods import PRODUCTS
from riskscore.synth.draws import cumulative, draw, weighted
from riskscore.synth.patterns import CIGARETTE_HUB_ORIGINS, CIGARETTE_HUB_SHARE
from riskscore.synth.scope import COURIER, N_DAYS, POSTAL, SEA
from riskscore.synth.traders import World

MODE_KG = np.array([9_000.0, 300.0, 7_000.0, 6.0, 1.0])  # median gross kg per consignment
MODE_SIGMA = np.array([0.9, 1.1, 0.7, 1.0, 0.8])
PARCEL_PRICE_MARKUP = 1.5  # e-commerce parcels carry retail, not wholesale, values


@dataclass
class Shipments:
    """One chunk of shipments as index arrays into the catalogue (one entry per shipment)."""

    g: np.ndarray  # global row number
    day: np.ndarray  # day offset from START
    imp: np.ndarray  # importer
    prod: np.ndarray  # heading (index into PRODUCTS)
    origin: np.ndarray  # country
    mode: np.ndarray  # index into MODES
    code: np.ndarray  # HS code
    desc: np.ndarray  # goods description
    departure: np.ndarray  # country shipped from
    transit: np.ndarray  # transit route
    loading: np.ndarray  # port
    discharge: np.ndarray  # port
    carrier: np.ndarray
    weight: np.ndarray  # gross kg
    qty: np.ndarray  # in the heading's unit
    true_value: np.ndarray  # USD, before any undervaluation


def draw_shipments(w: World, rng: np.random.Generator, start: int, n: int) -> Shipments:
    """Shipments start to start + n - 1, in date order."""
    c = w.cat
    g = np.arange(start, start + n, dtype=np.int64)
    # Rows are in date order: row g falls on day floor((g + u) / N * days).
    day = np.minimum(((g + rng.random(n)) / w.n * N_DAYS).astype(np.int64), N_DAYS - 1)
    imp = draw(rng, w.importer_cdf, n)
    early = w.entry_day[imp] > day  # not trading yet: someone established ships instead
    imp[early] = w.established[draw(rng, w.established_cdf, int(early.sum()))]

    goods = _goods(w, rng, imp)
    departure = routes.shipped_from(c, rng, goods.origin, goods.mode, goods.hubbed)
    transit = routes.transit_routes(c, rng, goods.origin, departure, goods.mode)
    loading, discharge = routes.loading_and_discharge(c, rng, departure, transit, goods.mode)
    carrier = routes.carriers(c, rng, departure, goods.mode)
    weight, qty, true_value = _amounts(c, rng, goods.prod, goods.mode)
    return Shipments(
        g=g,
        day=day,
        imp=imp,
        prod=goods.prod,
        origin=goods.origin,
        mode=goods.mode,
        code=goods.code,
        desc=goods.desc,
        departure=departure,
        transit=transit,
        loading=loading,
        discharge=discharge,
        carrier=carrier,
        weight=weight,
        qty=qty,
        true_value=true_value,
    )


@dataclass
class _Goods:
    prod: np.ndarray
    origin: np.ndarray
    mode: np.ndarray
    code: np.ndarray
    desc: np.ndarray
    hubbed: np.ndarray  # cigarettes routed through a free-zone hub


def _goods(w: World, rng: np.random.Generator, imp: np.ndarray) -> _Goods:
    """Heading, HS code, description, origin and mode of each shipment."""
    c = w.cat
    n = len(imp)
    # Importers mostly trade their own few headings.
    prod = np.where(
        rng.random(n) < 0.7,
        w.home_products[imp, rng.integers(0, 3, n)],
        draw(rng, c.product_cdf, n),
    )
    origin, mode, code, desc = (np.empty(n, dtype=np.int64) for _ in range(4))
    for p in range(len(PRODUCTS)):
        rows = np.flatnonzero(prod == p)
        m = len(rows)
        if not m:
            continue
        o_idx, o_cdf = c.prod_origins[p]
        o = o_idx[draw(rng, o_cdf, m)]
        near_cdf, far_cdf = c.prod_modes[p]
        origin[rows] = o
        mode[rows] = np.where(c.road[o], draw(rng, near_cdf, m), draw(rng, far_cdf, m))
        k = len(c.prod_codes[p])
        code[rows] = c.prod_codes[p][draw(rng, cumulative(1.0 / np.arange(1, k + 1)), m)]
        desc[rows] = c.prod_descs[p][rng.integers(0, len(c.prod_descs[p]), m)]

    # E-commerce parcels: half come from the big parcel-sending countries whatever the goods.
    swap = ((mode == COURIER) | (mode == POSTAL)) & (rng.random(n) < 0.5)
    po_idx, po_cdf = c.parcel_origins
    origin[swap] = po_idx[draw(rng, po_cdf, int(swap.sum()))]

    # Cigarettes routed by sea through a free-zone hub (shipped_from_route pattern).
    hubbed = (prod == product_index("2402")) & (rng.random(n) < CIGARETTE_HUB_SHARE)
    ho_idx, ho_cdf = weighted(CIGARETTE_HUB_ORIGINS, c.cix)
    origin[hubbed] = ho_idx[draw(rng, ho_cdf, int(hubbed.sum()))]
    mode[hubbed] = SEA
    return _Goods(prod, origin, mode, code, desc, hubbed)


def _amounts(
    c: Catalogue, rng: np.random.Generator, prod: np.ndarray, mode: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gross weight (kg), quantity in the heading's unit, and true value (USD)."""
    n = len(prod)
    parcel = (mode == COURIER) | (mode == POSTAL)
    size = c.prod_weight_factor[prod]
    size = np.where(parcel, size**0.3, size)  # a parcel is a parcel, whatever the heading
    weight = MODE_KG[mode] * size * rng.lognormal(0.0, MODE_SIGMA[mode])
    kpu = c.prod_kg_per_unit[prod]
    unit = np.array(c.prod_unit)[prod]
    counted = np.isin(unit, ["unit", "pair", "l"])
    qty = weight / kpu * rng.lognormal(0.0, 0.1, n)
    qty = np.where(counted, np.maximum(1.0, np.round(qty)), np.maximum(0.01, np.round(qty, 2)))
    heavy = counted & (kpu >= 100)  # whole cars: the weight follows the count
    weight = np.where(heavy, qty * kpu * rng.lognormal(0.0, 0.1, n), weight)
    weight = np.maximum(0.1, np.round(weight, 1))
    net = np.round(weight * rng.uniform(0.85, 0.97, n), 1)
    qty = np.maximum(np.where(unit == "kg", net, qty), 0.1)
    price = c.prod_price[prod] * rng.lognormal(0.0, 0.35, n)
    price = np.where(parcel, price * PARCEL_PRICE_MARKUP, price)
    return weight, qty, np.round(weight * price, 2)
