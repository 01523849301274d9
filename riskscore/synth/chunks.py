"""One chunk of shipments as rows of the files: clearance, declarations, truth, and the pool of
illicit shipments that seizures are made from.

Chunk k draws from its own stream (seed, 0, k), so the output depends on nothing but the seed and
the number of shipments, and memory stays flat from a thousand to ten million rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.synth.columns import numbered_ids, take, zero_padded
from riskscore.synth.documents import transport_documents
from riskscore.synth.draws import draw
from riskscore.synth.patterns import (
    LATE_DETECTION,
    PATTERNS,
    REVENUE_CASE,
    declared_values,
    draw_inspections,
    misdescribe,
    planted_truth,
    revenue_recovered,
)
from riskscore.synth.schemas import CLEARANCE_SCHEMA, TRUTH_SCHEMA
from riskscore.synth.scope import CURRENCY, MEMBER_COUNTRY, MODES
from riskscore.synth.shipments import Shipments, draw_shipments
from riskscore.synth.traders import World


@dataclass
class Chunk:
    """The rows one chunk of shipments adds to each file."""

    clearance: pa.Table
    declarations: pa.Table
    truth: pa.Table
    pool: pa.Table  # illicit shipments that can become seizures


def make_chunk(w: World, rng: np.random.Generator, start: int, n: int) -> Chunk:
    """Shipments start to start + n - 1: clearance rows, the inspected and the illicit ones."""
    s = draw_shipments(w, rng, start, n)
    value, undervalued = declared_values(rng, s)
    mismatch = misdescribe(w.cat, rng, s)
    p_true, illicit, reason = planted_truth(w, rng, s, undervalued, mismatch)
    inspected = draw_inspections(rng, p_true)
    found = inspected & illicit & (reason == REVENUE_CASE)
    revenue = revenue_recovered(w.cat, s, value, found)
    # Every shipment's, for truth.parquet; no random draw, so the other files stay as they were.
    potential = revenue_recovered(w.cat, s, value, illicit & (reason == REVENUE_CASE))
    clearance = _clearance(w, rng, s, value)
    decl = clearance.filter(pa.array(inspected))
    decl = decl.append_column("illicit", pa.array(illicit[inspected].astype(np.int8)))
    decl = decl.append_column("revenue_recovered", pa.array(revenue[inspected]))
    truth = pa.table(
        {
            "id": clearance["id"],
            "p_illicit": pa.array(p_true),
            "inspected": pa.array(inspected.astype(np.int8)),
            "illicit": pa.array(illicit.astype(np.int8)),
            "pattern": take(["", *(p.name for p in PATTERNS)], reason + 1),
            "revenue": pa.array(potential),
        },
        schema=TRUTH_SCHEMA,
    )
    pool = _seizure_pool(rng, clearance, s, illicit, reason, inspected)
    return Chunk(clearance, decl, truth, pool)


def _clearance(w: World, rng: np.random.Generator, s: Shipments, value: np.ndarray) -> pa.Table:
    """The clearance rows, with their traders: the usual supplier and declarant, mostly."""
    c = w.cat
    n = len(s.g)
    exporter_no = np.where(
        rng.random(n) < 0.7,
        (s.imp * 2_654_435_761 + s.origin * 40_503) % w.n_exporters,  # the usual supplier
        draw(rng, w.exporter_cdf, n),
    )
    declarant = np.where(
        rng.random(n) < 0.85, w.home_declarant[s.imp], draw(rng, w.declarant_cdf, n)
    )
    origin = take(c.countries, s.origin)
    zeros = np.zeros(n, dtype=np.int64)
    return pa.table(
        {
            "id": numbered_ids("CLR-", s.g + 1, 9),
            "date": take(c.dates, s.day),
            "reporting_country": take([MEMBER_COUNTRY], zeros),
            "flow": take(["import"], zeros),
            "hs_code": take(c.codes, s.code),
            "goods_description": take(c.descs, s.desc),
            "origin_country": origin,
            "departure_country": take(c.countries, s.departure),
            "port_of_loading": take(c.ports, s.loading),
            "port_of_discharge": take(c.ports, s.discharge),
            "transit_countries": take(c.transits, s.transit),
            "transport_mode": take(list(MODES), s.mode),
            "carrier": take(c.carriers, s.carrier),
            "transport_document": transport_documents(c, s.g, s.carrier, s.mode, s.departure),
            "importer_id": take(w.importer_ids, s.imp),
            "exporter_id": pc.binary_join_element_wise(
                "EXP", origin, zero_padded(exporter_no + 1, 6), "-"
            ),
            "declarant_id": take(w.declarant_ids, declarant),
            "quantity": pa.array(s.qty),
            "quantity_unit": take(c.prod_unit, s.prod),
            "gross_weight_kg": pa.array(s.weight),
            "declared_value": pa.array(value),
            "currency": take([CURRENCY], zeros),
        },
        schema=CLEARANCE_SCHEMA,
    )


def _seizure_pool(
    rng: np.random.Generator,
    clearance: pa.Table,
    s: Shipments,
    illicit: np.ndarray,
    reason: np.ndarray,
    inspected: np.ndarray,
) -> pa.Table:
    """The illicit clearance rows that can become seizures, with what the seizures need."""
    keep = illicit & (reason != REVENUE_CASE)  # revenue cases are not CEN seizures
    pool = clearance.filter(pa.array(keep))
    extra = {
        "_day": s.day,
        "_reason": reason,
        "_prod": s.prod,
        "_origin": s.origin,
        "_inspected": inspected,
        "_late": ~inspected & (rng.random(len(s.g)) < LATE_DETECTION),
    }
    for name, values in extra.items():
        pool = pool.append_column(name, pa.array(values[keep]))
    return pool
