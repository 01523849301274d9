"""Text columns built with pyarrow compute, for the chunks of a million rows and more."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def zero_padded(numbers: np.ndarray, width: int) -> pa.Array:
    """Integers as text padded with zeros to width."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")


def numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers such as IMP-GB-000123."""
    return pc.binary_join_element_wise(prefix, zero_padded(numbers, width), "")


def take(values: list[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    """values[idx] as a string array."""
    arr = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    return arr.take(pa.array(idx))
