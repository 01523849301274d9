"""The sections of the analyst report, each turned from tables into HTML with its plots (the
model card is in card.py)."""

from __future__ import annotations

import pandas as pd

from riskscore.models.metrics import CAPACITIES, at_capacity
from riskscore.models.risk_model import RiskModel
from riskscore.reports import card, plots
from riskscore.reports.audit import Audit
from riskscore.reports.data import (
    SEGMENTS,
    Explained,
    ScoredWindow,
    beeswarm_data,
    by_criterion,
    capacity_curve,
    channel_table,
    criterion_label,
    dependences,
    segment_table,
)
from riskscore.reports.html import (
    decimal,
    figure,
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
from riskscore.reports.seizures import IntelConfig, SeizureIntel

TITLES = {
    "importance": "What drives risk",
    "performance": "Performance at inspection capacity",
    "seizure-intelligence": "Seizure intelligence",
    "audit": "Non-discrimination audit (TFA Art. 7.4.2)",
    "model-card": card.TITLE,
}
NO_STORE = (
    "This part needs the labelled history (the feature store). It is filled in when the report "
    "is made with `riskscore report --store DIR`, the version logged to the model's MLflow run."
)


def _figures(*parts: str) -> str:
    """Side by side while they fit (a plot and its table)."""
    return f'<div class="figures">{"".join(parts)}</div>'


def _pair(*parts: str) -> str:
    """Plots side by side, each shrunk to half the width if need be."""
    return f'<div class="figures pair">{"".join(parts)}</div>'


# ---------------------------------------------------------------------------------------------


def importance_section(
    model: RiskModel, ranked: pd.DataFrame, explained: Explained | None, where: str
) -> str:
    criteria = by_criterion(ranked)
    parts = [
        paragraph(
            "Global importance is the mean absolute SHAP value of each feature: how far, on "
            f"average, it moves a declaration's log-odds of an offence ({where}). Summed per "
            "TFA Art. 7.4.4 criterion, it shows which selectivity criteria the model relies on."
        ),
        figure(
            plots.importance_bars(ranked, criteria),
            "Bar charts of SHAP importance per feature and per criterion",
            "Left: the top features, coloured by criterion. Right: the sum per criterion.",
        ),
        table(
            criteria,
            {
                "rank": "rank",
                "criterion_label": "TFA criterion",
                "criterion": "key",
                "mean_abs_shap": "sum of mean |SHAP|",
                "share": "share of total",
                "features": "features",
                "top_feature": "leading feature",
            },
            {"rank": integer, "mean_abs_shap": decimal(4), "share": percent, "features": integer},
            table_id="importance-criteria",
            caption="Importance per criterion",
        ),
    ]
    features_table = table(
        ranked,
        {
            "rank": "rank",
            "feature": "feature",
            "criterion_label": "TFA criterion",
            "description": "what it measures",
            "mean_abs_shap": "mean |SHAP|",
            "share": "share of total",
        },
        {"rank": integer, "mean_abs_shap": decimal(4), "share": percent},
        table_id="importance-features",
        caption="Importance per feature",
    )
    if explained is None:
        parts.append(note(f"The SHAP beeswarm and dependence plots: {NO_STORE}"))
        parts.append(features_table)
        return section("importance", TITLES["importance"], parts)
    values, data = beeswarm_data(model, explained)
    labels = [f"{n} · {criterion_label(model.criteria[n].value)}" for n in model.feature_names]
    parts.append(
        figure(
            plots.beeswarm(values, data, labels),
            "SHAP beeswarm of the top features",
            "One dot per declaration: right of zero raises the risk, left lowers it. Colour is "
            "the feature's value (red high, blue low); categories (HS codes, countries, modes) "
            "have no order and are drawn grey.",
        )
    )
    parts.append("<h3>Dependence plots of the top features</h3>")
    parts.append(
        paragraph(
            "Each dot is a declaration: its SHAP value for the feature against the feature's "
            "value. The colour is the numeric feature that best explains the spread at a given "
            "value (shap.utils.approximate_interactions), the likeliest interaction."
        )
    )
    parts.append(
        _pair(
            *(
                figure(
                    plots.dependence(
                        d.x,
                        d.shap,
                        d.colour,
                        feature=d.feature,
                        colour_label=d.colour_feature,
                        categories=d.categories,
                    ),
                    f"Dependence plot of {d.feature}",
                    f"{d.feature}, coloured by {d.colour_feature}"
                    + (" (the 12 most frequent categories)" if d.categories else ""),
                )
                for d in dependences(model, explained, ranked)
            )
        )
    )
    parts.append(features_table)
    return section("importance", TITLES["importance"], parts)


# ---------------------------------------------------------------------------------------------


def performance_section(model: RiskModel, evaluation: ScoredWindow | None) -> str:
    title = TITLES["performance"]
    logged = model.info.get("metrics") or {}
    if evaluation is None:
        rows = _capacity_rows(logged, logged)
        return section(
            "performance",
            title,
            [
                paragraph("Metrics logged when the model was trained, on its validation window."),
                _capacity_table(rows),
                note(f"Curves, calibration, channels and segments: {NO_STORE}"),
            ],
        )
    raw, label = evaluation.scored.raw, evaluation.label
    found = at_capacity(raw, label, evaluation.revenue)
    window = f"{evaluation.start.date()} to {evaluation.end.date()}"
    parts = [
        paragraph(
            f"{len(label):,} labelled declarations from {window} ({int(label.sum()):,} offences, "
            f"base rate {label.mean() * 100:.2f} %), scored as serving scores them, with the "
            "feature state frozen on the window's first day (no declaration sees its own "
            "outcome). Inspection capacity is fixed: what matters is the top of the ranking."
        ),
        _capacity_table(_capacity_rows(found, logged)),
    ]
    if _is_validation_window(model, evaluation) and "precision_at_5pct" in logged:
        same = abs(found["precision_at_5pct"] - logged["precision_at_5pct"]) < 1e-9
        parts.append(
            paragraph(
                "Check: this is the model's validation window and precision@5% "
                + ("equals" if same else "DIFFERS FROM")
                + f" the figure logged at training ({logged['precision_at_5pct']:.3f})."
                + ("" if same else " The store has changed since the model was trained."),
                "muted",
            )
        )
    parts.append(
        _pair(
            figure(
                plots.capacity_curves(
                    capacity_curve(evaluation), float(label.mean()), "Quality at capacity"
                ),
                "precision, recall and revenue at n % inspected",
                "precision@n%, recall@n% and revenue@n% as the inspected share grows.",
            ),
            figure(
                plots.calibration(evaluation.scored.score, label, "Calibration"),
                "calibration curve",
                "Predicted probability against the observed share of offences, in bins of the "
                "score rank (finer at the top)."
                + (
                    " The calibration was fitted on this validation window, so here it is close "
                    "to the diagonal by construction: judge it on a later window (--from/--until)."
                    if _is_validation_window(model, evaluation)
                    else ""
                ),
            ),
        )
    )
    channels = channel_table(evaluation)
    parts += [
        "<h3>Control channels</h3>",
        _figures(
            figure(plots.channel_shares(channels), "channel shares"),
            table(
                channels.rename_axis("channel").reset_index(),
                {
                    "channel": "channel",
                    "declarations": "declarations",
                    "share": "share",
                    "offences": "offences",
                    "hit_rate": "hit rate",
                },
                {
                    "declarations": integer,
                    "share": percent,
                    "offences": integer,
                    "hit_rate": percent,
                },
                table_id="channels",
                caption="Channels at the model's thresholds",
            ),
        ),
    ]
    share = model.channels.red_share
    parts.append("<h3>Precision per segment</h3>")
    parts.append(
        paragraph(
            f"Per segment: how many declarations the top {share * 100:g} % (the red channel's "
            "share) selects there, and how many of those are offences, beside the segment's "
            "base rate. Segments with few selected declarations say little."
        )
    )
    for segment in SEGMENTS:
        seg = segment_table(evaluation, segment, share)
        parts.append(
            _figures(
                figure(plots.segment_precision(seg, segment, share), f"precision per {segment}"),
                table(
                    seg.head(15),
                    {
                        "label": segment,
                        "declarations": "declarations",
                        "base_rate": "base rate",
                        "selected": "selected",
                        "precision_selected": "hit rate of selected",
                    },
                    {
                        "declarations": integer,
                        "base_rate": percent,
                        "selected": integer,
                        "precision_selected": percent,
                    },
                    table_id=f"segment-{segment.replace(' ', '-')}",
                    caption=f"Per {segment} (largest 15)",
                ),
            )
        )
    return section("performance", title, parts)


def _is_validation_window(model: RiskModel, evaluation: ScoredWindow) -> bool:
    info = model.info
    return str(evaluation.start.date()) == info.get("train_until") and str(
        evaluation.end.date()
    ) == info.get("valid_until")


def _capacity_rows(found: dict, logged: dict) -> pd.DataFrame:
    rows = []
    for share in CAPACITIES:
        n = f"{share * 100:g}"
        rows.append(
            {
                "n": f"{n} %",
                "precision": found.get(f"precision_at_{n}pct"),
                "recall": found.get(f"recall_at_{n}pct"),
                "revenue": found.get(f"revenue_at_{n}pct"),
                "logged": logged.get(f"precision_at_{n}pct"),
            }
        )
    return pd.DataFrame(rows)


def _capacity_table(rows: pd.DataFrame) -> str:
    return table(
        rows,
        {
            "n": "inspected",
            "precision": "precision@n%",
            "recall": "recall@n%",
            "revenue": "revenue@n%",
            "logged": "precision@n% logged at training",
        },
        {"precision": percent, "recall": percent, "revenue": percent, "logged": percent},
        table_id="capacity-metrics",
        caption="Quality at capacity",
    )


# ---------------------------------------------------------------------------------------------


def seizure_section(intel: SeizureIntel | None, config: IntelConfig) -> str:
    title = TITLES["seizure-intelligence"]
    if intel is None:
        return section("seizure-intelligence", title, [note(NO_STORE)])
    parts = [
        paragraph(
            "Where seizures concentrate: seizures (the member's and the region's) per 1,000 of "
            "the member's declarations in the same criteria cell — HS heading x origin, HS "
            "heading x country shipped from, route, means of transport. Lift is the cell's rate "
            f"over the average rate, small cells pulled toward the average with "
            f"{config.smoothing:g} pseudo-declarations. Data up to "
            f"{(intel.as_of - pd.Timedelta(days=1)).date()}; "
            f"the last {config.base_days} days hold {intel.seizures:,} seizures and "
            f"{intel.declarations:,} declarations."
        ),
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
    parts.append(
        table(
            intel.rising,
            {
                "cell": "what, from where",
                "cell_type": "criteria cell",
                "seizures_recent": f"seizures, last {config.recent_days} d",
                "declarations_recent": f"declarations, last {config.recent_days} d",
                "seizures_before": f"seizures, {config.base_days} d before",
                "declarations_before": f"declarations, {config.base_days} d before",
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
            caption=f"Top {config.top}: fastest-rising seizure rates",
        )
    )
    if intel.unranked_cells:
        parts.append(
            paragraph(
                f"{intel.unranked_cells} cells with {config.min_seizures}+ seizures have fewer "
                f"than {config.min_traffic} member declarations in the year and are not ranked: "
                "seizures abroad of goods or routes the member rarely sees.",
                "muted",
            )
        )
    return section("seizure-intelligence", title, parts)


# ---------------------------------------------------------------------------------------------

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
    title = TITLES["audit"]
    if result is None:
        return section("audit", title, [note(NO_STORE)])
    rule = result.rule
    flagged = int(result.by_origin["flagged"].sum() + result.by_trader_size["flagged"].sum())
    parts = [
        paragraph(
            "TFA Art. 7.4.2 asks that risk management avoid arbitrary or unjustifiable "
            "discrimination. Per group: the selection rate (share sent to red or yellow at the "
            "model's thresholds) and the hit rate (share found irregular). A group selected "
            "more often than average is justified only in proportion to its offences."
        ),
        paragraph(rule.describe()),
        pairs(
            [
                ("overall selection rate (red + yellow)", f"{result.selection_rate * 100:.1f} %"),
                ("overall hit rate", f"{result.hit_rate * 100:.2f} %"),
                ("groups flagged", flagged),
            ],
            table_id="audit-summary",
        ),
        _pair(
            figure(
                plots.audit_scatter(
                    result.by_origin.rename(columns={"group": "label"}),
                    rule.factor,
                    "Selection against hits, by origin country",
                ),
                "audit by origin country",
            ),
            figure(
                plots.audit_scatter(
                    result.by_trader_size.rename(columns={"group": "label"}),
                    rule.factor,
                    "Selection against hits, by trader size",
                ),
                "audit by trader size",
            ),
        ),
        table(
            result.by_origin,
            AUDIT_COLUMNS | {"group": "origin country"},
            AUDIT_FORMATS,
            table_id="audit-origin",
            caption=f"By origin country (countries with {rule.min_rows}+ declarations; "
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
    if result.small_origins:
        parts.append(
            paragraph(
                f"{result.small_origins} origin countries with fewer than {rule.min_rows} "
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
    return section("audit", title, parts)
