"""Names as analysts and officers read them: TFA criteria in words, codes as names."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from riskscore.features.hs_names import country_name, hs_label

CRITERION_LABELS = {
    "hs_code": "HS code",
    "goods_description": "nature and description of goods",
    "origin": "country of origin",
    "shipped_from_route": "country shipped from / route",
    "value": "value",
    "trader_record": "compliance record of traders",
    "transport_mode": "means of transport",
    "seizure_intelligence": "seizure intelligence",
    "declaration_attributes": "member-specific fields",
}
HS_FEATURES = ("hs2", "hs4", "hs6")
COUNTRY_FEATURES = ("origin_country", "departure_country")


def criterion_label(criterion: str) -> str:
    """'compliance record of traders' for trader_record."""
    return CRITERION_LABELS.get(criterion, criterion.replace("_", " "))


def readable_value(feature: str, value: object) -> str:
    """A feature value as an officer reads it: '1006 (cereals)', 'Ecuador', '0.23'."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if feature in HS_FEATURES:
        return hs_label(str(value))
    if feature in COUNTRY_FEATURES:
        return country_name(str(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return f"{float(value):.3g}"
    return str(value)
