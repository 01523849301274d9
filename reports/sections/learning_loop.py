"""Two sections on the learning loop: what the model's selections look like without selection
bias (models.unbiased), and how far the traffic has drifted from the model's reference
(models.traffic_drift)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from riskscore.models.drift import MAJOR, MODERATE, RELIED_ON_SHARE, SCORE
from riskscore.models.traffic_drift import TrafficDrift
from riskscore.models.unbiased import Unbiased
from riskscore.reports.html import decimal, figure, integer, note, paragraph, percent, section
from riskscore.reports.html import table as html_table
from riskscore.reports.plots import BLUE, GREY, ORANGE, RED, png, styled

SELECTION_TITLE = "Selection bias"
DRIFT_TITLE = "Drift"
SHOWN = 15  # inputs in the drift plot


def selection_section(found: Unbiased | None, inspected: dict[str, float] | None) -> str:
    """The unbiased estimates of the window beside the figures on inspected declarations
    (`inspected`: the evaluation window's metrics), or why there are none."""
    intro = paragraph(
        "Outcomes exist only where someone inspected, and the model chose most of those: "
        "figures on inspected declarations flatter it. Each declaration the service scores is "
        "recorded with how it was selected (red, yellow, an analyst's alert, the random draw "
        "of TFA Art. 7.4.3, or green) and how likely that was. Weighting each outcome by the "
        "inverse of that probability (within each stratum) estimates the figures of all "
        "declarations, with 95 % bootstrap intervals."
    )
    if found is None:
        return section(
            "selection-bias",
            SELECTION_TITLE,
            [
                intro,
                note(
                    "No selection records in this window: they are written when the API or "
                    "`riskscore score` scores declarations (RISKSCORE_STATE_DIR/selections.sqlite)."
                ),
            ],
        )
    e = found.estimates
    rows = found.figures(inspected)
    frame = pd.DataFrame(
        [
            {
                "figure": name,
                "estimate": None if est is None else est.value,
                "low": None if est is None else est.low,
                "high": None if est is None else est.high,
                "inspected": seen,
            }
            for name, est, seen in rows
        ]
    )
    counts = pd.DataFrame(
        [
            {"what": "declarations scored in the window", "n": found.scored},
            {"what": "of them in the store (the population judged)", "n": found.in_store},
            {"what": "selected by red, yellow or an alert", "n": e.by_rule},
            {"what": "their outcomes known", "n": e.outcomes_by_rule},
            {"what": "selected at random", "n": e.random},
            {"what": "their outcomes known", "n": e.random_outcomes},
            {"what": "offences among them", "n": e.random_offences},
            {"what": "outcomes outside the policy (not used)", "n": e.outside_policy},
        ]
    )
    verdict = (paragraph if e.enough else note)(e.note[0].upper() + e.note[1:] + ".")
    return section(
        "selection-bias",
        SELECTION_TITLE,
        [
            intro,
            verdict,
            html_table(
                frame,
                {
                    "figure": "figure",
                    "estimate": "unbiased estimate",
                    "low": "95 % from",
                    "high": "to",
                    "inspected": "on inspected declarations",
                },
                {k: percent for k in ("estimate", "low", "high", "inspected")},
                caption=f"Declarations scored {found.date_from} to {found.date_to}",
            ),
            html_table(counts, {"what": "selection records", "n": "declarations"}, {"n": integer}),
        ],
    )


def drift_section(found: TrafficDrift | None, why_not: str | None = None) -> str:
    """PSI per input and for the score over the evaluation window, or why it is missing."""
    against = found.reference if found else "the traffic the model was validated on"
    intro = paragraph(
        "Population stability index (PSI) of each model input and of the score: the "
        f"declarations of the window against {against}. Below {MODERATE} stable, "
        f"{MODERATE}-{MAJOR} moderate, "
        f"above {MAJOR} major. Inputs carrying at least {RELIED_ON_SHARE:.0%} of the model's "
        "mean |SHAP| count for riskscore retrain --if-drift; serving exports the same figures "
        "on /metrics (riskscore_feature_psi)."
    )
    if found is None:
        return section("drift", DRIFT_TITLE, [intro, note(why_not or "Not measured.")])
    value, feature = found.relied_on
    shown = found.table.head(SHOWN)
    return section(
        "drift",
        DRIFT_TITLE,
        [
            intro,
            paragraph(
                f"{found.rows:,} declarations from {found.date_from} to {found.date_to}. "
                f"Largest drift on the score or an input the model relies on: {value:.3f} "
                f"({feature})."
            ),
            figure(
                _psi_bars(shown),
                "PSI per input",
                "PSI per input, most drifted first; dotted lines at the moderate and major "
                "thresholds",
            ),
            html_table(
                shown.assign(flagged=shown["level"] == "major"),
                {
                    "feature": "input",
                    "psi": "PSI",
                    "level": "level",
                    "importance_share": "share of the model's |SHAP|",
                },
                {"psi": decimal(3), "importance_share": percent},
                flag_column="flagged",
            ),
        ],
    )


@styled
def _psi_bars(table: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.9 + 0.32 * len(table))))
    colours = [
        RED if v > MAJOR else ORANGE if v > MODERATE else (GREY if f == SCORE else BLUE)
        for f, v in zip(table["feature"], table["psi"], strict=True)
    ]
    ax.barh(list(table["feature"])[::-1], list(table["psi"])[::-1], color=colours[::-1])
    for threshold in (MODERATE, MAJOR):
        ax.axvline(threshold, color=GREY, linestyle=":", linewidth=1)
    ax.set(title="Population stability per input", xlabel="PSI", ylabel="Model input")
    return png(fig)
