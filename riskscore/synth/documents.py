"""Transport document numbers: B/L, air waybill, courier waybill, UPU S10 item, CMR note.

Numbers derive from the global row number through a bijection, so they look random but never
repeat (up to 10M rows) and need no random stream.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.synth.catalogue_arrays import Catalogue
from riskscore.synth.catalogue_places import CARRIERS
from riskscore.synth.columns import take, zero_padded
from riskscore.synth.scope import AIR, COURIER, POSTAL, ROAD, SEA


def transport_documents(
    c: Catalogue, g: np.ndarray, carrier: np.ndarray, mode: np.ndarray, departure: np.ndarray
) -> pa.Array:
    """One document number per shipment, shaped by its mode and carrier."""
    n = len(g)
    s7 = _scramble(g, 10**7)
    prefix = take(
        [cr.prefix for cr in CARRIERS] + [""] * (len(c.carriers) - len(CARRIERS)), carrier
    )
    parts: list[pa.Array] = []
    order: list[np.ndarray] = []
    rows = np.flatnonzero(mode == SEA)  # B/L, e.g. MSCU1234567
    parts.append(
        pc.binary_join_element_wise(prefix.take(pa.array(rows)), zero_padded(s7[rows], 7), "")
    )
    order.append(rows)
    rows = np.flatnonzero(mode == AIR)  # AWB, e.g. 176-12345675 (mod-7 check digit)
    awb = s7[rows] * 10 + s7[rows] % 7
    parts.append(pc.binary_join_element_wise(prefix.take(pa.array(rows)), zero_padded(awb, 8), "-"))
    order.append(rows)
    rows = np.flatnonzero(mode == COURIER)
    parts.append(
        pc.binary_join_element_wise(
            prefix.take(pa.array(rows)), zero_padded(_scramble(g[rows], 10**10), 10), ""
        )
    )
    order.append(rows)
    rows = np.flatnonzero(mode == POSTAL)  # UPU S10, e.g. CP123456785CN
    s8 = _scramble(g[rows], 10**8)
    parts.append(
        pc.binary_join_element_wise(
            take(["CP", "RR", "LX", "EE"], s8 % 4),
            zero_padded(s8 * 10 + _s10_check(s8), 9),
            take(c.countries, departure[rows]),
            "",
        )
    )
    order.append(rows)
    rows = np.flatnonzero(mode == ROAD)
    parts.append(pc.binary_join_element_wise("CMR", zero_padded(_scramble(g[rows], 10**8), 8), ""))
    order.append(rows)
    allrows = np.concatenate(order)
    inverse = np.empty(n, dtype=np.int64)
    inverse[allrows] = np.arange(n)
    return pa.concat_arrays([p.cast(pa.string()) for p in parts]).take(pa.array(inverse))


def _scramble(g: np.ndarray, modulus: int) -> np.ndarray:
    """A bijection of row numbers onto serial numbers, so documents look random but never repeat."""
    return (g * 7_919_393 + 1_234_567) % modulus


def _s10_check(serial: np.ndarray) -> np.ndarray:
    """The UPU S10 check digit of 8-digit serial numbers."""
    weights = np.array([8, 6, 4, 2, 3, 5, 9, 7])
    digits = (serial[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    check = 11 - (digits * weights).sum(axis=1) % 11
    return np.where(check == 10, 0, np.where(check == 11, 5, check))
