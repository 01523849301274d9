"""Plots of the analyst report, each returned as PNG bytes ready to embed in the HTML.

Every plot has a title, axis labels and readable category names: the callers pass labels
("1006 (cereals) from Ecuador"), never bare codes. Matplotlib's Agg backend: files only.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Callable, Sequence
from typing import ParamSpec

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from riskscore.models.metrics import calibration_table  # noqa: E402

P = ParamSpec("P")
DPI = 96
BLUE, ORANGE, GREEN, RED, GREY = "#2F6690", "#D9822B", "#3A7D44", "#B23A48", "#8C8C8C"
CHANNEL_COLOURS = {"red": RED, "yellow": "#E0B63A", "green": GREEN, "random": "#6C757D"}
STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.facecolor": "white",
}


def png(fig: plt.Figure) -> bytes:
    """The figure as PNG bytes (tight bounding box, so long labels are never cut)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


def styled(plot: Callable[P, bytes]) -> Callable[P, bytes]:
    """Run a plot function inside the report's matplotlib style, leaving the global one alone."""

    @functools.wraps(plot)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bytes:
        with plt.rc_context(STYLE):
            return plot(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def _height(rows: int, per_row: float = 0.32, minimum: float = 3.0) -> float:
    return max(minimum, 0.9 + per_row * rows)


@styled
def importance_bars(by_feature: pd.DataFrame, by_criterion: pd.DataFrame, top: int = 20) -> bytes:
    """Mean |SHAP| of the top features (coloured by criterion) beside the sum per criterion.

    by_feature: label, criterion_label, mean_abs_shap; by_criterion: criterion_label,
    mean_abs_shap. Both sorted largest first.
    """
    features = by_feature.head(top).iloc[::-1]
    criteria = by_criterion.iloc[::-1]
    palette = _palette(by_criterion["criterion_label"])
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, _height(len(features))), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    left.barh(
        features["label"],
        features["mean_abs_shap"],
        color=[palette[c] for c in features["criterion_label"]],
    )
    left.set(
        title=f"Top {len(features)} features by mean |SHAP|",
        xlabel="Mean |SHAP value| (log-odds of an offence)",
        ylabel="Feature",
    )
    right.barh(
        criteria["criterion_label"],
        criteria["mean_abs_shap"],
        color=[palette[c] for c in criteria["criterion_label"]],
    )
    right.set(
        title="Summed per TFA Art. 7.4.4 criterion",
        xlabel="Sum of mean |SHAP value| (log-odds)",
        ylabel="Criterion",
    )
    fig.tight_layout()
    return png(fig)


def _palette(labels: Sequence[str]) -> dict[str, str]:
    colours = plt.get_cmap("tab10").colors
    return {label: matplotlib.colors.to_hex(colours[i % 10]) for i, label in enumerate(labels)}


@styled
def beeswarm(
    contributions: np.ndarray, data: np.ndarray, labels: list[str], top: int = 15
) -> bytes:
    """SHAP beeswarm of explained declarations: one dot per declaration and feature.

    contributions: rows x features (no base column); data: the same shape, feature values as
    numbers (NaN where a colour would mislead, e.g. category codes: drawn grey).
    """
    import shap

    explanation = shap.Explanation(values=contributions, data=data, feature_names=labels)
    plt.figure()
    # shap jitters the dots with numpy's global random state: seed it for this plot only, so the
    # same model and window give the same picture, and put the caller's state back.
    state = np.random.get_state()
    np.random.seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN colours of grey features
            shap.plots.beeswarm(
                explanation, max_display=top, show=False, plot_size=(11, 0.42 * top + 1.5)
            )
    finally:
        np.random.set_state(state)
    fig = plt.gcf()
    ax = fig.axes[0]
    ax.set_title("SHAP values per declaration (top features)")
    ax.set_xlabel("SHAP value: contribution to the log-odds of an offence")
    ax.set_ylabel("Feature")
    return png(fig)


