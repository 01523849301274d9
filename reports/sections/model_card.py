"""The "Model card" section of the analyst report: what the model is, what it was trained on,
what it is for and what it cannot do."""

from __future__ import annotations

import pandas as pd

from riskscore.models.risk_model import RiskModel
from riskscore.reports.html import esc, integer, note, pairs, section, table
from riskscore.reports.labels import criterion_label

TITLE = "Model card"

INTENDED_USE = (
    "Selectivity support under WTO TFA Art. 7.4: rank declarations so that limited inspection "
    "capacity goes to the riskiest consignments and low-risk ones are expedited (7.4.3).",
    "Every score comes with reasons an officer can read; the decision to control, and any "
    "action against a trader, remains a human decision.",
    "A share of declarations is selected at random (7.4.3), which also keeps an unbiased "
    "sample for monitoring and retraining.",
)
KNOWN_LIMITS = (
    "Labels come from inspection outcomes and seizures linked to declarations: offences are "
    "known only where someone looked. The model learns past selection as well as risk, and "
    "goods or routes rarely inspected look safer than they are.",
    "A declaration without an outcome counts as compliant; undetected offences are negatives.",
    "Seizure-to-declaration links are by transport document or by trader, HS heading and "
    "route within a date window; some are wrong and some seizures never link.",
    "Seizure intelligence and trader statistics move with the data: the model carries them "
    "as of its state date and needs retraining as patterns shift.",
    "Performance is measured on the window shown; small groups and segments have wide "
    "uncertainty. The audit's hit rates inherit the selection bias above.",
)


def model_card_section(
    model: RiskModel,
    model_ref: dict[str, str],
    lineage: dict | None,
    labels: dict | None,
) -> str:
    """The section: the model's facts, intended use, known limits, the data it was trained on
    (`lineage`: the run's lineage.json; `labels`: its labels.json) and its features."""
    parts = [
        pairs(_facts(model, model_ref), table_id="model-facts"),
        "<h3>Intended use</h3>",
        _bullets(INTENDED_USE),
        "<h3>Known limits</h3>",
        _bullets(KNOWN_LIMITS),
        "<h3>Data lineage</h3>",
        _lineage_table(lineage),
    ]
    if labels:
        parts.append(_labels_table(labels))
    parts += ["<h3>Features</h3>", _features_table(model)]
    return section("model-card", TITLE, parts)


def _facts(model: RiskModel, model_ref: dict[str, str]) -> list[tuple[str, object]]:
    info = model.info
    config = info.get("config") or {}
    channels = model.channels
    return [
        *((k, v) for k, v in model_ref.items() if v),
        ("training window", f"{info.get('train_from')} to {_day_before(info.get('train_until'))}"),
        ("validation window", _valid_window(info)),
        ("training rows / offences", _counts(info, "train")),
        ("validation rows / offences", _counts(info, "valid")),
        ("feature state", f"records dated before {info.get('state_as_of', '?')}"),
        ("validation precision@5% / recall@10%", _metric_pair(info.get("metrics") or {})),
        (
            "channels",
            f"red top {channels.red_share * 100:g} %, yellow next "
            f"{channels.yellow_share * 100:g} %, random {channels.random_share * 100:g}"
            " % of the rest",
        ),
        (
            "model",
            f"LightGBM, {model.booster.current_iteration()} trees of "
            f"{config.get('num_leaves', '?')} leaves, {model.calibrator.description} "
            "calibration, exact TreeSHAP",
        ),
        ("training statistics", config.get("train_stats", "")),
    ]


def _valid_window(info: dict) -> str:
    """Dates, and since issue 11 why the window is this long (and a warning if short)."""
    dates = f"{info.get('train_until')} to {info.get('valid_until')}"
    window = info.get("valid_window") or {}
    if not window:
        return dates
    text = f"{dates}: {window['reason']}"
    return text + (f" (warning: {window['warning']})" if window.get("warning") else "")


def _bullets(texts: tuple[str, ...]) -> str:
    return "<ul>" + "".join(f"<li>{esc(t)}</li>" for t in texts) + "</ul>"


def _lineage_table(lineage: dict | None) -> str:
    """The files ingested into the store, or a note when none were recorded."""
    if not lineage or not lineage.get("files"):
        return note("No lineage recorded for this model.")
    frame = pd.DataFrame(lineage["files"])
    frame["sha256"] = frame["source_sha256"].astype(str).str[:16]
    frame["dates"] = frame["date_min"].astype(str) + " to " + frame["date_max"].astype(str)
    return table(
        frame,
        {
            "kind": "kind",
            "source_file": "file",
            "sha256": "SHA-256 (first 16)",
            "rows_in": "rows in",
            "rows_accepted": "accepted",
            "rows_quarantined": "quarantined",
            "dates": "dates",
            "started_at": "ingested at",
        },
        {"rows_in": integer, "rows_accepted": integer, "rows_quarantined": integer},
        table_id="lineage",
        caption=f"Files ingested into {lineage.get('store', 'the store')}",
    )


def _labels_table(labels: dict) -> str:
    return table(
        pd.DataFrame({"count": labels}).rename_axis("what").reset_index(),
        {"what": "labels and seizure links", "count": "count"},
        {"count": integer},
        table_id="labels",
        caption="Where the labels came from (docs/labels.md)",
    )


def _features_table(model: RiskModel) -> str:
    """Every feature the model uses, with its TFA criterion and what it measures."""
    features = pd.DataFrame(
        [
            {
                "name": f.name,
                "criterion": criterion_label(f.criterion.value),
                "kind": "category" if f.categorical else "number",
                "description": f.description,
            }
            for f in model.registry
            if f.name in model.feature_names
        ]
    )
    return table(
        features,
        {
            "name": "feature",
            "criterion": "TFA criterion",
            "kind": "kind",
            "description": "what it measures",
        },
        table_id="features",
    )


def _metric_pair(metrics: dict) -> str:
    if "precision_at_5pct" not in metrics:
        return "not logged"
    return (
        f"{metrics['precision_at_5pct']:.3f} / {metrics.get('recall_at_10pct', float('nan')):.3f}"
    )


def _day_before(day: object) -> str:
    try:
        return str((pd.Timestamp(str(day)) - pd.Timedelta(days=1)).date())
    except ValueError:
        return "?"


def _counts(info: dict, part: str) -> str:
    rows, positives = info.get(f"{part}_rows"), info.get(f"{part}_positives")
    return f"{integer(rows)} / {integer(positives)}" if rows is not None else "?"
