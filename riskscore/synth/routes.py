"""The route of each shipment: country shipped from, transit countries, ports and carrier."""

from __future__ import annotations

import numpy as np

from riskscore.synth.catalogue_arrays import Catalogue
from riskscore.synth.catalogue_places import (
    DISCHARGE_PORTS,
    ROAD_CROSSINGS,
    ROAD_TRANSIT,
    TRANSIT_ROUTES,
    TRANSSHIPMENT_HUBS,
)
from riskscore.synth.draws import cumulative, draw, weighted
from riskscore.synth.patterns import CIGARETTE_HUBS
from riskscore.synth.scope import AIR, COURIER, POSTAL, ROAD, SEA


def shipped_from(
    c: Catalogue,
    rng: np.random.Generator,
    origin: np.ndarray,
    mode: np.ndarray,
    hubbed: np.ndarray,
) -> np.ndarray:
    """Country shipped from: the origin, a gateway port, a transshipment hub or a free zone."""
    n = len(origin)
    dep = origin.copy()
    sea = mode == SEA
    dep[sea] = c.gateway[origin[sea]]  # landlocked origins ship from a neighbour's port
    far_sea = sea & ~c.road[origin] & (rng.random(n) < 0.08)
    for r, region in enumerate(c.regions):
        hubs = TRANSSHIPMENT_HUBS.get(region)
        rows = np.flatnonzero(far_sea & (c.region[origin] == r))
        if hubs and len(rows):
            dep[rows] = np.array([c.cix[h] for h in hubs])[rng.integers(0, len(hubs), len(rows))]
    by_air = (mode != SEA) & (mode != ROAD) & (origin == c.cix["CN"]) & (rng.random(n) < 0.15)
    dep[by_air] = c.cix["HK"]
    rows = np.flatnonzero(hubbed)
    hubs = np.array([c.cix[h] for h in CIGARETTE_HUBS])
    j = rng.integers(0, len(hubs), len(rows))
    j = np.where(hubs[j] == origin[rows], (j + 1) % len(hubs), j)  # a hub is not the origin
    dep[rows] = hubs[j]
    return dep


def transit_routes(
    c: Catalogue,
    rng: np.random.Generator,
    origin: np.ndarray,
    departure: np.ndarray,
    mode: np.ndarray,
) -> np.ndarray:
    """Transit route between the country shipped from and the member, by mode and region."""
    n = len(origin)
    tr = np.zeros(n, dtype=np.int64)
    tix = {t: i for i, t in enumerate(c.transits)}
    region = c.region[departure]
    europe = c.regions.index("europe")
    groups: list[tuple[np.ndarray, dict[str, float]]] = []
    for r, name in enumerate(c.regions):
        at = region == r
        groups.append((at & (mode == SEA), TRANSIT_ROUTES["sea"][name]))
        groups.append((at & (mode == AIR), TRANSIT_ROUTES["air"][name]))
    parcel = (mode == COURIER) | (mode == POSTAL)
    groups.append((parcel & (region == europe), TRANSIT_ROUTES["parcel"]["europe"]))
    groups.append((parcel & (region != europe), TRANSIT_ROUTES["parcel"]["far"]))
    for country, options in ROAD_TRANSIT.items():
        groups.append(((mode == ROAD) & (departure == c.cix[country]), options))
    for mask, options in groups:
        rows = np.flatnonzero(mask)
        if len(rows):
            idx, cdf = weighted(options, tix)
            tr[rows] = idx[draw(rng, cdf, len(rows))]
    # A route never passes through its own origin or departure country.
    clash = c.transit_has[tr, departure] | c.transit_has[tr, origin]
    tr[clash & (mode != ROAD)] = 0
    return tr


def loading_and_discharge(
    c: Catalogue,
    rng: np.random.Generator,
    departure: np.ndarray,
    transit: np.ndarray,
    mode: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Port of loading (in the country shipped from) and port of discharge (in the member)."""
    n = len(departure)
    loading = np.zeros(n, dtype=np.int64)
    discharge = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    for country in np.unique(departure):
        at = departure == country
        for options, rows in (
            (c.seaports[country], np.flatnonzero(at & (mode == SEA))),
            (c.airports[country], np.flatnonzero(at & (mode != SEA) & (mode != ROAD))),
        ):
            if len(rows):
                loading[rows] = options[(u[rows] * len(options)).astype(np.int64)]
    europe = c.regions.index("europe")
    near = c.region[departure] == europe
    for key, mask in (
        ("sea_far", (mode == SEA) & ~near),
        ("sea_near", (mode == SEA) & near),
        ("air", mode == AIR),
        ("courier", mode == COURIER),
        ("postal", mode == POSTAL),
    ):
        rows = np.flatnonzero(mask)
        idx, cdf = weighted(DISCHARGE_PORTS[key], c.pix)
        discharge[rows] = idx[draw(rng, cdf, len(rows))]
    # Road: the ferry or tunnel crossing from the last country before the member.
    road = mode == ROAD
    last = np.where(c.transit_last[transit] >= 0, c.transit_last[transit], departure)
    for country, crossings in ROAD_CROSSINGS.items():
        rows = np.flatnonzero(road & (last == c.cix[country]))
        chosen = draw(rng, cumulative(list(crossings.values())), len(rows))
        pairs = list(crossings)
        loading[rows] = np.array([c.pix[a] for a, _ in pairs])[chosen]
        discharge[rows] = np.array([c.pix[b] for _, b in pairs])[chosen]
    return loading, discharge


def carriers(
    c: Catalogue, rng: np.random.Generator, departure: np.ndarray, mode: np.ndarray
) -> np.ndarray:
    """Carrier by mode; postal items travel with the sending country's postal operator."""
    out = c.post_carrier[departure].copy()
    for m, (idx, cdf) in c.carrier_cdf.items():
        rows = np.flatnonzero(mode == m)
        out[rows] = idx[draw(rng, cdf, len(rows))]
    return out
