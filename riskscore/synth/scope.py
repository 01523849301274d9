"""What the demo data covers: the member, the two-year period and the means of transport."""

from __future__ import annotations

import datetime as dt

MEMBER_COUNTRY = "GB"
START = dt.date(2024, 1, 1)
END = dt.date(2025, 12, 31)
N_DAYS = (END - START).days + 1
CURRENCY = "USD"

MODES = ("sea", "air", "road", "courier", "postal")
SEA, AIR, ROAD, COURIER, POSTAL = range(5)  # indices into MODES, for vectorised code
