"""The `riskscore` command line: thin verbs that parse, call one library function, and format."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskscore.cli import alerts as cli_alerts
from riskscore.cli import report as cli_report
from riskscore.cli import serve as cli_serve
from riskscore.cli import simulate as cli_simulate
from riskscore.cli import train as cli_train
from riskscore.cli.console import console, fail, out, progress_bar
from riskscore.cli.options import StoreOption, clean_errors, settings, store_dir
from riskscore.features.contracts import CONTRACTS
from riskscore.features.errors import BadInputError
from riskscore.synth import SEED, SHIPMENTS, generate

app = typer.Typer(
    help="Customs risk scoring: ingest seizures and clearance data, train, register and serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
template_app = typer.Typer(help="Write blank bulk-upload workbooks.", no_args_is_help=True)
app.add_typer(template_app, name="template")
features_app = typer.Typer(help="The feature registry and the feature table.", no_args_is_help=True)
app.add_typer(features_app, name="features")


class InputKind(StrEnum):
    seizures = "seizures"
    clearance = "clearance"
    declarations = "declarations"


@app.callback()
def _quiet_libraries() -> None:
    """Keep MLflow's start-up chatter out of the commands' output (set the variables to see it)."""
    # ERROR, not WARNING: the one warning MLflow gives on every training run is that a
    # pickled model runs code when loaded, which holds for our own model in our own registry.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@template_app.command("seizures")
def template_seizures(
    out_file: Annotated[Path, typer.Option("--out", help="Workbook to write (.xlsx).")],
) -> None:
    """Write the CEN-style seizure bulk-upload template."""
    _write_template("seizures", out_file)


@template_app.command("clearance")
def template_clearance(
    out_file: Annotated[Path, typer.Option("--out", help="Workbook to write (.xlsx).")],
) -> None:
    """Write a clearance-records upload template."""
    _write_template("clearance", out_file)


@template_app.command("declarations")
def template_declarations(
    out_file: Annotated[Path, typer.Option("--out", help="Workbook to write (.xlsx).")],
) -> None:
    """Write a labelled-declarations upload template."""
    _write_template("declarations", out_file)


def _write_template(kind: str, out_file: Path) -> None:
    from riskscore.features.template import write_template

    if out_file.suffix.lower() != ".xlsx":
        raise fail(f"{out_file}: the template is an Excel workbook, name it *.xlsx")
    write_template(CONTRACTS[kind], out_file)
    out.print(f"wrote {out_file}")


@app.command()
def ingest(
    kind: Annotated[InputKind, typer.Argument(help="What the file holds.")],
    path: Annotated[Path, typer.Argument(help="An .xlsx, .csv or .parquet file.")],
    store: StoreOption = None,
    mapping: Annotated[
        Path | None, typer.Option(help="YAML column mapping for a member's own export.")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet to read.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Validate a file against its contract and append the good rows to the store."""
    from riskscore.features.ingest import ingest as run_ingest

    # A BadInputError may list several problems; anything else (a lock held too long) is one line.
    with clean_errors():
        try:
            with console.status(f"ingesting {path.name}"):
                report = run_ingest(
                    kind.value, path, store_dir(store, settings(), must_exist=False), mapping, sheet
                )
        except BadInputError as exc:
            raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
        return
    table = Table(title=f"{kind.value}: {path.name}", show_header=False)
    for label, value in (
        ("rows in", report.rows_in),
        ("accepted", report.rows_accepted),
        ("  new", report.rows_new),
        ("  already in store", report.rows_already_present),
        ("quarantined", report.rows_quarantined),
        ("dates", f"{report.date_min} to {report.date_max}"),
        ("seconds", report.seconds),
    ):
        table.add_row(label, str(value))
    out.print(table)
    if report.rows_quarantined:
        top = ", ".join(f"{k} ({v})" for k, v in list(report.reasons_by_field.items())[:5])
        out.print(f"[yellow]quarantined rows by field:[/] {top}")
        out.print(f"[yellow]quarantine file:[/] {report.quarantine_file}")


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the demo files.")] = Path(
        "demo"
    ),
    declarations: Annotated[int, typer.Option(min=100, help="Number of shipments.")] = SHIPMENTS,
    seed: Annotated[int, typer.Option(help="Random seed.")] = SEED,
    truth: Annotated[
        bool,
        typer.Option(
            "--truth/--no-truth",
            help="Also write truth.parquet: every shipment's true outcome and the revenue an "
            "inspection would recover (what `riskscore simulate --truth` reads).",
        ),
    ] = False,
) -> None:
    """Generate realistic demo seizures, clearance records and labelled declarations."""

    with progress_bar("generating declarations", total=declarations) as bar:
        summary = generate(
            out_dir,
            declarations=declarations,
            seed=seed,
            progress=lambda n: bar.update(0, completed=n),
            truth=truth,
        )
    out.print_json(json.dumps(summary.to_dict(), default=str))


@features_app.command("list")
def features_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the feature registry: name, TFA criterion, kind and description."""
    from riskscore.features.registry import FEATURES

    rows = [
        {
            "name": f.name,
            "criterion": f.criterion.value,
            "kind": "categorical" if f.categorical else "numeric",
            "description": f.description,
        }
        for f in FEATURES
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"{len(rows)} features (plus a member's x_* columns, when present)")
    for column in ("name", "criterion", "kind", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row.values())
    out.print(table)


@features_app.command("build")
def features_build(
    out_file: Annotated[Path, typer.Option("--out", help="Feature table to write (.parquet).")],
    store: StoreOption = None,
) -> None:
    """Build the point-in-time feature table, one row per declaration, with labels (the
    store's, and the outcomes fed back through the API, as training reads them)."""
    from riskscore.database import locate
    from riskscore.features.dataset import build_feature_table
    from riskscore.features.outcomes import read_outcomes

    current = settings()
    path = store_dir(store, current)
    with console.status("building features"):
        summary = build_feature_table(path, out_file, read_outcomes(locate(current).outcomes))
    out.print_json(json.dumps(summary, default=str))


cli_train.register(app)
cli_serve.register(app)
cli_report.register(app)
cli_alerts.register(app)
cli_simulate.register(app)
