"""Column layouts of the files the generator writes."""

from __future__ import annotations

import pyarrow as pa

from riskscore.features.contracts import CLEARANCE, DECLARATIONS


def _schema(names: list[str]) -> pa.Schema:
    floats = {"quantity", "gross_weight_kg", "declared_value", "revenue_recovered"}
    types = {n: pa.float64() if n in floats else pa.string() for n in names}
    types["illicit"] = pa.int8()
    return pa.schema([(n, types[n]) for n in names])


CLEARANCE_SCHEMA = _schema(CLEARANCE.field_names)
DECLARATIONS_SCHEMA = _schema(DECLARATIONS.field_names)
TRUTH_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("p_illicit", pa.float64()),
        ("inspected", pa.int8()),
        ("illicit", pa.int8()),
        ("pattern", pa.string()),
        # What an inspection would recover: above 0 only for illicit undervaluation, inspected
        # or not (declarations.parquet has it for the inspected ones), so a simulated policy
        # can be credited with the revenue of shipments history never inspected.
        ("revenue", pa.float64()),
    ]
)
# Truth columns of seizures.csv, after the SEIZURES contract fields; never features or labels.
SEIZURE_TRUTH_COLUMNS = ["x_linked_clearance_id", "x_pattern"]
