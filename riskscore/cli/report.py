"""CLI verbs for analysts and officers: the model report and one declaration's case file."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskscore.cli.console import console, fail, out
from riskscore.cli.options import ModelOption, StoreOption, model_uri, settings, store_dir


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


def register(app: typer.Typer) -> None:
    """Add `report` and `explain` to the `riskscore` app."""
    app.command("report")(report)
    app.command("explain")(explain)
