"""CLI verbs for analysts and officers: the model report and one declaration's case file."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskscore.cli.console import console, fail, out
from riskscore.cli.options import (
    JsonOption,
    ModelOption,
    StoreOption,
    model_uri,
    settings,
    store_dir,
)


def _day(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise fail(f"{option} {value!r}: give a date as YYYY-MM-DD") from None


def report(
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    model: ModelOption = None,
    store: StoreOption = None,
    log: Annotated[
        bool, typer.Option("--log/--no-log", help="Log report.html to the model version's run.")
    ] = True,
    start: Annotated[
        str | None,
        typer.Option("--from", help="First day of the evaluation window (default: validation)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last day of the evaluation window.")
    ] = None,
) -> None:
    """Write the analyst report (self-contained HTML) for one model version."""
    from riskscore.reports.build import ReportError, write_report

    current = settings()
    uri = model_uri(model, current)
    first, last = _day(start, "--from"), _day(until, "--until")
    try:
        with console.status("report") as status:
            written = write_report(
                uri,
                store_dir(store, current, must_exist=False),
                out_file,
                current,
                log=log,
                start=first,
                end=last,
                progress=lambda step: status.update(f"report: {step}"),
            )
    except ReportError as exc:
        raise fail(str(exc)) from None
    ref = written.model
    name = f"{ref.name} v{ref.version}" if ref.name else ref.uri
    out.print(f"wrote {written.path} ({written.path.stat().st_size / 1e6:.1f} MB) for {name}")
    if written.logged:
        out.print(f"logged as report.html in MLflow run {ref.run_id}")
    elif log:
        out.print("[yellow]not logged:[/] the model URI names no MLflow run")


def explain(
    input_file: Annotated[
        Path, typer.Option("--input", help="Declarations file (.csv, .parquet, .xlsx, .jsonl).")
    ],
    declaration_id: Annotated[str, typer.Option("--id", help="The declaration's id.")],
    model: ModelOption = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Waterfall plot to write (default: <id>.png)."),
    ] = None,
    top: Annotated[
        int | None, typer.Option(min=1, max=30, help="Reasons to list (default: RISKSCORE_TOP_K).")
    ] = None,
) -> None:
    """Explain one declaration for a case file: score, channel, reasons and a SHAP waterfall."""
    from riskscore.features.errors import BadInputError
    from riskscore.models import registry
    from riskscore.reports.case_file import CaseFileError, explain_file
    from riskscore.reports.labels import criterion_label, readable_value

    current = settings()
    uri = model_uri(model, current)
    png = out_file or Path(re.sub(r"[^\w.-]+", "_", declaration_id.strip()) + ".png")
    registry.configure(current)
    try:
        with console.status(f"loading {uri}"):
            risk_model = registry.load_model(uri, published_state=True)
        with console.status(f"explaining {declaration_id}"):
            case = explain_file(risk_model, input_file, declaration_id, png, top or current.top_k)
    except (registry.ModelNotFoundError, CaseFileError, BadInputError) as exc:
        raise fail(str(exc)) from None
    table = Table(
        title=f"{case.declaration_id}: score {case.score:.3f}, channel {case.channel} "
        f"(base {case.base_value:+.2f} log-odds, declaration {case.raw:+.2f})",
        title_justify="left",
    )
    for column, justify in (
        ("#", "right"),
        ("criterion", "left"),
        ("feature", "left"),
        ("value", "right"),
        ("SHAP", "right"),
        ("reason", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for i, reason in enumerate(case.reasons, 1):
        table.add_row(
            str(i),
            criterion_label(reason.criterion),
            reason.feature,
            readable_value(reason.feature, reason.value),
            f"{reason.contribution:+.3f}",
            reason.sentence,
        )
    out.print(table)
    out.print(f"wrote {png}")


def drift(
    model: ModelOption = None,
    store: StoreOption = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day of the window (default: --days back).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Last day of the window (default: the last record).")
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="Days in the window without --from.")] = 30,
    top: Annotated[int, typer.Option(min=1, help="Inputs shown, most drifted first.")] = 15,
    as_json: JsonOption = False,
) -> None:
    """Population stability (PSI) of each model input and of the score: a window of the store
    against the traffic the model was validated on (0.1 moderate, 0.25 major)."""
    from riskscore.features.dataset import load_history
    from riskscore.features.store import Store
    from riskscore.models import registry
    from riskscore.models.drift import MAJOR, MODERATE, RELIED_ON_SHARE, SCORE
    from riskscore.models.traffic_drift import DriftError, traffic_drift
    from riskscore.redact import redact

    current = settings()
    path = store_dir(store, current)
    uri = model_uri(model, current)
    first, last = _day(start, "--from"), _day(until, "--to")
    try:
        registry.configure(current)
        with console.status(f"loading {redact(uri)}"):
            risk_model = registry.load_model(uri, published_state=True)
        with console.status("featurising the window"):
            found = traffic_drift(risk_model, load_history(Store(path)), first, last, days)
    except (registry.ModelNotFoundError, DriftError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps({"model": redact(uri)} | found.to_dict(), default=str))
        return
    table = Table(
        title=f"drift of {found.rows} declarations, {found.date_from} to {found.date_to}, "
        f"against {found.reference}",
        title_justify="left",
    )
    for column in ("input", "PSI", "level", "share of the model's |SHAP|"):
        table.add_column(column, justify="left" if column in ("input", "level") else "right")
    for row in found.table.head(top).itertuples():
        colour = {"major": "red", "moderate": "yellow"}.get(row.level, "")
        level = f"[{colour}]{row.level}[/]" if colour else row.level
        share = "" if row.feature == SCORE else f"{row.importance_share:.1%}"
        table.add_row(row.feature, f"{row.psi:.3f}", level, share)
    out.print(table)
    value, feature = found.relied_on
    out.print(
        f"largest drift on the score or an input carrying {RELIED_ON_SHARE:.0%}+ of the model: "
        f"{value:.3f} ({feature}); moderate above {MODERATE}, major above {MAJOR}"
    )
    if found.rows < 200:
        console.print(f"[yellow]note:[/] {found.rows} declarations: the PSI is mostly noise")


def register(app: typer.Typer) -> None:
    """Add `report`, `explain` and `drift` to the `riskscore` app."""
    app.command("report")(report)
    app.command("explain")(explain)
    app.command("drift")(drift)
