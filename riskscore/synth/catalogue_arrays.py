"""The catalogue compiled once into index arrays, so shipments are drawn with vectorised numpy.

Countries, HS codes, descriptions, transit routes, ports and carriers become positions in lists;
per-heading origins and modes become cdfs over those positions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np

from riskscore.synth.catalogue_goods import COVER_DESCRIPTIONS, PRODUCTS, Product
from riskscore.synth.catalogue_places import (
    CARRIERS,
    COUNTRIES,
    DISCHARGE_PORTS,
    PARCEL_ORIGINS,
    ROAD_CROSSINGS,
    ROAD_TRANSIT,
    TRANSIT_ROUTES,
)
from riskscore.synth.draws import cumulative, weighted
from riskscore.synth.scope import MODES, N_DAYS, ROAD, SEA, START


@dataclass
class Catalogue:
    """Catalogue data as arrays, built once."""

    countries: list[str]
    cix: dict[str, int]
    region: np.ndarray  # country -> region index
    regions: list[str]
    road: np.ndarray  # country -> connected by road
    gateway: np.ndarray  # country -> gateway country index, or itself
    codes: list[str]
    descs: list[str]
    transits: list[str]
    transit_has: np.ndarray  # [transit, country] -> country is on that transit route
    transit_last: np.ndarray  # transit -> last country, -1 when empty
    ports: list[str]
    pix: dict[str, int]
    seaports: list[np.ndarray]  # per country
    airports: list[np.ndarray]
    carriers: list[str]
    carrier_cdf: dict[int, tuple[np.ndarray, np.ndarray]]  # mode -> (carrier idx, cdf)
    post_carrier: np.ndarray  # country -> carrier index of its postal operator
    product_cdf: np.ndarray
    prod_codes: list[np.ndarray]
    prod_descs: list[np.ndarray]
    prod_origins: list[tuple[np.ndarray, np.ndarray]]
    prod_modes: list[tuple[np.ndarray, np.ndarray]]  # (near cdf, far cdf) over MODES
    prod_price: np.ndarray
    prod_unit: list[str]
    prod_kg_per_unit: np.ndarray
    prod_weight_factor: np.ndarray
    prod_duty: np.ndarray
    parcel_origins: tuple[np.ndarray, np.ndarray]
    dates: list[str]  # day offset -> ISO date


@cache
def catalogue() -> Catalogue:
    """The catalogue as arrays (built on first use)."""
    countries = [c.code for c in COUNTRIES]
    cix = {c: i for i, c in enumerate(countries)}
    regions = sorted({c.region for c in COUNTRIES})
    codes, prod_codes = _concatenated([p.codes for p in PRODUCTS])
    descs, prod_descs = _concatenated([p.descriptions for p in PRODUCTS])
    descs.extend(COVER_DESCRIPTIONS)
    transits, transit_has, transit_last = _transits(cix)
    ports = _ports()
    pix = {p: i for i, p in enumerate(ports)}
    carriers, carrier_cdf, post_carrier = _carriers(cix)
    return Catalogue(
        countries=countries,
        cix=cix,
        region=np.array([regions.index(c.region) for c in COUNTRIES]),
        regions=regions,
        road=np.array([c.road for c in COUNTRIES]),
        gateway=np.array([cix[c.gateway] if c.gateway else cix[c.code] for c in COUNTRIES]),
        codes=codes,
        descs=descs,
        transits=transits,
        transit_has=transit_has,
        transit_last=transit_last,
        ports=ports,
        pix=pix,
        seaports=[np.array([pix[p] for p in c.seaports], dtype=np.int64) for c in COUNTRIES],
        airports=[np.array([pix[p] for p in c.airports], dtype=np.int64) for c in COUNTRIES],
        carriers=carriers,
        carrier_cdf=carrier_cdf,
        post_carrier=post_carrier,
        product_cdf=cumulative([p.share for p in PRODUCTS]),
        prod_codes=prod_codes,
        prod_descs=prod_descs,
        prod_origins=[weighted(p.origins, cix) for p in PRODUCTS],
        prod_modes=[_mode_cdfs(p) for p in PRODUCTS],
        prod_price=np.array([p.usd_per_kg for p in PRODUCTS]),
        prod_unit=[p.unit for p in PRODUCTS],
        prod_kg_per_unit=np.array([p.kg_per_unit for p in PRODUCTS]),
        prod_weight_factor=np.array([p.weight_factor for p in PRODUCTS]),
        prod_duty=np.array([p.duty for p in PRODUCTS]),
        parcel_origins=weighted(PARCEL_ORIGINS, cix),
        dates=[(START + dt.timedelta(days=d)).isoformat() for d in range(N_DAYS)],
    )


@cache
def product_index(hs4: str) -> int:
    """Position of a heading in PRODUCTS."""
    return next(i for i, p in enumerate(PRODUCTS) if p.hs4 == hs4)


def _concatenated(groups: list[tuple[str, ...]]) -> tuple[list[str], list[np.ndarray]]:
    """All items in one list, and each group's positions in it."""
    items: list[str] = []
    positions: list[np.ndarray] = []
    for group in groups:
        positions.append(np.arange(len(items), len(items) + len(group)))
        items.extend(group)
    return items, positions


def _mode_cdfs(p: Product) -> tuple[np.ndarray, np.ndarray]:
    """The heading's mode mix for road-connected origins and for far ones."""
    w = np.array([p.modes.get(m, 0.0) for m in MODES])
    # Road-connected origins send most of their sea freight by lorry instead; far ones cannot.
    near = w.copy()
    near[ROAD] += 0.8 * w[SEA]
    near[SEA] *= 0.2
    far = w.copy()
    far[SEA] += far[ROAD]
    far[ROAD] = 0.0
    return cumulative(near), cumulative(far)


def _transits(cix: dict[str, int]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every transit route ("" first), which countries it crosses, and its last country."""
    transits = [""]
    for group in TRANSIT_ROUTES.values():
        for options in group.values():
            transits.extend(t for t in options if t not in transits)
    for options in ROAD_TRANSIT.values():
        transits.extend(t for t in options if t not in transits)
    transit_has = np.zeros((len(transits), len(cix)), dtype=bool)
    transit_last = np.full(len(transits), -1)
    for i, t in enumerate(transits):
        for c in filter(None, t.split(";")):
            transit_has[i, cix[c]] = True
            transit_last[i] = cix[c]
    return transits, transit_has, transit_last


def _ports() -> list[str]:
    return sorted(
        {p for c in COUNTRIES for p in (*c.seaports, *c.airports)}
        | {p for d in DISCHARGE_PORTS.values() for p in d}
        | {p for d in ROAD_CROSSINGS.values() for pair in d for p in pair}
    )


def _carriers(
    cix: dict[str, int],
) -> tuple[list[str], dict[int, tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Carrier names (CARRIERS first, then postal operators), cdfs by mode, each country's post."""
    carriers = [c.name for c in CARRIERS]
    carrier_cdf = {}
    for m, name in enumerate(MODES):
        idx = [i for i, c in enumerate(CARRIERS) if c.mode == name]
        if idx:
            carrier_cdf[m] = (np.array(idx), cumulative([CARRIERS[i].weight for i in idx]))
    post_carrier = np.zeros(len(cix), dtype=np.int64)
    for c in COUNTRIES:
        name = c.post or f"Postal operator {c.code}"
        if name not in carriers:
            carriers.append(name)
        post_carrier[cix[c.code]] = carriers.index(name)
    return carriers, carrier_cdf, post_carrier