@styled
def dependence(
    x: np.ndarray,
    shap_values: np.ndarray,
    colour: np.ndarray,
    *,
    feature: str,
    colour_label: str,
    categories: list[str] | None = None,
) -> bytes:
    """SHAP value of one feature against its value, dots coloured by an interacting feature.

    With `categories`, x holds positions 0..k-1 into them (a jittered strip per category).
    """
    fig, ax = _figure(7.2, 4.6 if categories is None else 5.4)
    finite = np.isfinite(colour)
    xs = x.astype("float64")
    if categories is not None:
        rng = np.random.default_rng(0)
        xs = xs + rng.uniform(-0.28, 0.28, len(xs))
    ax.scatter(xs[~finite], shap_values[~finite], s=9, color=GREY, alpha=0.5, linewidths=0)
    if finite.any():
        low, high = np.nanpercentile(colour[finite], [5, 95])
        points = ax.scatter(
            xs[finite],
            shap_values[finite],
            c=np.clip(colour[finite], low, high),
            cmap="coolwarm",
            s=9,
            alpha=0.8,
            linewidths=0,
        )
        bar = fig.colorbar(points, ax=ax, pad=0.02)
        bar.set_label(colour_label)
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.set(
        title=f"Dependence: {feature}",
        xlabel=f"{feature} (value of the declaration)",
        ylabel="SHAP value (log-odds)",
    )
    if categories is not None:
        ax.set_xticks(range(len(categories)), categories, rotation=35, ha="right")
    return png(fig)


@styled
def capacity_curves(curve: pd.DataFrame, base_rate: float, title: str) -> bytes:
    """precision / recall / revenue as the inspected share grows (curve: share, precision,
    recall and optionally revenue, all in 0..1)."""
    fig, ax = _figure(6.6, 5.0)
    share = curve["share"] * 100
    ax.plot(share, curve["precision"], color=BLUE, label="precision@n% (hit rate)")
    ax.plot(share, curve["recall"], color=ORANGE, label="recall@n% (offences found)")
    if "revenue" in curve:
        ax.plot(share, curve["revenue"], color=GREEN, label="revenue@n% (revenue recovered)")
    ax.axhline(base_rate, color=GREY, linestyle=":", label="base rate (random checks)")
    for n in (1, 2, 5, 10):
        ax.axvline(n, color="#DDDDDD", linewidth=0.8, zorder=0)
    ax.set(
        title=title,
        xlabel="Declarations inspected (% of all, highest risk first)",
        ylabel="Share (0 to 1)",
        ylim=(0, 1.02),
    )
    ax.legend(loc="center right")
    return png(fig)


@styled
def calibration(score: np.ndarray, label: np.ndarray, title: str) -> bytes:
    """Observed share of offences against the mean predicted probability, per bin of the score
    rank: bins are finer at the top (the declarations that get inspected), axes logarithmic
    because most declarations score near zero."""
    table = calibration_table(score, label)
    fig, ax = _figure(5.8, 5.0)
    positive = table[(table["predicted"] > 0) & (table["observed"] > 0)]
    values = np.concatenate([positive["predicted"], positive["observed"]])
    low = float(values.min()) / 2 if len(values) else 1e-3
    ax.plot([low, 1], [low, 1], color=GREY, linestyle="--", label="perfect calibration")
    ax.plot(positive["predicted"], positive["observed"], marker="o", color=BLUE, label="score bins")
    ax.set(
        title=title,
        xlabel="Predicted probability of an offence (log scale)",
        ylabel="Observed share of offences (log scale)",
        xscale="log",
        yscale="log",
        xlim=(low, 1),
        ylim=(low, 1),
    )
    ax.legend(loc="upper left")
    return png(fig)


