"""The "Seizure intelligence" section: the criteria cells with the highest seizure rates over
the year and those rising fastest (the tables come from reports/seizures.py)."""

from __future__ import annotations

import pandas as pd

from riskscore.reports import plots
from riskscore.reports.html import decimal, figure, integer, paragraph, section, table, times
from riskscore.reports.sections.common import needs_history
from riskscore.reports.seizures import SeizureIntel

TITLE = "Seizure intelligence"


def seizure_section(intel: SeizureIntel | None) -> str:
    """The section; without `intel` (no store), a note."""
    if intel is None:
        return section("seizure-intelligence", TITLE, [needs_history()])
    parts = [_introduction(intel), *_highest(intel), *_rising(intel)]
    if intel.unranked_cells:
        parts.append(_unranked(intel))
    return section("seizure-intelligence", TITLE, parts)


def _introduction(intel: SeizureIntel) -> str:
    config = intel.config
    return paragraph(
        "Where seizures concentrate: seizures (the member's and the region's) per 1,000 of "
        "the member's declarations in the same criteria cell — HS heading x origin, HS "
        "heading x country shipped from, route, means of transport. Lift is the cell's rate "
        f"over the average rate, small cells pulled toward the average with "
        f"{config.smoothing:g} pseudo-declarations. Data up to "
        f"{(intel.as_of - pd.Timedelta(days=1)).date()}; "
        f"the last {config.base_days} days hold {intel.seizures:,} seizures and "
        f"{intel.declarations:,} declarations."
    )


def _highest(intel: SeizureIntel) -> list[str]:
    """Heading, bars and table of the cells with the highest lift over the year."""
    config = intel.config
    return [
        "<h3>Highest seizure rates</h3>",
        figure(
            plots.cell_bars(
                list(intel.highest["cell"]),
                list(intel.highest["lift"]),
                title=f"Highest seizure rates, last {config.base_days} days",
                xlabel="Lift: cell's seizure rate / average rate",
            ),
            "cells with the highest seizure rates",
        ),
        table(
            intel.highest,
            {
                "cell": "what, from where",
                "cell_type": "criteria cell",
                "seizures": "seizures",
                "declarations": "declarations",
                "rate_per_1000": "seizures per 1,000 declarations",
                "lift": "lift",
            },
            {
                "seizures": integer,
                "declarations": integer,
                "rate_per_1000": decimal(1),
                "lift": times,
            },
            table_id="seizure-highest",
            caption=f"Top {config.top}: highest seizure rates, last {config.base_days} days",
        ),
    ]


def _rising(intel: SeizureIntel) -> list[str]:
    """Heading, how the rise is measured, bars (when a cell rose) and table."""
    config = intel.config
    parts = [
        "<h3>Fastest-rising seizure rates</h3>",
        paragraph(
            f"Rise = lift over the last {config.recent_days} days / lift over the "
            f"{config.base_days} days before. Cells need {config.min_rising_seizures} seizures in "
            f"the last {config.recent_days} days."
        ),
    ]
    if len(intel.rising):
        parts.append(
            figure(
                plots.cell_bars(
                    list(intel.rising["cell"]),
                    list(intel.rising["rise"]),
                    title=f"Fastest-rising seizure rates, last {config.recent_days} days",
                    xlabel="Rise: recent lift / earlier lift",
                ),
                "cells with the fastest-rising seizure rates",
            )
        )
    parts.append(_rising_table(intel))
    return parts


def _rising_table(intel: SeizureIntel) -> str:
    recent, base = intel.config.recent_days, intel.config.base_days
    return table(
        intel.rising,
        {
            "cell": "what, from where",
            "cell_type": "criteria cell",
            "seizures_recent": f"seizures, last {recent} d",
            "declarations_recent": f"declarations, last {recent} d",
            "seizures_before": f"seizures, {base} d before",
            "declarations_before": f"declarations, {base} d before",
            "lift_before": "lift before",
            "lift_recent": "lift now",
            "rise": "rise",
        },
        {
            "seizures_recent": integer,
            "declarations_recent": integer,
            "seizures_before": integer,
            "declarations_before": integer,
            "lift_before": times,
            "lift_recent": times,
            "rise": times,
        },
        table_id="seizure-rising",
        caption=f"Top {intel.config.top}: fastest-rising seizure rates",
    )


def _unranked(intel: SeizureIntel) -> str:
    config = intel.config
    return paragraph(
        f"{intel.unranked_cells} cells with {config.min_seizures}+ seizures have fewer "
        f"than {config.min_traffic} member declarations in the year and are not ranked: "
        "seizures abroad of goods or routes the member rarely sees.",
        "muted",
    )
