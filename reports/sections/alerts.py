"""The "Analyst alerts" section: each alert, what it selected and, with outcomes, its hit rate
against the model's own precision, so that weak alerts can be retired (reports/alerts.py)."""

from __future__ import annotations

import pandas as pd

from riskscore.reports.html import integer, note, paragraph, percent, section, table

TITLE = "Analyst alerts"
MIN_OUTCOMES = 20  # outcomes before a hit rate is worth comparing


def alerts_section(alerts: pd.DataFrame | None, precision: float | None) -> str:
    """The section; `alerts` from reports.alerts.alert_table, `precision` the model's at the red
    capacity (the bar an alert's hit rate is held to)."""
    if alerts is None or alerts.empty:
        return section(
            "alerts",
            TITLE,
            [note("No analyst alerts (riskscore alerts add, or POST /v1/alerts).")],
        )
    frame = alerts.copy()
    frame["valid"] = [
        f"{a or '-'} to {b or '-'}"
        for a, b in zip(frame["valid_from"], frame["valid_until"], strict=True)
    ]
    frame["state"] = ["active" if a else "expired" for a in frame["active"]]
    weak = (frame["outcomes_known"] >= MIN_OUTCOMES) & (
        frame["hit_rate"] < (precision if precision is not None else 0.0)
    )
    frame["verdict"] = ["retire?" if w else "" for w in weak]
    bar = f"{precision:.0%}" if precision is not None else "unknown"
    return section(
        "alerts",
        TITLE,
        [
            paragraph(
                "Alerts impose at least a channel on the declarations that meet their criteria; "
                "the model's score is unchanged. Selected: declarations an alert matched when "
                "scored (API or riskscore score). Hit rate: offences among those whose "
                "outcome is known (the store's labelled declarations and outcomes fed back "
                f"through the API). The model's precision at the red capacity is {bar}: an "
                f"alert below it on {MIN_OUTCOMES} or more outcomes selects worse than the model "
                "and is marked for review."
            ),
            table(
                frame,
                {
                    "id": "alert",
                    "channel": "channel",
                    "criteria_text": "criteria",
                    "author": "by",
                    "valid": "valid",
                    "state": "state",
                    "selections": "selected",
                    "outcomes_known": "outcomes",
                    "hits": "hits",
                    "hit_rate": "hit rate",
                    "verdict": "",
                },
                {
                    "selections": integer,
                    "outcomes_known": integer,
                    "hits": integer,
                    "hit_rate": percent,
                },
                table_id="alerts-table",
                flag_column="verdict",
            ),
        ],
    )