@styled
def channel_shares(table: pd.DataFrame) -> bytes:
    """Share of declarations per control channel, bars annotated with the hit rate.

    table: index channel; columns share, hit_rate, declarations.
    """
    fig, ax = _figure(6.5, 3.6)
    colours = [CHANNEL_COLOURS.get(str(c), GREY) for c in table.index]
    bars = ax.bar(table.index.astype(str), table["share"] * 100, color=colours)
    for bar, hit, n in zip(bars, table["hit_rate"], table["declarations"], strict=True):
        ax.annotate(
            f"{n:,} decl.\nhit rate {hit * 100:.1f} %",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set(
        title="Control channels at the model's thresholds",
        xlabel="Channel",
        ylabel="Declarations (%)",
        ylim=(0, max(100.0, float(table["share"].max() * 100) * 1.2)),
    )
    return png(fig)


@styled
def segment_precision(table: pd.DataFrame, segment: str, share: float, top: int = 15) -> bytes:
    """Hit rate of the selected declarations per segment beside the segment's base rate.

    table: label, declarations, selected, base_rate, precision_selected (largest first).
    """
    shown = table.head(top).iloc[::-1]
    fig, ax = _figure(9, _height(len(shown), 0.38))
    y = np.arange(len(shown))
    ax.barh(y + 0.2, shown["precision_selected"].fillna(0) * 100, 0.4, color=BLUE)
    ax.barh(y - 0.2, shown["base_rate"] * 100, 0.4, color=GREY)
    ax.set_yticks(y, [f"{lab}  (n={n:,}, sel.={s:,})" for lab, n, s in _rows(shown)])
    ax.legend(
        [f"hit rate of the top {share * 100:g} % selected", "base rate (all declarations)"],
        loc="lower right",
    )
    ax.set(
        title=f"Precision per {segment}",
        xlabel="Share of declarations found irregular (%)",
        ylabel=segment[0].upper() + segment[1:],
    )
    return png(fig)


def _rows(table: pd.DataFrame) -> list[tuple[str, int, int]]:
    return list(
        zip(
            table["label"],
            table["declarations"].astype(int),
            table["selected"].astype(int),
            strict=True,
        )
    )


@styled
def cell_bars(labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str) -> bytes:
    """Horizontal bars for a ranked list of criteria cells (largest at the top)."""
    fig, ax = _figure(9, _height(len(labels), 0.36))
    ax.barh(list(labels)[::-1], list(values)[::-1], color=ORANGE)
    ax.axvline(1.0, color=GREY, linestyle=":", linewidth=1)
    ax.set(title=title, xlabel=xlabel, ylabel="Criteria cell")
    return png(fig)


@styled
def audit_scatter(table: pd.DataFrame, factor: float, title: str) -> bytes:
    """Selection ratio against hit ratio per group; flagged groups are labelled.

    table: label, selection_ratio, hit_ratio, declarations, flagged.
    """
    fig, ax = _figure(6.0, 5.0)
    # A group with no offences, or a window without any, has no finite ratio: not plotted,
    # and it must not decide the axes either.
    ratios = table[["selection_ratio", "hit_ratio"]].to_numpy(dtype="float64")
    finite = ratios[np.isfinite(ratios)]
    top = max(float(finite.max()) if finite.size else 0.0, 2.0) * 1.1
    line = np.linspace(0, top, 50)
    ax.plot(line, line, color=GREY, linestyle="--", label="selected as often as hits justify")
    ax.plot(line, line * factor, color=RED, linestyle=":", label=f"flag line ({factor:g}x)")
    sizes = 12 + 60 * np.sqrt(table["declarations"] / table["declarations"].max())
    flagged = table["flagged"].to_numpy(dtype=bool)
    ax.scatter(
        table["hit_ratio"][~flagged],
        table["selection_ratio"][~flagged],
        s=sizes[~flagged],
        color=BLUE,
        alpha=0.6,
        label="group",
    )
    if flagged.any():
        ax.scatter(
            table["hit_ratio"][flagged],
            table["selection_ratio"][flagged],
            s=sizes[flagged],
            color=RED,
            label="flagged group",
        )
        for _, row in table[flagged].iterrows():
            ax.annotate(
                row["label"],
                (row["hit_ratio"], row["selection_ratio"]),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=8,
            )
    ax.set(
        title=title,
        xlabel="Hit ratio: group's offence rate / overall offence rate",
        ylabel="Selection ratio: group's selection rate / overall",
        xlim=(0, top),
        ylim=(0, top),
    )
    ax.legend(loc="lower right")
    return png(fig)


def waterfall(
    *,
    contributions: np.ndarray,
    base_value: float,
    labels: Sequence[str],
    numbers: np.ndarray,
    shown: np.ndarray,
    title: str,
    max_display: int = 12,
) -> bytes:
    """One declaration's SHAP waterfall: from the base value, feature by feature, to its
    log-odds (shap's own plot, titled and labelled for a case file)."""
    import shap

    explanation = shap.Explanation(
        values=contributions,
        base_values=base_value,
        data=numbers,
        display_data=shown,
        feature_names=list(labels),
    )
    plt.figure()
    shap.plots.waterfall(explanation, max_display=max_display, show=False)
    fig = plt.gcf()
    ax = fig.axes[0]
    ax.set_title(title, fontsize=12, fontweight="bold", pad=28)  # room for shap's f(x) note
    # labelpad clears shap's E[f(X)] annotation under the axis
    ax.set_xlabel(
        "Log-odds of an offence: base value plus each feature's SHAP contribution",
        labelpad=26,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()
