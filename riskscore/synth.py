"""Seeded demo data: purchased clearance records, labelled declarations and CEN-style seizures.

`generate()` writes, into one folder, a realistic but fully synthetic data set for a member
customs administration (`MEMBER_COUNTRY`) over 2024-2025, with one planted risk pattern per
TFA Art. 7.4.4 selectivity criterion (`PATTERNS`). docs/demo-data.md describes every file, column
and pattern.

Clearance rows are generated in chunks with vectorised numpy code: chunk k draws from its own
generator seeded by (seed, k), so the output depends on nothing but `seed` and `declarations`,
and memory stays flat from a thousand to ten million rows. Only the illicit shipments are kept
between chunks: they are what the seizures are made of.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pycountry
from openpyxl import Workbook

from riskscore import synth_catalogue as cat
from riskscore.features import vocab
from riskscore.features.contracts import CLEARANCE, DECLARATIONS, SEIZURES

MEMBER_COUNTRY = "GB"
START = dt.date(2024, 1, 1)
END = dt.date(2025, 12, 31)
N_DAYS = (END - START).days + 1
CHUNK_ROWS = 200_000
CURRENCY = "USD"


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
_P = {p.name: i for i, p in enumerate(PATTERNS)}

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

MODES = ("sea", "air", "road", "courier", "postal")
_SEA, _AIR, _ROAD, _COURIER, _POSTAL = range(5)
MODE_KG = np.array([9_000.0, 300.0, 7_000.0, 6.0, 1.0])  # median gross kg per consignment
MODE_SIGMA = np.array([0.9, 1.1, 0.7, 1.0, 0.8])
PARCEL_PRICE_MARKUP = 1.5  # e-commerce parcels carry retail, not wholesale, values


@dataclass(frozen=True)
class SynthSummary:
    """What `generate` wrote: paths and row counts."""

    out_dir: Path
    clearance_path: Path
    declarations_path: Path
    seizures_xlsx_path: Path
    seizures_csv_path: Path
    clearance_rows: int
    declarations_rows: int
    illicit_declarations: int
    seizures: int  # clean seizures (seizures.csv)
    linked_seizures: int  # of which linked to a clearance record
    linked_by_document: int  # of which carry the shipment's transport document
    regional_seizures: int  # of which reported by other countries of the region
    bad_seizure_rows: int  # rows of seizures.xlsx invalid on purpose (not in seizures.csv)
    seed: int
    truth_path: Path | None = None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (paths as strings)."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def generate(
    out_dir: Path,
    declarations: int = 20_000,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
    *,
    truth: bool = False,
) -> SynthSummary:
    """Write clearance.parquet, declarations.parquet, seizures.xlsx and seizures.csv into out_dir.

    `declarations` is the number of shipments (clearance records); about 35 % of them were
    inspected and appear, labelled, in declarations.parquet. `progress(n)` receives the number of
    shipments generated so far after each chunk. With `truth=True` a truth.parquet (id, true
    probability, inspected, illicit, pattern) is written too, for checking what a model recovers.
    """
    if declarations < 1:
        raise ValueError(f"declarations must be at least 1, got {declarations}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "clearance": out_dir / "clearance.parquet",
        "declarations": out_dir / "declarations.parquet",
        "xlsx": out_dir / "seizures.xlsx",
        "csv": out_dir / "seizures.csv",
        "truth": out_dir / "truth.parquet",
    }
    world = _World.build(declarations, seed)
    writers = {
        "clearance": pq.ParquetWriter(paths["clearance"], _CLEARANCE_SCHEMA, compression="zstd"),
        "declarations": pq.ParquetWriter(
            paths["declarations"], _DECLARATIONS_SCHEMA, compression="zstd"
        ),
    }
    if truth:
        writers["truth"] = pq.ParquetWriter(paths["truth"], _TRUTH_SCHEMA, compression="zstd")
    pools: list[pa.Table] = []
    n_decl = n_illicit = 0
    try:
        for k, start in enumerate(range(0, declarations, CHUNK_ROWS)):
            n = min(CHUNK_ROWS, declarations - start)
            chunk = _chunk(world, _rng(seed, 0, k), start, n)
            writers["clearance"].write_table(chunk.clearance)
            writers["declarations"].write_table(chunk.declarations)
            if truth:
                writers["truth"].write_table(chunk.truth)
            pools.append(chunk.pool)
            n_decl += chunk.declarations.num_rows
            n_illicit += int(pc.sum(chunk.declarations["illicit"]).as_py() or 0)
            if progress is not None:
                progress(start + n)
    finally:
        for w in writers.values():
            w.close()

    pool = pa.concat_tables(pools).to_pandas()
    seizures = _seizures(world, pool, _rng(seed, 2))
    bad = _write_seizures(seizures, paths["xlsx"], paths["csv"], _rng(seed, 3))
    good = ~bad
    linked = good & (seizures["x_linked_clearance_id"] != "").to_numpy()
    with_doc = (seizures["transport_document"] != "").to_numpy()
    return SynthSummary(
        out_dir=out_dir,
        clearance_path=paths["clearance"],
        declarations_path=paths["declarations"],
        seizures_xlsx_path=paths["xlsx"],
        seizures_csv_path=paths["csv"],
        clearance_rows=declarations,
        declarations_rows=n_decl,
        illicit_declarations=n_illicit,
        seizures=int(good.sum()),
        linked_seizures=int(linked.sum()),
        linked_by_document=int((linked & with_doc).sum()),
        regional_seizures=int((good & ~linked).sum()),
        bad_seizure_rows=int(bad.sum()),
        seed=seed,
        truth_path=paths["truth"] if truth else None,
    )


# --------------------------------------------------------------------------------------------
# Schemas


def _schema(names: list[str]) -> pa.Schema:
    floats = {"quantity", "gross_weight_kg", "declared_value", "revenue_recovered"}
    types = {n: pa.float64() if n in floats else pa.string() for n in names}
    types["illicit"] = pa.int8()
    return pa.schema([(n, types[n]) for n in names])


_CLEARANCE_SCHEMA = _schema(CLEARANCE.field_names)
_DECLARATIONS_SCHEMA = _schema(DECLARATIONS.field_names)
_TRUTH_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("p_illicit", pa.float64()),
        ("inspected", pa.int8()),
        ("illicit", pa.int8()),
        ("pattern", pa.string()),
    ]
)


# --------------------------------------------------------------------------------------------
# The compiled catalogue and the trader population


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def _cdf(weights: object) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    c = np.cumsum(w)
    return c / c[-1]


def _draw(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _table(items: dict[str, float], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Keys mapped through index, and the cdf of the weights."""
    return np.array([index[k] for k in items]), _cdf(list(items.values()))


