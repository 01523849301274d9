"""The simulation page (`riskscore simulate`): each policy's precision, recall and revenue week by
week, the totals side by side, the universe and the settings. It reads summary.json's content
(a plain dict), so a page can be rebuilt from the file alone.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from riskscore.reports import html
from riskscore.reports.plots import BLUE, GREEN, GREY, ORANGE, RED, png, styled

BASELINE = "exploit"
SMOOTHING_WEEKS = 4  # the bold line's moving average: one week holds few inspections
PANELS = (
    ("precision", "Precision (hits / inspected)"),
    ("recall", "Recall (hits / offences in the week)"),
    ("revenue", "Revenue recovered"),
)


def ratios(summary: dict, baseline: str = BASELINE) -> dict[str, dict[str, float | None]]:
    """Each policy's total precision, recall and revenue over the baseline policy's."""
    policies = summary["policies"]
    if baseline not in policies:
        return {}
    base = policies[baseline]["total"]
    out: dict[str, dict[str, float | None]] = {}
    for name, run in policies.items():
        mine = run["total"]
        out[name] = {
            key: mine[key] / base[key] if mine[key] is not None and base[key] else None
            for key in ("precision", "recall", "revenue")
        }
    return out


def write_page(summary: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(summary), encoding="utf-8")
    return path


def page(summary: dict) -> str:
    """The self-contained HTML document."""
    names = list(summary["policies"])
    subtitle = [
        f"{len(names)} policies, {summary['weeks']} weeks from {summary['from']} to "
        f"{summary['to']}, capacity {summary['capacity'] * 100:g} % of each week",
        f"universe: {summary['universe']}",
    ]
    sections = [
        html.section(
            "over-time",
            "Over time",
            [
                html.note(summary["universe_note"]),
                html.figure(
                    weekly_figure(summary),
                    "precision, recall and revenue per week for each policy",
                    f"Thin lines: each week; bold: {SMOOTHING_WEEKS}-week moving average. Dashed "
                    "verticals: a retrained model scores from that week on; x: a retrain that "
                    "failed (the model went on).",
                ),
                html.figure(
                    cumulative_figure(summary),
                    "offences found and revenue recovered, cumulated",
                    "Cumulated over the period: the gap between lines is what one policy found "
                    "that another did not.",
                ),
            ],
        ),
        html.section("totals", "Totals", [totals_table(summary)]),
        html.section("settings", "Settings", [settings_table(summary)]),
        html.section("weeks", "Week by week", [_week_tables(summary)]),
    ]
    nav = {"over-time": "Over time", "totals": "Totals", "settings": "Settings", "weeks": "Weeks"}
    return html.page("Inspection policies: the learning loop replayed", subtitle, nav, sections)


def totals_table(summary: dict) -> str:
    against = ratios(summary)
    rows = []
    for name, run in summary["policies"].items():
        total = run["total"]
        vs = against.get(name, {})
        rows.append(
            {
                "policy": name,
                "inspected": total["inspected"],
                "hits": total["hits"],
                "precision": total["precision"],
                "recall": total["recall"],
                "revenue": total["revenue"],
                "precision_vs": vs.get("precision"),
                "recall_vs": vs.get("recall"),
                "revenue_vs": vs.get("revenue"),
                "model_precision": total.get("model_precision"),
                "retrains": f"{total['retrains']}"
                + (f" ({total['failed_retrains']} failed)" if total["failed_retrains"] else ""),
                "seconds": run.get("seconds"),
            }
        )
    base = f" vs {BASELINE}" if against else ""
    columns = {
        "policy": "policy",
        "inspected": "inspected",
        "hits": "hits",
        "precision": "precision",
        "recall": "recall",
        "revenue": "revenue",
        **(
            {
                "precision_vs": f"precision{base}",
                "recall_vs": f"recall{base}",
                "revenue_vs": f"revenue{base}",
            }
            if against
            else {}
        ),
        "model_precision": "model's top-k precision",
        "retrains": "retrains",
        "seconds": "seconds",
    }
    formats = {
        "inspected": html.integer,
        "hits": html.integer,
        "precision": html.percent,
        "recall": html.percent,
        "revenue": html.decimal(0),
        "precision_vs": html.times,
        "recall_vs": html.times,
        "revenue_vs": html.times,
        "model_precision": html.percent,
        "seconds": html.decimal(1),
    }
    caption = (
        "Over all weeks: precision = hits / inspected, recall = hits / offences; the model's "
        "top-k precision is what the policy's model would have found had it selected the top "
        "k itself: the learning, apart from the cost of selecting otherwise"
    )
    return html.table(pd.DataFrame(rows), columns, formats, table_id="totals", caption=caption)


def settings_table(summary: dict) -> str:
    initial = summary.get("initial_model", {})
    items = [
        ("universe", summary["universe"]),
        ("period", f"{summary['from']} to {summary['to']} ({summary['weeks']} weeks)"),
        ("capacity", f"{summary['capacity'] * 100:g} % of each week's candidates"),
        (
            "retraining",
            f"every {summary['retrain_every']} weeks, the initial model's shape"
            if summary["retrain_every"]
            else "never",
        ),
        ("feature state", "refreshed every week" if summary.get("refresh") else "as trained"),
        ("seed", summary.get("seed")),
        (
            "initial model",
            f"trained on {initial.get('train_from')} to {initial.get('valid_until')} "
            f"({initial.get('train_rows')} training rows): {initial.get('shape')}",
        ),
        ("seconds", summary.get("seconds")),
    ]
    return html.pairs(items, table_id="settings")


def _week_tables(summary: dict) -> str:
    columns = {
        "week": "week",
        "population": "candidates",
        "offences": "offences",
        "inspected": "inspected",
        "hits": "hits",
        "precision": "precision",
        "recall": "recall",
        "revenue": "revenue",
        "retrained": "retrained after",
    }
    formats = {
        "population": html.integer,
        "offences": html.integer,
        "inspected": html.integer,
        "hits": html.integer,
        "precision": html.percent,
        "recall": html.percent,
        "revenue": html.decimal(0),
    }
    parts = []
    for name, run in summary["policies"].items():
        frame = pd.DataFrame(run["weeks"])
        frame["retrained"] = [
            "yes" if w["retrained"] else ("failed" if w.get("retrain_error") else "")
            for w in run["weeks"]
        ]
        table = html.table(frame, columns, formats, caption=name)
        parts.append(f"<details><summary>{html.esc(name)}</summary>{table}</details>")
    return "".join(parts)


def colours(names: list[str]) -> dict[str, str]:
    """Fixed colours for the usual policies; a second policy of a kind (hybrid:0.3 beside
    hybrid:0.1) and any other get the next unused tab10 colour."""
    from matplotlib.colors import to_hex

    usual = {"exploit": BLUE, "random": GREY, "hybrid": ORANGE, "explore": GREEN}
    spare = [to_hex(c) for c in plt.get_cmap("tab10").colors]
    out: dict[str, str] = {}
    for name in names:
        colour = usual.get(name) or usual.get(name.split(":")[0])
        if colour is None or colour in out.values():
            colour = next(c for c in spare if c not in out.values())
        out[name] = colour
    return out


def _frame(run: dict) -> pd.DataFrame:
    frame = pd.DataFrame(run["weeks"])
    frame["date"] = pd.to_datetime(frame["week"])
    return frame


@styled
def weekly_figure(summary: dict) -> bytes:
    """Precision, recall and revenue per week, one line per policy, retrains marked."""
    names = list(summary["policies"])
    palette = colours(names)
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(11, 9.5), sharex=True)
    for ax, (key, label) in zip(axes, PANELS, strict=True):
        for name in names:
            frame = _frame(summary["policies"][name])
            values = frame[key].astype("float64")
            smooth = values.rolling(SMOOTHING_WEEKS, min_periods=1).mean()
            colour = palette[name]
            ax.plot(frame["date"], values, color=colour, alpha=0.3, linewidth=0.9)
            ax.plot(frame["date"], smooth, color=colour, linewidth=2.0, label=name)
            failed = frame["retrain_error"].notna().to_numpy()
            if failed.any():
                ax.scatter(frame["date"][failed], values[failed], marker="x", color=RED, zorder=4)
        ax.set_ylabel(label)
        if key != "revenue":
            ax.set_ylim(0, 1.02)
    retrained = {
        pd.Timestamp(w["week"])
        for run in summary["policies"].values()
        for w in run["weeks"]
        if w["retrained"]
    }
    for when in sorted(retrained):
        for ax in axes:
            ax.axvline(when + pd.Timedelta(days=7), color=GREY, linestyle="--", linewidth=0.8)
    axes[0].set_title(
        f"Each policy week by week (capacity {summary['capacity'] * 100:g} %, "
        f"{summary['universe']} universe)"
    )
    axes[0].legend(loc="upper left", ncol=min(4, len(names)))
    axes[-1].set_xlabel("Week (start)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return png(fig)


@styled
def cumulative_figure(summary: dict) -> bytes:
    """Offences found and revenue recovered, cumulated over the weeks."""
    names = list(summary["policies"])
    palette = colours(names)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in names:
        frame = _frame(summary["policies"][name])
        left.plot(frame["date"], np.cumsum(frame["hits"]), color=palette[name], label=name)
        right.plot(frame["date"], np.cumsum(frame["revenue"]), color=palette[name], label=name)
    left.set(title="Offences found, cumulated", ylabel="Hits", xlabel="Week (start)")
    right.set(title="Revenue recovered, cumulated", ylabel="Revenue", xlabel="Week (start)")
    left.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return png(fig)
