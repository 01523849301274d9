"""The "Non-discrimination audit (TFA Art. 7.4.2)" section: selection against hits by origin
country and by trader size, flagged groups first (the tables come from reports/audit.py)."""

from __future__ import annotations

from riskscore.reports import plots
from riskscore.reports.audit import Audit
from riskscore.reports.html import (
    figure,
    in_halves,
    integer,
    note,
    pairs,
    paragraph,
    percent,
    section,
    table,
    times,
    yes_no,
)
from riskscore.reports.sections.common import needs_history

TITLE = "Non-discrimination audit (TFA Art. 7.4.2)"
AUDIT_COLUMNS = {
    "group": "group",
    "declarations": "declarations",
    "selected": "selected",
    "selection_rate": "selection rate",
    "offences": "offences",
    "hit_rate": "hit rate",
    "hit_rate_selected": "hit rate of selected",
    "selection_ratio": "selection ratio",
    "hit_ratio": "hit ratio",
    "disparity": "disparity",
    "flagged": "flag",
}
AUDIT_FORMATS = {
    "declarations": integer,
    "selected": integer,
    "selection_rate": percent,
    "offences": integer,
    "hit_rate": percent,
    "hit_rate_selected": percent,
    "selection_ratio": times,
    "hit_ratio": times,
    "disparity": times,
    "flagged": yes_no,
}


def audit_section(result: Audit | None) -> str:
    """The section; without an audit (no store), a note."""
    if result is None:
        return section("audit", TITLE, [needs_history()])
    parts = [
        paragraph(
            "TFA Art. 7.4.2 asks that risk management avoid arbitrary or unjustifiable "
            "discrimination. Per group: the selection rate (share sent to red or yellow at the "
            "model's thresholds) and the hit rate (share found irregular). A group selected "
            "more often than average is justified only in proportion to its offences."
        ),
        paragraph(result.rule.describe()),
        _summary(result),
        _scatters(result),
        *_tables(result),
    ]
    if result.small_origins:
        parts.append(
            paragraph(
                f"{result.small_origins} origin countries with fewer than {result.rule.min_rows} "
                "declarations in the window are not judged.",
                "muted",
            )
        )
    parts.append(
        note(
            "Hit rates come from past controls: a group that was rarely inspected has few "
            "recorded offences whatever its true rate, and a flag is a prompt for review, "
            "not a finding. Random selection (TFA Art. 7.4.3) keeps an unbiased sample."
        )
    )
    return section("audit", TITLE, parts)


def _summary(result: Audit) -> str:
    flagged = int(result.by_origin["flagged"].sum() + result.by_trader_size["flagged"].sum())
    return pairs(
        [
            ("overall selection rate (red + yellow)", f"{result.selection_rate * 100:.1f} %"),
            ("overall hit rate", f"{result.hit_rate * 100:.2f} %"),
            ("groups flagged", flagged),
        ],
        table_id="audit-summary",
    )


def _scatters(result: Audit) -> str:
    """Selection ratio against hit ratio, by origin country beside by trader size."""
    return in_halves(
        figure(
            plots.audit_scatter(
                result.by_origin.rename(columns={"group": "label"}),
                result.rule.factor,
                "Selection against hits, by origin country",
            ),
            "audit by origin country",
        ),
        figure(
            plots.audit_scatter(
                result.by_trader_size.rename(columns={"group": "label"}),
                result.rule.factor,
                "Selection against hits, by trader size",
            ),
            "audit by trader size",
        ),
    )


def _tables(result: Audit) -> list[str]:
    return [
        table(
            result.by_origin,
            AUDIT_COLUMNS | {"group": "origin country"},
            AUDIT_FORMATS,
            table_id="audit-origin",
            caption=f"By origin country (countries with {result.rule.min_rows}+ declarations; "
            "flagged first, then by disparity)",
            flag_column="flagged",
        ),
        table(
            result.by_trader_size,
            AUDIT_COLUMNS | {"group": "importer size"},
            AUDIT_FORMATS,
            table_id="audit-trader-size",
            caption="By trader size (the importer's declarations in the store)",
            flag_column="flagged",
        ),
    ]