@dataclass
class _Catalogue:
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
    prod_hs4: list[str]
    prod_codes: list[np.ndarray]
    prod_descs: list[np.ndarray]
    prod_origins: list[tuple[np.ndarray, np.ndarray]]
    prod_modes: list[tuple[np.ndarray, np.ndarray]]  # (near cdf, far cdf) over MODES
    prod_price: np.ndarray
    prod_unit: list[str]
    prod_kg_per_unit: np.ndarray
    prod_weight_factor: np.ndarray
    prod_duty: np.ndarray
    prod_timber: np.ndarray  # heading in the timber_origin pattern's chapter
    parcel_origins: tuple[np.ndarray, np.ndarray]
    dates: list[str]  # day offset -> ISO date


@cache
def _catalogue() -> _Catalogue:
    countries = [c.code for c in cat.COUNTRIES]
    cix = {c: i for i, c in enumerate(countries)}
    regions = sorted({c.region for c in cat.COUNTRIES})
    codes: list[str] = []
    descs: list[str] = []
    prod_codes, prod_descs, prod_origins, prod_modes = [], [], [], []
    for p in cat.PRODUCTS:
        prod_codes.append(np.arange(len(codes), len(codes) + len(p.codes)))
        codes.extend(p.codes)
        prod_descs.append(np.arange(len(descs), len(descs) + len(p.descriptions)))
        descs.extend(p.descriptions)
        prod_origins.append(_table(p.origins, cix))
        w = np.array([p.modes.get(m, 0.0) for m in MODES])
        # Road-connected origins send most of their sea freight by lorry instead; far ones cannot.
        near = w.copy()
        near[_ROAD] += 0.8 * w[_SEA]
        near[_SEA] *= 0.2
        far = w.copy()
        far[_SEA] += far[_ROAD]
        far[_ROAD] = 0.0
        prod_modes.append((_cdf(near), _cdf(far)))
    descs.extend(cat.COVER_DESCRIPTIONS)

    transits = [""]
    for group in cat.TRANSIT_ROUTES.values():
        for options in group.values():
            transits.extend(t for t in options if t not in transits)
    for options in cat.ROAD_TRANSIT.values():
        transits.extend(t for t in options if t not in transits)
    transit_has = np.zeros((len(transits), len(countries)), dtype=bool)
    transit_last = np.full(len(transits), -1)
    for i, t in enumerate(transits):
        for c in filter(None, t.split(";")):
            transit_has[i, cix[c]] = True
            transit_last[i] = cix[c]

    ports = sorted(
        {p for c in cat.COUNTRIES for p in (*c.seaports, *c.airports)}
        | {p for d in cat.DISCHARGE_PORTS.values() for p in d}
        | {p for d in cat.ROAD_CROSSINGS.values() for pair in d for p in pair}
    )
    pix = {p: i for i, p in enumerate(ports)}

    carriers = [c.name for c in cat.CARRIERS]
    carrier_cdf = {}
    for m, name in enumerate(MODES):
        idx = [i for i, c in enumerate(cat.CARRIERS) if c.mode == name]
        if idx:
            carrier_cdf[m] = (np.array(idx), _cdf([cat.CARRIERS[i].weight for i in idx]))
    post_carrier = np.zeros(len(countries), dtype=np.int64)
    for c in cat.COUNTRIES:
        name = c.post or f"Postal operator {c.code}"
        if name not in carriers:
            carriers.append(name)
        post_carrier[cix[c.code]] = carriers.index(name)

    return _Catalogue(
        countries=countries,
        cix=cix,
        region=np.array([regions.index(c.region) for c in cat.COUNTRIES]),
        regions=regions,
        road=np.array([c.road for c in cat.COUNTRIES]),
        gateway=np.array([cix[c.gateway] if c.gateway else cix[c.code] for c in cat.COUNTRIES]),
        codes=codes,
        descs=descs,
        transits=transits,
        transit_has=transit_has,
        transit_last=transit_last,
        ports=ports,
        pix=pix,
        seaports=[np.array([pix[p] for p in c.seaports], dtype=np.int64) for c in cat.COUNTRIES],
        airports=[np.array([pix[p] for p in c.airports], dtype=np.int64) for c in cat.COUNTRIES],
        carriers=carriers,
        carrier_cdf=carrier_cdf,
        post_carrier=post_carrier,
        product_cdf=_cdf([p.share for p in cat.PRODUCTS]),
        prod_hs4=[p.hs4 for p in cat.PRODUCTS],
        prod_codes=prod_codes,
        prod_descs=prod_descs,
        prod_origins=prod_origins,
        prod_modes=prod_modes,
        prod_price=np.array([p.usd_per_kg for p in cat.PRODUCTS]),
        prod_unit=[p.unit for p in cat.PRODUCTS],
        prod_kg_per_unit=np.array([p.kg_per_unit for p in cat.PRODUCTS]),
        prod_weight_factor=np.array([p.weight_factor for p in cat.PRODUCTS]),
        prod_duty=np.array([p.duty for p in cat.PRODUCTS]),
        prod_timber=np.array([p.hs4.startswith(TIMBER_CHAPTER) for p in cat.PRODUCTS]),
        parcel_origins=_table(cat.PARCEL_ORIGINS, cix),
        dates=[(START + dt.timedelta(days=d)).isoformat() for d in range(N_DAYS)],
    )


