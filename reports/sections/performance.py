"""The "Performance at inspection capacity" section: quality at n % inspected beside the figures
logged at training, the curves, calibration, control channels and precision per segment."""

from __future__ import annotations

import pandas as pd

from riskscore.models.metrics import CAPACITIES, at_capacity
from riskscore.models.risk_model import RiskModel
from riskscore.reports import plots
from riskscore.reports.data import (
    SEGMENTS,
    ScoredWindow,
    capacity_curve,
    channel_table,
    segment_table,
)
from riskscore.reports.html import (
    figure,
    in_halves,
    integer,
    paragraph,
    percent,
    section,
    side_by_side,
    table,
)
from riskscore.reports.sections.common import needs_history

TITLE = "Performance at inspection capacity"


def performance_section(model: RiskModel, evaluation: ScoredWindow | None) -> str:
    """The section; without an evaluation window (no store), the metrics logged at training."""
    logged = model.info.get("metrics") or {}
    if evaluation is None:
        return section(
            "performance",
            TITLE,
            [
                paragraph("Metrics logged when the model was trained, on its validation window."),
                _capacity_table(_capacity_rows(logged, logged)),
                needs_history("Curves, calibration, channels and segments"),
            ],
        )
    found = at_capacity(evaluation.scored.raw, evaluation.label, evaluation.revenue)
    validation = _is_validation_window(model, evaluation)
    parts = [_introduction(evaluation), _capacity_table(_capacity_rows(found, logged))]
    if validation and "precision_at_5pct" in logged:
        parts.append(_reproduction_check(found, logged))
    parts.append(_curves(evaluation, validation))
    parts += _channels(evaluation)
    parts += _segments(evaluation, model.channels.red_share)
    return section("performance", TITLE, parts)


def _introduction(evaluation: ScoredWindow) -> str:
    label = evaluation.label
    window = f"{evaluation.start.date()} to {evaluation.end.date()}"
    return paragraph(
        f"{len(label):,} labelled declarations from {window} ({int(label.sum()):,} offences, "
        f"base rate {label.mean() * 100:.2f} %), scored as serving scores them, with the "
        "feature state frozen on the window's first day (no declaration sees its own "
        "outcome). Inspection capacity is fixed: what matters is the top of the ranking."
    )


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


def _reproduction_check(found: dict, logged: dict) -> str:
    """On the validation window precision@5% must equal the logged figure: if not, the store
    has changed under the model."""
    same = abs(found["precision_at_5pct"] - logged["precision_at_5pct"]) < 1e-9
    return paragraph(
        "Check: this is the model's validation window and precision@5% "
        + ("equals" if same else "DIFFERS FROM")
        + f" the figure logged at training ({logged['precision_at_5pct']:.3f})."
        + ("" if same else " The store has changed since the model was trained."),
        "muted",
    )


def _curves(evaluation: ScoredWindow, validation: bool) -> str:
    """Quality as the inspected share grows, beside the calibration curve."""
    label = evaluation.label
    return in_halves(
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
                " The calibration was fitted on half of this validation window (the other "
                "half stopped the booster), so here it is partly close to the diagonal by "
                "construction: judge it on a later window (--from/--until)."
                if validation
                else ""
            ),
        ),
    )


def _channels(evaluation: ScoredWindow) -> list[str]:
    channels = channel_table(evaluation)
    return [
        "<h3>Control channels</h3>",
        side_by_side(
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


def _segments(evaluation: ScoredWindow, share: float) -> list[str]:
    """Precision of the top `share` (the red channel's) per segment of every kind."""
    return [
        "<h3>Precision per segment</h3>",
        paragraph(
            f"Per segment: how many declarations the top {share * 100:g} % (the red channel's "
            "share) selects there, and how many of those are offences, beside the segment's "
            "base rate. Segments with few selected declarations say little."
        ),
        *(_segment(evaluation, segment, share) for segment in SEGMENTS),
    ]


def _segment(evaluation: ScoredWindow, segment: str, share: float) -> str:
    seg = segment_table(evaluation, segment, share)
    return side_by_side(
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
