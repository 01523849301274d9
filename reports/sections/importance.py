"""The "What drives risk" section: SHAP importance per TFA criterion and per feature, the
beeswarm and the dependence plots of the top features."""

from __future__ import annotations

import pandas as pd

from riskscore.models.risk_model import RiskModel
from riskscore.reports import plots
from riskscore.reports.data import (
    Dependence,
    Explained,
    beeswarm_data,
    by_criterion,
    criterion_label,
    dependences,
)
from riskscore.reports.html import (
    decimal,
    figure,
    in_halves,
    integer,
    paragraph,
    percent,
    section,
    table,
)
from riskscore.reports.sections.common import needs_history

TITLE = "What drives risk"


def importance_section(
    model: RiskModel, ranked: pd.DataFrame, explained: Explained | None, where: str
) -> str:
    """The section; without `explained` (no store) the beeswarm and dependence plots give way
    to a note. `where` says which declarations the SHAP values come from."""
    criteria = by_criterion(ranked)
    parts = [_introduction(where), _importance_bars(ranked, criteria), _criteria_table(criteria)]
    if explained is None:
        parts.append(needs_history("The SHAP beeswarm and dependence plots"))
    else:
        parts.append(_beeswarm(model, explained))
        parts += _dependence_plots(dependences(model, explained, ranked))
    parts.append(_features_table(ranked))
    return section("importance", TITLE, parts)


def _introduction(where: str) -> str:
    return paragraph(
        "Global importance is the mean absolute SHAP value of each feature: how far, on "
        f"average, it moves a declaration's log-odds of an offence ({where}). Summed per "
        "TFA Art. 7.4.4 criterion, it shows which selectivity criteria the model relies on."
    )


def _importance_bars(ranked: pd.DataFrame, criteria: pd.DataFrame) -> str:
    return figure(
        plots.importance_bars(ranked, criteria),
        "Bar charts of SHAP importance per feature and per criterion",
        "Left: the top features, coloured by criterion. Right: the sum per criterion.",
    )


def _criteria_table(criteria: pd.DataFrame) -> str:
    return table(
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
    )


def _features_table(ranked: pd.DataFrame) -> str:
    return table(
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


def _beeswarm(model: RiskModel, explained: Explained) -> str:
    values, data = beeswarm_data(model, explained)
    labels = [f"{n} · {criterion_label(model.criteria[n].value)}" for n in model.feature_names]
    return figure(
        plots.beeswarm(values, data, labels),
        "SHAP beeswarm of the top features",
        "One dot per declaration: right of zero raises the risk, left lowers it. Colour is "
        "the feature's value (red high, blue low); categories (HS codes, countries, modes) "
        "have no order and are drawn grey.",
    )


def _dependence_plots(found: list[Dependence]) -> list[str]:
    """A heading, how to read the plots, and the plots two by two."""
    return [
        "<h3>Dependence plots of the top features</h3>",
        paragraph(
            "Each dot is a declaration: its SHAP value for the feature against the feature's "
            "value. The colour is the numeric feature that best explains the spread at a given "
            "value (shap.utils.approximate_interactions), the likeliest interaction."
        ),
        in_halves(*(_dependence_plot(d) for d in found)),
    ]


def _dependence_plot(d: Dependence) -> str:
    return figure(
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