@dataclass
class _World:
    """The trader population of one data set (depends on its size and seed only)."""

    n: int
    cat: _Catalogue
    importer_ids: pa.Array
    importer_cdf: np.ndarray  # Zipf-like activity over all importers
    established_cdf: np.ndarray  # the same over importers present from the start
    established: np.ndarray  # their indices
    entry_day: np.ndarray
    repeat_offender: np.ndarray
    home_products: np.ndarray  # [importer, 3]
    home_declarant: np.ndarray
    declarant_ids: pa.Array
    declarant_cdf: np.ndarray
    n_exporters: int
    exporter_cdf: np.ndarray

    @classmethod
    def build(cls, n: int, seed: int) -> _World:
        c = _catalogue()
        rng = _rng(seed, 1)
        n_imp = max(200, n // 25)
        # Activity follows rank^-0.75; ids are shuffled so that an id says nothing about size.
        rank_w = 1.0 / np.arange(1, n_imp + 1) ** 0.75
        activity = np.empty(n_imp)
        order = rng.permutation(n_imp)
        activity[order] = rank_w
        ranks = np.empty(n_imp, dtype=np.int64)
        ranks[order] = np.arange(n_imp)
        # New traders are small ones: 15 % of importers, all from the lower 70 % of ranks,
        # entering between April 2024 and the end of the period.
        small = np.flatnonzero(ranks >= int(0.3 * n_imp))
        late = rng.choice(small, size=int(0.15 * n_imp), replace=False)
        entry_day = np.zeros(n_imp, dtype=np.int64)
        entry_day[late] = rng.integers(90, N_DAYS - 30, size=len(late))
        # Repeat offenders: mid-sized established importers, active over the whole period.
        mid = np.flatnonzero((ranks >= int(0.02 * n_imp)) & (ranks < int(0.3 * n_imp)))
        mid = mid[entry_day[mid] == 0]
        repeat = np.zeros(n_imp, dtype=bool)
        repeat[rng.choice(mid, size=max(2, round(0.015 * n_imp)), replace=False)] = True
        established = np.flatnonzero(entry_day == 0)

        n_decl = max(8, n // 2_500)
        decl_w = 1.0 / np.arange(1, n_decl + 1) ** 1.2
        n_exp = max(20, n // 500)
        return cls(
            n=n,
            cat=c,
            importer_ids=_ids("IMP-GB-", np.arange(1, n_imp + 1), 6),
            importer_cdf=_cdf(activity),
            established_cdf=_cdf(activity[established]),
            established=established,
            entry_day=entry_day,
            repeat_offender=repeat,
            home_products=_draw(rng, c.product_cdf, n_imp * 3).reshape(n_imp, 3),
            home_declarant=_draw(rng, _cdf(decl_w), n_imp),
            declarant_ids=_ids("DCL-GB-", np.arange(1, n_decl + 1), 4),
            declarant_cdf=_cdf(decl_w),
            n_exporters=n_exp,
            exporter_cdf=_cdf(1.0 / np.arange(1, n_exp + 1) ** 0.9),
        )


def _digits(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return pc.binary_join_element_wise(prefix, _digits(numbers, width), "")


def _take(values: list[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    arr = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    return arr.take(pa.array(idx))


# --------------------------------------------------------------------------------------------
# One chunk of shipments


@dataclass
class _Chunk:
    clearance: pa.Table
    declarations: pa.Table
    truth: pa.Table
    pool: pa.Table  # illicit shipments that can become seizures


def _chunk(w: _World, rng: np.random.Generator, start: int, n: int) -> _Chunk:
    """Shipments start to start + n - 1: clearance rows, the inspected and the illicit ones."""
    c = w.cat
    g = np.arange(start, start + n, dtype=np.int64)  # global row number
    # Rows are in date order: row g falls on day floor((g + u) / N * days).
    day = np.minimum(((g + rng.random(n)) / w.n * N_DAYS).astype(np.int64), N_DAYS - 1)
    imp = _draw(rng, w.importer_cdf, n)
    early = w.entry_day[imp] > day  # not trading yet: someone established ships instead
    imp[early] = w.established[_draw(rng, w.established_cdf, int(early.sum()))]

    s = _goods(w, rng, imp)
    departure = _departure(c, rng, s.origin, s.mode, s.hubbed)
    transit = _transit(c, rng, s.origin, departure, s.mode)
    loading, discharge = _ports(c, rng, departure, transit, s.mode)
    carrier = _carrier(c, rng, departure, s.mode)
    weight, qty, true_value = _amounts(c, rng, s.prod, s.mode)

    # Undervaluation (value pattern), and legitimately cheap lots that look alike.
    uv_heading = np.isin(s.prod, [_product(h) for h in UNDERVALUED_HEADINGS])
    u = rng.random(n)
    undervalued = uv_heading & (u < UNDERVALUATION_SHARE)
    cheap = uv_heading & (u >= UNDERVALUATION_SHARE) & (u < UNDERVALUATION_SHARE + LOW_PRICE_SHARE)
    factor = np.ones(n)
    factor[undervalued] = rng.uniform(0.08, 0.28, int(undervalued.sum()))
    factor[cheap] = rng.uniform(0.15, 0.35, int(cheap.sum()))
    value = np.maximum(0.01, np.round(true_value * factor, 2))

    # Goods described as something of another heading (goods_description pattern).
    mismatch = rng.random(n) < MISMATCH_SHARE
    s.desc[mismatch] = _mismatched_descriptions(c, rng, s.prod[mismatch])

    # Truth: each pattern is an independent cause (noisy-OR); the cause of an illicit shipment
    # is drawn in proportion to the hazards that apply to it.
    hz = np.zeros((n, len(PATTERNS)))
    flags = {
        "background": np.ones(n, dtype=bool),
        "rice_cocaine": (s.prod == _product("1006"))
        & np.isin(s.origin, [c.cix[x] for x in RICE_ORIGINS])
        & (s.mode == _SEA),
        "cigarette_hub": (s.prod == _product("2402"))
        & (departure != s.origin)
        & np.isin(departure, [c.cix[x] for x in CIGARETTE_HUBS]),
        "undervaluation": undervalued,
        "repeat_offender": w.repeat_offender[imp],
        "new_trader": (w.entry_day[imp] > 0) & (day - w.entry_day[imp] < NEW_TRADER_DAYS),
        "parcel_drugs": ((s.mode == _COURIER) | (s.mode == _POSTAL))
        & np.isin(s.origin, [c.cix[x] for x in PARCEL_DRUG_ORIGINS])
        & (weight < PARCEL_DRUG_MAX_KG),
        "description_mismatch": mismatch,
        "timber_origin": c.prod_timber[s.prod] & (s.origin == c.cix[TIMBER_ORIGIN]),
    }
    for name, rows in flags.items():
        hz[rows, _P[name]] = PATTERNS[_P[name]].hazard
    p_true = 1.0 - np.prod(1.0 - hz, axis=1)
    illicit = rng.random(n) < p_true
    reason = np.full(n, -1, dtype=np.int64)
    cum = np.cumsum(hz[illicit], axis=1)
    pick = rng.random(len(cum)) * cum[:, -1]
    reason[illicit] = (cum < pick[:, None]).sum(axis=1)
    reason[illicit & undervalued] = _P["undervaluation"]  # found on inspection: a revenue case

    # Selectivity: a random share plus a push from a noisy view of the true risk.
    p_seen = p_true * rng.lognormal(0.0, 0.6, n)
    inspected = rng.random(n) < np.minimum(INSPECT_MAX, INSPECT_RANDOM + INSPECT_RISK_GAIN * p_seen)
    duty = c.prod_duty[s.prod]
    revenue = np.where(
        inspected & illicit & (reason == _P["undervaluation"]),
        np.round((true_value - value) * (duty + IMPORT_VAT * (1 + duty)), 2),
        0.0,
    )

    exporter_no = np.where(
        rng.random(n) < 0.7,
        (imp * 2_654_435_761 + s.origin * 40_503) % w.n_exporters,  # the usual supplier
        _draw(rng, w.exporter_cdf, n),
    )
    declarant = np.where(
        rng.random(n) < 0.85, w.home_declarant[imp], _draw(rng, w.declarant_cdf, n)
    )
    origin = _take(c.countries, s.origin)
    zeros = np.zeros(n, dtype=np.int64)
    clearance = pa.table(
        {
            "id": _ids("CLR-", g + 1, 9),
            "date": _take(c.dates, day),
            "reporting_country": _take([MEMBER_COUNTRY], zeros),
            "flow": _take(["import"], zeros),
            "hs_code": _take(c.codes, s.code),
            "goods_description": _take(c.descs, s.desc),
            "origin_country": origin,
            "departure_country": _take(c.countries, departure),
            "port_of_loading": _take(c.ports, loading),
            "port_of_discharge": _take(c.ports, discharge),
            "transit_countries": _take(c.transits, transit),
            "transport_mode": _take(list(MODES), s.mode),
            "carrier": _take(c.carriers, carrier),
            "transport_document": _documents(c, g, carrier, s.mode, departure),
            "importer_id": _take(w.importer_ids, imp),
            "exporter_id": pc.binary_join_element_wise(
                "EXP", origin, _digits(exporter_no + 1, 6), "-"
            ),
            "declarant_id": _take(w.declarant_ids, declarant),
            "quantity": pa.array(qty),
            "quantity_unit": _take(c.prod_unit, s.prod),
            "gross_weight_kg": pa.array(weight),
            "declared_value": pa.array(value),
            "currency": _take([CURRENCY], zeros),
        },
        schema=_CLEARANCE_SCHEMA,
    )
    decl = clearance.filter(pa.array(inspected))
    decl = decl.append_column("illicit", pa.array(illicit[inspected].astype(np.int8)))
    decl = decl.append_column("revenue_recovered", pa.array(revenue[inspected]))
    truth = pa.table(
        {
            "id": clearance["id"],
            "p_illicit": pa.array(p_true),
            "inspected": pa.array(inspected.astype(np.int8)),
            "illicit": pa.array(illicit.astype(np.int8)),
            "pattern": _take(["", *(p.name for p in PATTERNS)], reason + 1),
        },
        schema=_TRUTH_SCHEMA,
    )
    keep = illicit & (reason != _P["undervaluation"])  # revenue cases are not CEN seizures
    pool = clearance.filter(pa.array(keep))
    extra = {
        "_day": day,
        "_reason": reason,
        "_prod": s.prod,
        "_origin": s.origin,
        "_inspected": inspected,
        "_late": ~inspected & (rng.random(n) < LATE_DETECTION),
    }
    for name, values in extra.items():
        pool = pool.append_column(name, pa.array(values[keep]))
    return _Chunk(clearance, decl, truth, pool)


@dataclass
class _Goods:
    prod: np.ndarray
    origin: np.ndarray
    mode: np.ndarray
    code: np.ndarray
    desc: np.ndarray
    hubbed: np.ndarray  # cigarettes routed through a free-zone hub


def _goods(w: _World, rng: np.random.Generator, imp: np.ndarray) -> _Goods:
    """Heading, HS code, description, origin and mode of each shipment."""
    c = w.cat
    n = len(imp)
    # Importers mostly trade their own few headings.
    prod = np.where(
        rng.random(n) < 0.7,
        w.home_products[imp, rng.integers(0, 3, n)],
        _draw(rng, c.product_cdf, n),
    )
    origin, mode, code, desc = (np.empty(n, dtype=np.int64) for _ in range(4))
    for p in range(len(cat.PRODUCTS)):
        rows = np.flatnonzero(prod == p)
        m = len(rows)
        if not m:
            continue
        o_idx, o_cdf = c.prod_origins[p]
        o = o_idx[_draw(rng, o_cdf, m)]
        near_cdf, far_cdf = c.prod_modes[p]
        origin[rows] = o
        mode[rows] = np.where(c.road[o], _draw(rng, near_cdf, m), _draw(rng, far_cdf, m))
        k = len(c.prod_codes[p])
        code[rows] = c.prod_codes[p][_draw(rng, _cdf(1.0 / np.arange(1, k + 1)), m)]
        desc[rows] = c.prod_descs[p][rng.integers(0, len(c.prod_descs[p]), m)]

    # E-commerce parcels: half come from the big parcel-sending countries whatever the goods.
    swap = ((mode == _COURIER) | (mode == _POSTAL)) & (rng.random(n) < 0.5)
    po_idx, po_cdf = c.parcel_origins
    origin[swap] = po_idx[_draw(rng, po_cdf, int(swap.sum()))]

    # Cigarettes routed by sea through a free-zone hub (shipped_from_route pattern).
    hubbed = (prod == _product("2402")) & (rng.random(n) < CIGARETTE_HUB_SHARE)
    ho_idx, ho_cdf = _table(CIGARETTE_HUB_ORIGINS, c.cix)
    origin[hubbed] = ho_idx[_draw(rng, ho_cdf, int(hubbed.sum()))]
    mode[hubbed] = _SEA
    return _Goods(prod, origin, mode, code, desc, hubbed)


def _amounts(
    c: _Catalogue, rng: np.random.Generator, prod: np.ndarray, mode: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gross weight (kg), quantity in the heading's unit, and true value (USD)."""
    n = len(prod)
    parcel = (mode == _COURIER) | (mode == _POSTAL)
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


@cache
def _product(hs4: str) -> int:
    return next(i for i, p in enumerate(cat.PRODUCTS) if p.hs4 == hs4)


def _departure(
    c: _Catalogue,
    rng: np.random.Generator,
    origin: np.ndarray,
    mode: np.ndarray,
    hubbed: np.ndarray,
) -> np.ndarray:
    """Country shipped from: the origin, a gateway port, a transshipment hub or a free zone."""
    n = len(origin)
    dep = origin.copy()
    sea = mode == _SEA
    dep[sea] = c.gateway[origin[sea]]  # landlocked origins ship from a neighbour's port
    far_sea = sea & ~c.road[origin] & (rng.random(n) < 0.08)
    for r, region in enumerate(c.regions):
        hubs = cat.TRANSSHIPMENT_HUBS.get(region)
        rows = np.flatnonzero(far_sea & (c.region[origin] == r))
        if hubs and len(rows):
            dep[rows] = np.array([c.cix[h] for h in hubs])[rng.integers(0, len(hubs), len(rows))]
    by_air = (mode != _SEA) & (mode != _ROAD) & (origin == c.cix["CN"]) & (rng.random(n) < 0.15)
    dep[by_air] = c.cix["HK"]
    rows = np.flatnonzero(hubbed)
    hubs = np.array([c.cix[h] for h in CIGARETTE_HUBS])
    j = rng.integers(0, len(hubs), len(rows))
    j = np.where(hubs[j] == origin[rows], (j + 1) % len(hubs), j)  # a hub is not the origin
    dep[rows] = hubs[j]
    return dep


def _transit(
    c: _Catalogue,
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
        groups.append((at & (mode == _SEA), cat.TRANSIT_ROUTES["sea"][name]))
        groups.append((at & (mode == _AIR), cat.TRANSIT_ROUTES["air"][name]))
    parcel = (mode == _COURIER) | (mode == _POSTAL)
    groups.append((parcel & (region == europe), cat.TRANSIT_ROUTES["parcel"]["europe"]))
    groups.append((parcel & (region != europe), cat.TRANSIT_ROUTES["parcel"]["far"]))
    for country, options in cat.ROAD_TRANSIT.items():
        groups.append(((mode == _ROAD) & (departure == c.cix[country]), options))
    for mask, options in groups:
        rows = np.flatnonzero(mask)
        if len(rows):
            idx, cdf = _table(options, tix)
            tr[rows] = idx[_draw(rng, cdf, len(rows))]
    # A route never passes through its own origin or departure country.
    clash = c.transit_has[tr, departure] | c.transit_has[tr, origin]
    tr[clash & (mode != _ROAD)] = 0
    return tr


def _ports(
    c: _Catalogue,
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
        for ports, rows in (
            (c.seaports[country], np.flatnonzero(at & (mode == _SEA))),
            (c.airports[country], np.flatnonzero(at & (mode != _SEA) & (mode != _ROAD))),
        ):
            if len(rows):
                loading[rows] = ports[(u[rows] * len(ports)).astype(np.int64)]
    europe = c.regions.index("europe")
    near = c.region[departure] == europe
    for key, mask in (
        ("sea_far", (mode == _SEA) & ~near),
        ("sea_near", (mode == _SEA) & near),
        ("air", mode == _AIR),
        ("courier", mode == _COURIER),
        ("postal", mode == _POSTAL),
    ):
        rows = np.flatnonzero(mask)
        idx, cdf = _table(cat.DISCHARGE_PORTS[key], c.pix)
        discharge[rows] = idx[_draw(rng, cdf, len(rows))]
    # Road: the ferry or tunnel crossing from the last country before the member.
    road = mode == _ROAD
    last = np.where(c.transit_last[transit] >= 0, c.transit_last[transit], departure)
    for country, crossings in cat.ROAD_CROSSINGS.items():
        rows = np.flatnonzero(road & (last == c.cix[country]))
        pick = _draw(rng, _cdf(list(crossings.values())), len(rows))
        pairs = list(crossings)
        loading[rows] = np.array([c.pix[a] for a, _ in pairs])[pick]
        discharge[rows] = np.array([c.pix[b] for _, b in pairs])[pick]
    return loading, discharge


def _carrier(
    c: _Catalogue, rng: np.random.Generator, departure: np.ndarray, mode: np.ndarray
) -> np.ndarray:
    carrier = c.post_carrier[departure].copy()  # postal: the sending country's operator
    for m, (idx, cdf) in c.carrier_cdf.items():
        rows = np.flatnonzero(mode == m)
        carrier[rows] = idx[_draw(rng, cdf, len(rows))]
    return carrier


def _scramble(g: np.ndarray, modulus: int) -> np.ndarray:
    """A bijection of row numbers onto serial numbers, so documents look random but never repeat."""
    return (g * 7_919_393 + 1_234_567) % modulus


def _documents(
    c: _Catalogue, g: np.ndarray, carrier: np.ndarray, mode: np.ndarray, departure: np.ndarray
) -> pa.Array:
    """Transport document numbers: B/L, air waybill, courier waybill, UPU S10 item, CMR note."""
    n = len(g)
    s7 = _scramble(g, 10**7)
    prefix = _take(
        [cr.prefix for cr in cat.CARRIERS] + [""] * (len(c.carriers) - len(cat.CARRIERS)), carrier
    )
    parts: list[pa.Array] = []
    order: list[np.ndarray] = []
    digits = _digits
    rows = np.flatnonzero(mode == _SEA)  # B/L, e.g. MSCU1234567
    parts.append(pc.binary_join_element_wise(prefix.take(pa.array(rows)), digits(s7[rows], 7), ""))
    order.append(rows)
    rows = np.flatnonzero(mode == _AIR)  # AWB, e.g. 176-12345675 (mod-7 check digit)
    awb = s7[rows] * 10 + s7[rows] % 7
    parts.append(pc.binary_join_element_wise(prefix.take(pa.array(rows)), digits(awb, 8), "-"))
    order.append(rows)
    rows = np.flatnonzero(mode == _COURIER)
    parts.append(
        pc.binary_join_element_wise(
            prefix.take(pa.array(rows)), digits(_scramble(g[rows], 10**10), 10), ""
        )
    )
    order.append(rows)
    rows = np.flatnonzero(mode == _POSTAL)  # UPU S10, e.g. CP123456785CN
    s8 = _scramble(g[rows], 10**8)
    parts.append(
        pc.binary_join_element_wise(
            _take(["CP", "RR", "LX", "EE"], s8 % 4),
            digits(s8 * 10 + _s10_check(s8), 9),
            _take(c.countries, departure[rows]),
            "",
        )
    )
    order.append(rows)
    rows = np.flatnonzero(mode == _ROAD)
    parts.append(pc.binary_join_element_wise("CMR", digits(_scramble(g[rows], 10**8), 8), ""))
    order.append(rows)
    allrows = np.concatenate(order)
    inverse = np.empty(n, dtype=np.int64)
    inverse[allrows] = np.arange(n)
    return pa.concat_arrays([p.cast(pa.string()) for p in parts]).take(pa.array(inverse))


def _s10_check(serial: np.ndarray) -> np.ndarray:
    weights = np.array([8, 6, 4, 2, 3, 5, 9, 7])
    digits = (serial[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    check = 11 - (digits * weights).sum(axis=1) % 11
    return np.where(check == 10, 0, np.where(check == 11, 5, check))


def _mismatched_descriptions(
    c: _Catalogue, rng: np.random.Generator, prod: np.ndarray
) -> np.ndarray:
    """Half generic cover descriptions ("ceramic tiles"), half another heading's description."""
    m = len(prod)
    n_cover = len(cat.COVER_DESCRIPTIONS)
    out = len(c.descs) - n_cover + rng.integers(0, n_cover, m)
    other = (prod + rng.integers(1, len(cat.PRODUCTS), m)) % len(cat.PRODUCTS)
    use_other = rng.random(m) < 0.5
    for i in np.flatnonzero(use_other):
        out[i] = rng.choice(c.prod_descs[other[i]])
    return out


# --------------------------------------------------------------------------------------------
# Seizures

_PATTERN_NAMES = np.array([p.name for p in PATTERNS], dtype=object)
_GENERIC_CONCEALMENT = ("misdeclared goods", "mixed with legitimate goods", "not concealed")
_GENERIC_DETECTION = ("risk profiling", "documentary check", "physical examination", "random check")
_TRUTH_COLUMNS = ["x_linked_clearance_id", "x_pattern"]


def _seizures(w: _World, pool: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Clean seizure records: the member's, linked to shipments, and the region's."""
    linked = pool[pool["_inspected"] | pool["_late"]].reset_index(drop=True)
    n_regional = max(10, round(1.2 * len(linked)))
    n_background = n_regional if pool.empty else round(0.15 * n_regional)
    templates = pool.iloc[rng.integers(0, max(1, len(pool)), n_regional - n_background)]
    parts = [
        _linked_seizures(w.cat, linked, rng),
        _regional_seizures(w.cat, templates.reset_index(drop=True), rng),
        _background_seizures(w.cat, n_background, rng),
    ]
    df = pd.concat([p for p in parts if len(p)], ignore_index=True)
    df = df.sort_values(["_day", "reporting_country"], kind="stable").reset_index(drop=True)
    year = df["date"].str[:4]
    seq = df.groupby([df["reporting_country"], year]).cumcount() + 1
    df["id"] = "SZ-" + df["reporting_country"] + "-" + year + "-" + seq.astype(str).str.zfill(6)
    return df[SEIZURES.field_names + _TRUTH_COLUMNS + ["_day"]]


def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), n)]


def _text(numbers: np.ndarray, width: int = 0) -> np.ndarray:
    """Integers as zero-padded text, in an object array that concatenates with +."""
    text = np.asarray(numbers).astype(str)
    return (np.char.zfill(text, width) if text.size else text).astype(object)


def _blank(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Leave an optional field empty in a share of the rows, as members do."""
    out = np.asarray(values, dtype=object).copy()
    out[rng.random(len(out)) < share] = ""
    return out


def _offences(c: _Catalogue, t: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What was seized, why, how it was hidden and found, and how much, from the cause."""
    n = len(t)
    reason = _PATTERN_NAMES[t["_reason"].to_numpy()]
    by_product = np.array([p.seizure for p in cat.PRODUCTS], dtype=object)[t["_prod"].to_numpy()]
    out = {
        "commodity_category": by_product[:, 0].copy(),
        "offence_type": by_product[:, 1].copy(),
        "description": by_product[:, 2].copy(),
        "concealment_method": _pick(rng, _GENERIC_CONCEALMENT, n),
        "detection_method": _pick(rng, _GENERIC_DETECTION, n),
        "quantity": t["quantity"].to_numpy(dtype=float).copy(),
        "quantity_unit": t["quantity_unit"].to_numpy(dtype=object).copy(),
        "estimated_value": t["declared_value"].to_numpy(dtype=float).copy(),
    }
    rows = reason == "description_mismatch"
    out["offence_type"][rows] = "misdescription of goods"
    declared = t["goods_description"].to_numpy(dtype=object)[rows]
    out["description"][rows] = out["description"][rows] + " declared as " + declared
    for name, o in cat.PATTERN_OFFENCES.items():
        rows = np.flatnonzero(reason == name)
        m = len(rows)
        out["commodity_category"][rows] = o.category
        out["offence_type"][rows] = o.offence
        out["description"][rows] = _pick(rng, o.goods, m)
        out["concealment_method"][rows] = _pick(rng, o.concealment, m)
        out["detection_method"][rows] = _pick(rng, o.detection, m)
        if o.unit:
            out["quantity"][rows] = np.round(o.median_qty * rng.lognormal(0.0, 0.8, m), 1)
            out["quantity_unit"][rows] = o.unit
        if o.usd_per_unit:
            out["estimated_value"][rows] = np.round(out["quantity"][rows] * o.usd_per_unit, 2)
    rows = np.flatnonzero(reason == "parcel_drugs")
    m = len(rows)
    drug = [
        cat.PARCEL_DRUGS.get(c.countries[o], ("herbal cannabis", 6_000.0))
        for o in t["_origin"].to_numpy()[rows]
    ]
    grams = np.maximum(1.0, np.round(300.0 * rng.lognormal(0.0, 0.9, m)))
    out["commodity_category"][rows] = "drugs"
    out["offence_type"][rows] = "drug trafficking"
    out["description"][rows] = np.array([d[0] for d in drug], dtype=object)
    out["concealment_method"][rows] = _pick(rng, cat.PARCEL_CONCEALMENT, m)
    out["detection_method"][rows] = _pick(rng, cat.PARCEL_DETECTION, m)
    out["quantity"][rows], out["quantity_unit"][rows] = grams, "g"
    out["estimated_value"][rows] = np.round(grams / 1000 * np.array([d[1] for d in drug]), 2)

    out["concealment_method"] = _blank(rng, out["concealment_method"], 0.05)
    out["detection_method"] = _blank(rng, out["detection_method"], 0.05)
    out["estimated_value"][rng.random(n) < 0.08] = np.nan
    return out


def _hs_precision(rng: np.random.Generator, codes: pd.Series) -> np.ndarray:
    """Seizures give the HS code to 4, 6 or all digits: at least the heading, for linking."""
    digits = rng.choice([4, 6, 8], size=len(codes), p=[0.4, 0.3, 0.3])
    return np.array([code[:d] for code, d in zip(codes, digits, strict=True)], dtype=object)


def _conveyance(rng: np.random.Generator, mode: np.ndarray, carrier: np.ndarray) -> np.ndarray:
    """Vessel and voyage, flight number or lorry; nothing for parcels."""
    n = len(mode)
    out = np.full(n, "", dtype=object)
    number = _text(rng.integers(100, 1000, n))
    sea, air, road = mode == "sea", mode == "air", mode == "road"
    out[sea] = _pick(rng, cat.VESSEL_NAMES, int(sea.sum())) + " V." + number[sea]
    codes = {cr.name: cr.code for cr in cat.CARRIERS}
    airline = np.array([codes.get(x) or "XX" for x in carrier[air]], dtype=object)
    out[air] = airline + _text(rng.integers(1, 10_000, int(air.sum())), 4)
    out[road] = "lorry " + _text(rng.integers(10, 100, int(road.sum()))) + "-" + number[road]
    return _blank(rng, out, 0.3)


def _place_type(mode: np.ndarray, member: bool) -> np.ndarray:
    # Lorries reach the member through RoRo ports; the other members have land borders.
    road = "seaport" if member else "land_border"
    table = {"sea": "seaport", "air": "airport", "road": road}
    return np.array([table.get(m, "postal_courier_centre") for m in mode], dtype=object)


def _linked_seizures(c: _Catalogue, t: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The member's seizures on its own shipments: found on inspection, or later inland."""
    n = len(t)
    if not n:
        return pd.DataFrame()
    late = t["_late"].to_numpy()
    # A few days after arrival; weeks later when found inland after release.
    day = t["_day"].to_numpy() + np.where(late, rng.integers(5, 41, n), rng.integers(0, 5, n))
    day = np.minimum(day, N_DAYS - 1)
    mode = t["transport_mode"].to_numpy(dtype=object)
    place = np.array([cat.PLACE_NAMES.get(p, p) for p in t["port_of_discharge"]], dtype=object)
    postal = mode == "postal"
    place[postal] = _pick(rng, cat.POSTAL_PLACES, int(postal.sum()))
    place[late] = _pick(rng, cat.INLAND_PLACES, int(late.sum()))
    place_type = _place_type(mode, member=True)
    place_type[late] = "inland"
    with_doc = late | (rng.random(n) < 0.6)
    importer = t["importer_id"].to_numpy(dtype=object)
    offences = _offences(c, t, rng)
    offences["detection_method"][late] = _pick(
        rng, ("post-clearance audit", "intelligence"), int(late.sum())
    )
    return pd.DataFrame(
        {
            "_day": day,
            "date": np.array(c.dates, dtype=object)[day],
            "reporting_country": MEMBER_COUNTRY,
            "place": _blank(rng, place, 0.05),
            "place_type": place_type,
            **offences,
            "hs_code": _hs_precision(rng, t["hs_code"]),
            "transport_mode": mode,
            "conveyance": _conveyance(rng, mode, t["carrier"].to_numpy(dtype=object)),
            "transport_document": np.where(with_doc, t["transport_document"], ""),
            "origin_country": t["origin_country"].to_numpy(dtype=object),
            # without a document the route is what links the seizure: keep it whole then
            "departure_country": np.where(
                ~with_doc | (rng.random(n) < 0.8), t["departure_country"], ""
            ),
            "transit_countries": t["transit_countries"].to_numpy(dtype=object),
            "destination_country": MEMBER_COUNTRY,
            "trader": np.where(~with_doc | (rng.random(n) < 0.6), importer, ""),
            "consignee": np.where(rng.random(n) < 0.4, importer, ""),
            "x_linked_clearance_id": t["id"].to_numpy(dtype=object),
            "x_pattern": _PATTERN_NAMES[t["_reason"].to_numpy()],
        }
    )


def _reporters(c: _Catalogue, rng: np.random.Generator, n: int) -> np.ndarray:
    idx, cdf = _table(cat.REGION_REPORTERS, c.cix)
    return np.array(c.countries, dtype=object)[idx[_draw(rng, cdf, n)]]


def _regional_seizures(c: _Catalogue, t: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Seizures by the region's other members, following the same patterns as the member's."""
    n = len(t)
    if not n:
        return pd.DataFrame()
    reporter = _reporters(c, rng, n)
    mode = t["transport_mode"].to_numpy(dtype=object)
    place_type = _place_type(mode, member=False)
    place = np.array(
        [
            cat.REGION_PLACES[r]["airport" if pt == "postal_courier_centre" else pt]
            for r, pt in zip(reporter, place_type, strict=True)
        ],
        dtype=object,
    )
    transit = t["transit_countries"].to_numpy(dtype=object)
    in_transit = np.array([r in tr.split(";") for r, tr in zip(reporter, transit, strict=True)])
    # Goods seized on their way through to the member are destined for it.
    u = rng.random(n)
    destination = np.where(
        in_transit | (u < 0.15),
        MEMBER_COUNTRY,
        np.where(u < 0.25, _reporters(c, rng, n), reporter),
    )
    day = rng.integers(0, N_DAYS, n)
    offences = _offences(c, t, rng)
    # Other quantities than the template shipment's; the pattern (goods, route, mode) is the same.
    qty = offences["quantity"] * rng.lognormal(0.0, 0.5, n)
    counted = np.isin(offences["quantity_unit"], ["unit", "pair", "l", "g"])
    offences["quantity"] = np.where(
        counted, np.maximum(1.0, np.round(qty)), np.maximum(0.1, np.round(qty, 1))
    )
    # Document numbers with prefixes no clearance record uses, so they never link by accident.
    serial = rng.integers(0, 10**7, n)
    doc = np.full(n, "", dtype=object)
    sea, air = mode == "sea", mode == "air"
    doc[sea] = _pick(rng, cat.REGIONAL_CONTAINER_PREFIXES, int(sea.sum())) + _text(serial[sea], 7)
    doc[air] = (
        _pick(rng, cat.REGIONAL_AWB_PREFIXES, int(air.sum()))
        + "-"
        + _text(serial[air], 7)
        + _text(serial[air] % 7)
    )
    trader = "IMP-" + reporter + "-" + _text(rng.integers(1, 10**6, n), 6)
    return pd.DataFrame(
        {
            "_day": day,
            "date": np.array(c.dates, dtype=object)[day],
            "reporting_country": reporter,
            "place": _blank(rng, place, 0.05),
            "place_type": place_type,
            **offences,
            "hs_code": _hs_precision(rng, t["hs_code"]),
            "transport_mode": mode,
            "conveyance": _conveyance(rng, mode, t["carrier"].to_numpy(dtype=object)),
            "transport_document": _blank(rng, doc, 0.7),
            "origin_country": t["origin_country"].to_numpy(dtype=object),
            "departure_country": _blank(rng, t["departure_country"].to_numpy(dtype=object), 0.2),
            "transit_countries": transit,
            "destination_country": destination,
            "trader": _blank(rng, trader, 0.5),
            "consignee": "",
            "x_linked_clearance_id": "",
            "x_pattern": _PATTERN_NAMES[t["_reason"].to_numpy()],
        }
    )


def _background_seizures(c: _Catalogue, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Regional seizures unrelated to the clearance flows: cash, arms, wildlife, waste..."""
    if not n:
        return pd.DataFrame()
    reporter = _reporters(c, rng, n)
    kind = rng.integers(0, len(cat.REGIONAL_BACKGROUND), n)
    cols: dict[str, np.ndarray] = {
        k: np.full(n, "", dtype=object)
        for k in (
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
    }
    qty = np.ones(n)
    value = np.zeros(n)
    for j, o in enumerate(cat.REGIONAL_BACKGROUND):
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
        cols["description"][rows] = _pick(rng, o.goods, m)
        cols["hs_code"][rows] = _pick(rng, o.hs_codes, m) if o.hs_codes else ""
        cols["quantity_unit"][rows] = o.unit
        cols["transport_mode"][rows] = o.mode
        cols["detection_method"][rows] = _pick(rng, o.detection, m)
        cols["concealment_method"][rows] = _pick(rng, o.concealment, m)
        if o.origins:
            cols["origin_country"][rows] = _pick(rng, o.origins, m)
            cols["destination_country"][rows] = reporter[rows]
        else:  # an export: from the reporting country to a waste destination
            cols["origin_country"][rows] = reporter[rows]
            cols["destination_country"][rows] = _pick(rng, cat.WASTE_DESTINATIONS, m)
    place_type = _place_type(cols["transport_mode"], member=False)
    place = np.array(
        [
            cat.REGION_PLACES[r]["airport" if pt == "postal_courier_centre" else pt]
            for r, pt in zip(reporter, place_type, strict=True)
        ],
        dtype=object,
    )
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


# --------------------------------------------------------------------------------------------
# Writing seizures: a clean CSV and a messy CEN bulk-upload workbook

BAD_ROW_KINDS = (
    "invalid_hs_code",
    "unknown_country",
    "negative_quantity",
    "bad_date",
    "missing_id",
)

# Words members use for the means of transport (all known to vocab.MODE_ALIASES).
MODE_WORDS = {
    "sea": ("Maritime", "Sea freight", "Maritime transport", "Vessel"),
    "air": ("Air cargo", "Air freight", "Air transport"),
    "road": ("Road", "Truck", "Lorry", "Road transport"),
    "postal": ("Post", "Mail", "Postal consignment", "Parcel post"),
    "courier": ("Express courier", "Express", "Express consignment"),
}


def _inverse(aliases: dict[str, str], style: Callable[[str], str]) -> dict[str, tuple[str, ...]]:
    """Vocabulary value -> the other spellings vocab knows for it, styled as members type them."""
    out: dict[str, list[str]] = {}
    for alias, value in aliases.items():
        if alias != value and "_" not in alias:
            out.setdefault(value, []).append(style(alias))
    return {k: tuple(v) for k, v in out.items()}


@cache
def _spellings() -> dict[str, dict[str, tuple[str, ...]]]:
    rec19: dict[str, tuple[str, ...]] = {}
    for digit, mode in vocab.REC19_MODES.items():
        if mode != "unknown":
            rec19.setdefault(mode, (digit,))
    names = {}
    for c in cat.COUNTRIES:
        names[c.code] = cat.COUNTRY_SPELLINGS.get(c.code) or (
            pycountry.countries.get(alpha_2=c.code).name,
        )
    return {
        "mode_words": MODE_WORDS,
        "rec19": rec19,
        "unit": _inverse(vocab.UNIT_ALIASES, str.upper),
        "place_type": _inverse(vocab.PLACE_TYPE_ALIASES, str.title),
        "commodity": _inverse(vocab.COMMODITY_ALIASES, str.capitalize),
        "country_name": names,
        "alpha3": {
            c.code: (pycountry.countries.get(alpha_2=c.code).alpha_3,) for c in cat.COUNTRIES
        },
    }


def _respell(
    values: np.ndarray,
    kind: str,
    rng: np.random.Generator,
    share: float,
    lo: float = 0.0,
    u: np.ndarray | None = None,
) -> np.ndarray:
    """Replace the values whose draw u falls in [lo, lo + share) by another spelling."""
    table = _spellings()[kind]
    u = rng.random(len(values)) if u is None else u
    v = rng.random(len(values))
    out = values.copy()
    for i in np.flatnonzero((u >= lo) & (u < lo + share)):
        options = table.get(values[i])
        if options:
            out[i] = options[int(v[i] * len(options))]
    return out


def _messy_countries(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """45 % of country codes become a name (25 %) or an alpha-3 code (20 %)."""
    u = rng.random(len(values))
    named = _respell(values, "country_name", rng, 1.0)
    alpha3 = _respell(values, "alpha3", rng, 1.0)
    return np.where(u < 0.55, values, np.where(u < 0.8, named, alpha3))


def _messy_transit(routes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half the routes spelled with names or alpha-3 codes, separated by ";" or ","."""
    out = routes.copy()
    u = rng.random(len(routes))
    for i in np.flatnonzero((u >= 0.5) & (routes != "")):
        names = _messy_countries(np.array(routes[i].split(";"), dtype=object), rng)
        comma = u[i] < 0.75 and not any("," in x for x in names)  # "Hong Kong, China"
        out[i] = (", " if comma else "; ").join(names)
    return out


def _messy_hs(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """35 % dotted ("1006.30"), 15 % typed as numbers (when no leading zero would be lost)."""
    u = rng.random(len(codes))
    out = codes.copy()
    for i in np.flatnonzero(u >= 0.5):
        code = codes[i]
        if not code:
            continue
        if u[i] < 0.85 or code.startswith("0"):
            out[i] = ".".join([code[:4], *(code[j : j + 2] for j in range(4, len(code), 2))])
        else:
            out[i] = int(code)
    return out


def _messy_dates(days: np.ndarray, rng: np.random.Generator) -> list[object]:
    """Excel dates for 55 % of the rows, "DD/MM/YYYY" text for the rest."""
    u = rng.random(len(days))
    out: list[object] = []
    for d, x in zip(days, u, strict=True):
        day = START + dt.timedelta(days=int(d))
        out.append(dt.datetime(day.year, day.month, day.day) if x < 0.55 else f"{day:%d/%m/%Y}")
    return out


def _write_seizures(
    df: pd.DataFrame, xlsx: Path, csv_path: Path, rng: np.random.Generator
) -> np.ndarray:
    """Write the clean CSV and the messy workbook; return the mask of rows made bad in the xlsx."""
    n = len(df)
    n_bad = 0 if n < 20 else max(min(len(BAD_ROW_KINDS), n // 40), round(0.005 * n))
    bad_rows = np.sort(rng.choice(n, size=n_bad, replace=False)) if n_bad else np.array([], int)
    bad = np.zeros(n, dtype=bool)
    bad[bad_rows] = True
    df.loc[~bad, SEIZURES.field_names + _TRUTH_COLUMNS].to_csv(csv_path, index=False)

    cols: dict[str, np.ndarray | list[object]] = {
        f: df[f].to_numpy(dtype=object) for f in SEIZURES.field_names
    }
    cols["date"] = _messy_dates(df["_day"].to_numpy(), rng)
    for f in ("reporting_country", "origin_country", "departure_country", "destination_country"):
        cols[f] = _messy_countries(cols[f], rng)
    cols["transit_countries"] = _messy_transit(cols["transit_countries"], rng)
    cols["hs_code"] = _messy_hs(cols["hs_code"], rng)
    u = rng.random(n)  # 45 % words, 25 % UN/ECE Rec 19 digits (couriers have none), 30 % clean
    words = _respell(cols["transport_mode"], "mode_words", rng, 0.45, u=u)
    cols["transport_mode"] = _respell(words, "rec19", rng, 0.25, lo=0.45, u=u)
    cols["quantity_unit"] = _respell(cols["quantity_unit"], "unit", rng, 0.4)
    cols["place_type"] = _respell(cols["place_type"], "place_type", rng, 0.4)
    cols["commodity_category"] = _respell(cols["commodity_category"], "commodity", rng, 0.3)
    for i, r in enumerate(bad_rows):
        _corrupt(cols, int(r), BAD_ROW_KINDS[i % len(BAD_ROW_KINDS)])

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Seizures")
    ws.append(SEIZURES.field_names)
    for row in zip(*(cols[f] for f in SEIZURES.field_names), strict=True):
        ws.append([_cell(v) for v in row])
    wb.save(xlsx)
    return bad


def _corrupt(cols: dict[str, np.ndarray | list[object]], i: int, kind: str) -> None:
    """Genuinely invalid values that ingestion must quarantine."""
    if kind == "invalid_hs_code":
        cols["hs_code"][i] = "9999"
    elif kind == "unknown_country":
        cols["origin_country"][i] = "Atlantis"
    elif kind == "negative_quantity":
        q = cols["quantity"][i]
        cols["quantity"][i] = -abs(float(q)) if q == q and q else -1.0  # q == q: not NaN
    elif kind == "bad_date":
        cols["date"][i] = "31/02/2024"
    elif kind == "missing_id":
        cols["id"][i] = None


def _cell(value: object) -> object:
    if isinstance(value, str) and value == "":
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
