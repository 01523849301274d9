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

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskscore.features.dataset import History, load_history
from riskscore.features.store import Store
from riskscore.models.risk_model import RiskModel
from riskscore.settings import Settings
from riskscore.training import report_sections as sections
from riskscore.training.report_audit import Audit, AuditRule, audit
from riskscore.training.report_card import model_card_section
from riskscore.training.report_data import (
    ReportError,
    ScoredWindow,
    explain_sample,
    importance,
    score_window,
)
from riskscore.training.report_html import page
from riskscore.training.report_seizures import IntelConfig, seizure_intelligence

REPORT_ARTIFACT = "report.html"
SECTION_IDS = tuple(sections.TITLES)

__all__ = [
    "REPORT_ARTIFACT",
    "SECTION_IDS",
    "ModelRef",
    "ReportError",
    "ReportOutcome",
    "log_report",
    "logged_report",
    "render_report",
    "resolve_model",
    "write_report",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ModelRef:
    """Where a model comes from: its URI and, when registered, name, version and run."""

    uri: str
    name: str | None = None
    version: str | None = None
    run_id: str | None = None

    def facts(self) -> dict[str, str]:
        return {
            "model URI": self.uri,
            "registered model": f"{self.name} version {self.version}" if self.name else "",
            "MLflow run": self.run_id or "",
        }


def resolve_model(uri: str) -> ModelRef:
    """Name, version and run id behind models:/name@alias, models:/name/3 or runs:/id/path.

    Registry lookups need `tracking.configure(settings)` first; an unknown name or alias raises
    ReportError.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    if uri.startswith("runs:/"):
        return ModelRef(uri, run_id=uri.removeprefix("runs:/").split("/", 1)[0])
    if not uri.startswith("models:/"):
        return ModelRef(uri)
    path = uri.removeprefix("models:/")
    client = MlflowClient()
    try:
        if "@" in path:
            name, alias = path.split("@", 1)
            found = client.get_model_version_by_alias(name, alias)
        else:
            name, version = path.split("/", 1)
            found = client.get_model_version(name, version)
    except (MlflowException, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ReportError(f"cannot resolve {uri}: {first}") from None
    return ModelRef(uri, found.name, str(found.version), found.run_id)


def render_report(
    model: RiskModel,
    store_dir: Path | None = None,
    *,
    model_ref: ModelRef | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    lineage: dict | None = None,
    labels: dict | None = None,
    sample: int = 5000,
    seed: int = 7,
    audit_rule: AuditRule | None = None,
    intel_config: IntelConfig | None = None,
    progress: Progress | None = None,
) -> str:
    """The report as one HTML document.

    With `store_dir`, the labelled history feeds every section; the evaluation window defaults
    to the model's validation window. `lineage` (the run's lineage.json) defaults to the
    store's ingest reports. Raises ReportError when the store or window cannot be used.
    """
    step = progress or (lambda _: None)
    ref = model_ref or ModelRef("(in memory)")
    intel_config = intel_config or IntelConfig()
    history = evaluation = explained = intel = result = None
    if store_dir is not None:
        if not Path(store_dir).is_dir():
            raise ReportError(f"store {store_dir} not found: ingest data or give --store")
        step("loading the labelled history")
        store = Store(store_dir)
        history = load_history(store)
        if lineage is None:
            from riskscore.training.job import lineage as store_lineage

            lineage = store_lineage(store)
        labels = labels if labels is not None else history.label_counts
        step("scoring the evaluation window")
        evaluation = score_window(model, history, start, end)
        step("explaining a sample (SHAP)")
        explained = explain_sample(evaluation, sample, seed)
        step("seizure intelligence")
        intel = seizure_intelligence(history, intel_config)
        step("non-discrimination audit")
        result = _audit(evaluation, history, audit_rule)
    step("drawing the plots")
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
        sections.seizure_section(intel, intel_config),
        sections.audit_section(result),
        model_card_section(model, ref.facts(), lineage, labels),
    ]
    title = f"Risk model report: {ref.name} v{ref.version}" if ref.name else "Risk model report"
    subtitle = [
        f"Model {ref.uri}"
        + (
            f" · evaluation window {evaluation.start.date()} to {evaluation.end.date()}"
            if evaluation
            else ""
        ),
        f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
        + ("" if history is not None else " · without the labelled history"),
    ]
    return page(title, subtitle, sections.TITLES, body)


def _audit(evaluation: ScoredWindow, history: History, rule: AuditRule | None) -> Audit:
    """The audit of the window; a trader's size is its declarations up to the window's end."""
    rows = history.declarations
    known = rows[rows["date"] <= evaluation.end]
    sizes = known["importer_id"].value_counts()
    return audit(evaluation.frame, evaluation.scored.channel, evaluation.label, sizes, rule)


@dataclass
class ReportOutcome:
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
) -> ReportOutcome:
    """`riskscore report`: load the model, render, write `out`, log it to the model's run."""
    from riskscore.training import tracking

    step = progress or (lambda _: None)
    tracking.configure(settings)
    step(f"loading {uri}")
    ref = resolve_model(uri)
    try:
        model = tracking.load_model(uri)
    except tracking.ModelNotFoundError as exc:
        raise ReportError(str(exc)) from None
    html = render_report(
        model,
        store_dir,
        model_ref=ref,
        start=start,
        end=end,
        lineage=_run_json(ref.run_id, "lineage.json"),
        labels=_run_json(ref.run_id, "labels.json"),
        progress=progress,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    logged = False
    if log and ref.run_id:
        step("logging report.html to the model's MLflow run")
        log_report(ref.run_id, html)
        logged = True
    return ReportOutcome(out, ref, logged)


def _run_json(run_id: str | None, name: str) -> dict | None:
    """A JSON artifact of the model's run (what it was trained on), or None."""
    if not run_id:
        return None
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        found = mlflow.artifacts.load_dict(f"runs:/{run_id}/{name}")
    except (MlflowException, OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def log_report(run_id: str, html: str) -> None:
    """Log (or replace) report.html in the run; the run may be finished."""
    from mlflow.tracking import MlflowClient

    MlflowClient().log_text(run_id, html, REPORT_ARTIFACT)


def logged_report(name: str, version: str) -> str | None:
    """The report logged for a registered model version, or None when there is none.

    For serving's GET /v1/model/report; call after `tracking.configure(settings)`.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        run_id = MlflowClient().get_model_version(name, version).run_id
        if not run_id:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REPORT_ARTIFACT, dst_path=tmp
            )
            return Path(path).read_text(encoding="utf-8")
    except (MlflowException, OSError):
        return None
