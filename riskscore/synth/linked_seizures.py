"""The member's seizures on its own shipments: found on inspection, or later inland.

Each carries the shipment's id in `x_linked_clearance_id`; about 60 % carry its transport
document, the others the trader, heading and route a linker must match on instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.synth.catalogue_arrays import Catalogue
from riskscore.synth.catalogue_seizures import INLAND_PLACES, PLACE_NAMES, POSTAL_PLACES
from riskscore.synth.draws import pick
from riskscore.synth.patterns import PATTERN_NAMES
from riskscore.synth.scope import MEMBER_COUNTRY, N_DAYS
from riskscore.synth.seizure_fields import (
    blank,
    conveyances,
    hs_precision,
    offence_fields,
    place_types,
)


def linked_seizures(c: Catalogue, t: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Seizures of the pool rows t (inspected, or found late), one per shipment."""
    n = len(t)
    if not n:
        return pd.DataFrame()
    late = t["_late"].to_numpy()
    # A few days after arrival; weeks later when found inland after release.
    day = t["_day"].to_numpy() + np.where(late, rng.integers(5, 41, n), rng.integers(0, 5, n))
    day = np.minimum(day, N_DAYS - 1)
    mode = t["transport_mode"].to_numpy(dtype=object)
    place = np.array([PLACE_NAMES.get(p, p) for p in t["port_of_discharge"]], dtype=object)
    postal = mode == "postal"
    place[postal] = pick(rng, POSTAL_PLACES, int(postal.sum()))
    place[late] = pick(rng, INLAND_PLACES, int(late.sum()))
    place_type = place_types(mode, member=True)
    place_type[late] = "inland"
    with_doc = late | (rng.random(n) < 0.6)
    importer = t["importer_id"].to_numpy(dtype=object)
    offences = offence_fields(c, t, rng)
    offences["detection_method"][late] = pick(
        rng, ("post-clearance audit", "intelligence"), int(late.sum())
    )
    return pd.DataFrame(
        {
            "_day": day,
            "date": np.array(c.dates, dtype=object)[day],
            "reporting_country": MEMBER_COUNTRY,
            "place": blank(rng, place, 0.05),
            "place_type": place_type,
            **offences,
            "hs_code": hs_precision(rng, t["hs_code"]),
            "transport_mode": mode,
            "conveyance": conveyances(rng, mode, t["carrier"].to_numpy(dtype=object)),
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
            "x_pattern": PATTERN_NAMES[t["_reason"].to_numpy()],
        }
    )
