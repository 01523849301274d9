"""What analysts' alerts did: each alert's selections and, once outcomes arrive, its hit rate.

Outcomes come from the members' own labelled declarations in the store (`illicit`) and from
those fed back through `/v1/outcomes`; a declaration is the pair (member, declaration id).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskscore.database import Location
from riskscore.features.outcomes import read_outcomes
from riskscore.features.store import Store
from riskscore.models.alert_book import AlertBook
from riskscore.models.alerts import criteria_text

OUTCOME_COLUMNS = ["declaration_id", "member", "illicit"]


def known_outcomes(store_dir: Path | None, outcomes_db: Location) -> pd.DataFrame:
    """Every inspection outcome known: the store's labelled declarations, then the API's."""
    frames = []
    if store_dir is not None and Path(store_dir).is_dir():
        declared = Store(store_dir).read("declarations", ["id", "reporting_country", "illicit"])
        frames.append(
            declared.rename(columns={"id": "declaration_id", "reporting_country": "member"})
        )
    fed = read_outcomes(outcomes_db)
    frames.append(fed[OUTCOME_COLUMNS])
    known = pd.concat([f.astype({"declaration_id": str, "member": str}) for f in frames])
    return known.dropna(subset=["illicit"])[OUTCOME_COLUMNS]


def alert_table(book: AlertBook, store_dir: Path | None, outcomes_db: Location) -> pd.DataFrame:
    """One row per alert: what it is (its criteria also as text), and its selections, outcomes
    known, hits and hit rate."""
    alerts = book.list()
    if not alerts:
        return pd.DataFrame(
            columns=["id", "channel", "criteria", "criteria_text", "selections", "hit_rate"]
        )
    rates = book.hit_rates(known_outcomes(store_dir, outcomes_db)).set_index("alert_id")
    rows = []
    for alert in alerts:
        rate = rates.loc[alert.id] if alert.id in rates.index else None
        rows.append(
            alert.to_dict()
            | {
                "criteria_text": criteria_text(alert.criteria),
                "active": alert.active(),
                "selections": int(rate["selections"]) if rate is not None else 0,
                "outcomes_known": int(rate["outcomes_known"]) if rate is not None else 0,
                "hits": int(rate["hits"]) if rate is not None else 0,
                "hit_rate": float(rate["hit_rate"]) if rate is not None else float("nan"),
            }
        )
    return pd.DataFrame(rows)
