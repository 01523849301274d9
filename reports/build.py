"""The analyst report: one self-contained HTML page per model version.

`render_report(model, store_dir)` builds it: what drives risk (SHAP per feature and criterion,
beeswarm, dependence), performance at inspection capacity, seizure intelligence, a
non-discrimination audit (TFA Art. 7.4.2) and a model card. Without a store (serving has the
model but not the labelled history) the sections that need history say so.

`write_report(uri, store_dir, out, settings)` is `riskscore report`: it loads the model, writes
the file and logs it to the model version's MLflow run as `report.html`, where serving finds it
with `logged_report(name, version)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskscore.database import exists, locate
from riskscore.features.dataset import History, load_history
from riskscore.features.outcomes import read_outcomes
from riskscore.features.store import Store
from riskscore.models import registry
from riskscore.models.alert_book import AlertBook
from riskscore.models.metrics import at_capacity
from riskscore.models.registry import ModelRef
from riskscore.models.risk_model import RiskModel
from riskscore.models.selection_log import read_selections
from riskscore.models.traffic_drift import DriftError, TrafficDrift, traffic_drift
from riskscore.models.unbiased import Unbiased, unbiased
from riskscore.models.window import ScoredWindow
from riskscore.reports import sections
from riskscore.reports.alerts import alert_table
from riskscore.reports.audit import Audit, audit
from riskscore.reports.data import (
    Explained,
    ReportError,
    evaluation_window,
    explain_sample,
    importance,
)
from riskscore.reports.html import page
from riskscore.reports.seizures import SeizureIntel, seizure_intelligence
from riskscore.settings import Settings

EVAL_SHARE = 0.05  # the inspected share the unbiased precision is estimated at

REPORT_ARTIFACT = "report.html"
SECTION_IDS = tuple(sections.TITLES)

Progress = Callable[[str], None]


def render_report(
    model: RiskModel,
    store_dir: Path | None = None,
    *,
    model_ref: ModelRef | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    lineage: dict | None = None,
    labels: dict | None = None,
    alerts: pd.DataFrame | None = None,
    outcomes: pd.DataFrame | None = None,
    selections: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> str:
    """The report as one HTML document.

    With `store_dir`, the labelled history feeds every section; the evaluation window defaults
    to the model's validation window. `lineage` (the run's lineage.json) defaults to the
    store's ingest reports. `outcomes` (fed back through the API) label the history as
    training reads it; `selections` (the selection records) give the unbiased estimates.
    Raises ReportError when the store or window cannot be used.
    """
    step = progress or (lambda _: None)
    ref = model_ref or ModelRef("(in memory)")
    found = None
    if store_dir is not None:
        found = _from_history(model, store_dir, start, end, step, outcomes, selections)
        lineage = lineage if lineage is not None else found.lineage
        labels = labels if labels is not None else found.history.label_counts
    step("drawing the plots")
    explained = found.explained if found else None
    evaluation = found.evaluation if found else None
    ranked = importance(model, explained.contributions if explained is not None else None)
    where = (
        f"{len(explained.contributions):,} declarations of the evaluation window"
        if explained is not None
        else "as logged at training, on a sample of the validation window"
    )
    body = [
        sections.importance_section(
            evaluation.model if evaluation else model, ranked, explained, where
        ),
        sections.performance_section(model, evaluation),
        sections.selection_section(
            found.unbiased if found else None,
            found.metrics if found else None,
        ),
        sections.drift_section(
            found.drift if found else None,
            found.drift_error if found else "It needs the store: give --store.",
        ),
        sections.seizure_section(found.intel if found else None),
        sections.audit_section(found.audit if found else None),
        sections.alerts_section(alerts, model.info.get("metrics", {}).get("precision_at_5pct")),
        sections.model_card_section(model, ref.facts(), lineage, labels),
    ]
    return page(_title(ref), _subtitle(ref, evaluation), sections.TITLES, body)


@dataclass
class _FromHistory:
    """What the labelled history gives the report."""

    history: History
    lineage: dict
    evaluation: ScoredWindow
    explained: Explained
    intel: SeizureIntel
    audit: Audit
    metrics: dict[str, float]  # of the evaluation window, on its labelled declarations
    unbiased: Unbiased | None
    drift: TrafficDrift | None
    drift_error: str | None


def _from_history(
    model: RiskModel,
    store_dir: Path,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    step: Progress,
    outcomes: pd.DataFrame | None = None,
    selections: pd.DataFrame | None = None,
) -> _FromHistory:
    if not Path(store_dir).is_dir():
        raise ReportError(f"store {store_dir} not found: ingest data or give --store")
    step("loading the labelled history")
    store = Store(store_dir)
    history = load_history(store, outcomes=outcomes)
    step("scoring the evaluation window")
    evaluation = evaluation_window(model, history, start, end)
    step("explaining a sample (SHAP)")
    explained = explain_sample(evaluation)
    step("seizure intelligence")
    intel = seizure_intelligence(history)
    step("non-discrimination audit")
    result = _audit(evaluation, history)
    first, last = evaluation.start, evaluation.end
    metrics = at_capacity(evaluation.scored.raw, evaluation.label, evaluation.revenue)
    found = None
    if selections is not None and len(selections):
        step("estimating without selection bias")
        found = unbiased({"model": model}, history, selections, EVAL_SHARE, first, last)
    step("drift")
    drift, drift_error = None, None
    try:
        drift = traffic_drift(model, history, first, last)
    except DriftError as exc:
        drift_error = str(exc)[0].upper() + str(exc)[1:] + "."
    return _FromHistory(
        history,
        store.lineage(),
        evaluation,
        explained,
        intel,
        result,
        metrics,
        found,
        drift,
        drift_error,
    )


def _title(ref: ModelRef) -> str:
    return f"Risk model report: {ref.name} v{ref.version}" if ref.name else "Risk model report"


def _subtitle(ref: ModelRef, evaluation: ScoredWindow | None) -> list[str]:
    window = (
        f" · evaluation window {evaluation.start.date()} to {evaluation.end.date()}"
        if evaluation
        else ""
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    without = "" if evaluation is not None else " · without the labelled history"
    return [f"Model {ref.uri}{window}", f"Generated {generated}{without}"]


def _audit(evaluation: ScoredWindow, history: History) -> Audit:
    """The audit of the window; a trader's size is its declarations up to the window's end."""
    rows = history.declarations
    known = rows[rows["date"] <= evaluation.end]
    sizes = known["importer_id"].value_counts()
    return audit(evaluation.frame, evaluation.scored.channel, evaluation.label, sizes)


@dataclass
class WrittenReport:
    path: Path
    model: ModelRef
    logged: bool  # written to the run as report.html


def write_report(
    uri: str,
    store_dir: Path,
    out: Path,
    settings: Settings,
    *,
    log: bool = True,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    progress: Progress | None = None,
) -> WrittenReport:
    """`riskscore report`: load the model, render, write `out`, log it to the model's run."""
    step = progress or (lambda _: None)
    registry.configure(settings)
    step(f"loading {uri}")
    try:
        ref = registry.resolve(uri)
        model = registry.load_model(uri)
    except registry.ModelNotFoundError as exc:
        raise ReportError(str(exc)) from None
    html = render_report(
        model,
        store_dir,
        model_ref=ref,
        start=start,
        end=end,
        lineage=registry.run_json(ref.run_id, "lineage.json"),
        labels=registry.run_json(ref.run_id, "labels.json"),
        alerts=_alerts(settings, store_dir),
        outcomes=read_outcomes(locate(settings).outcomes),
        selections=read_selections(locate(settings).selections),
        progress=progress,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    logged = False
    if log and ref.run_id:
        step("logging report.html to the model's MLflow run")
        log_report(ref.run_id, html)
        logged = True
    return WrittenReport(out, ref, logged)


def _alerts(settings: Settings, store_dir: Path) -> pd.DataFrame | None:
    """The analysts' alerts and their hit rates, when there is an alert book."""
    where = locate(settings)
    if not exists(where.alerts):
        return None
    book = AlertBook(where.alerts)
    try:
        return alert_table(book, store_dir, where.outcomes)
    finally:
        book.close()


def log_report(run_id: str, html: str) -> None:
    """Log (or replace) report.html in the run; the run may be finished."""
    registry.log_run_text(run_id, html, REPORT_ARTIFACT)


def logged_report(name: str, version: str) -> str | None:
    """The report logged for a registered model version, or None when there is none.

    For serving's GET /v1/model/report; call after `registry.configure(settings)`.
    """
    run_id = registry.version_run_id(name, version)
    return registry.run_text(run_id, REPORT_ARTIFACT) if run_id else None
