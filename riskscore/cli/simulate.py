"""`riskscore simulate`: the learning loop replayed week by week for several inspection policies."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from riskscore.cli.console import fail, out, progress_bar
from riskscore.cli.options import JsonOption, StoreOption, clean_errors, settings, store_dir
from riskscore.training.policies import DEFAULT_POLICIES, parse_policy

if TYPE_CHECKING:
    from rich.progress import Progress


def simulate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for summary.json and simulation.html.")
    ],
    store: StoreOption = None,
    capacity: Annotated[
        float, typer.Option(help="Share of each week's candidates inspected, above 0 and below 1.")
    ] = 0.05,
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            help="Repeatable: exploit, random, hybrid:E (share E of capacity at random) or "
            "explore:E (share E to under-inspected HS chapter x origin segments) "
            f"(default: {', '.join(DEFAULT_POLICIES)}).",
        ),
    ] = None,
    retrain_every: Annotated[
        int, typer.Option(help="Retrain on what was revealed every N weeks; 0: never.")
    ] = 4,
    weeks: Annotated[int, typer.Option(help="Weeks to replay.")] = 52,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="First day of the replay, YYYY-MM-DD (default: --weeks whole weeks before "
            "the last whole week of data ends, from a Monday).",
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Parquet or CSV with id, illicit (and revenue) for every record: the truth "
            "universe. Without it, only the store's labelled declarations are candidates."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of training and of random selections.")] = 7,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh/--no-refresh",
            help="Refresh the feature state every week from what each policy knows, as the "
            "daily `riskscore refresh` does (default) or score with the state of training.",
        ),
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Replay inspection policies week by week: score, select, reveal, retrain; compare."""
    from riskscore.reports.simulation import write_page
    from riskscore.training.simulate import SimulationConfig, SimulationError
    from riskscore.training.simulate import simulate as run

    path = store_dir(store, settings())
    names = tuple(policy or DEFAULT_POLICIES)
    for name in names:
        try:
            parse_policy(name)
        except ValueError as exc:
            raise fail(f"--policy {exc}") from None
    if not 0 < capacity < 1:
        raise fail(f"--capacity {capacity:g}: the inspected share must be above 0 and below 1")
    if truth is not None and not truth.is_file():
        raise fail(f"--truth {truth}: no such file")
    try:
        config = SimulationConfig(
            capacity=capacity,
            policies=names,
            retrain_every=retrain_every,
            weeks=weeks,
            start=_day(start),
            truth=truth,
            seed=seed,
            refresh=refresh,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    with clean_errors(), progress_bar("simulating", total=None) as bar:
        try:
            result = run(
                path, config, progress=lambda step, done, total: _show(bar, step, done, total)
            )
        except SimulationError as exc:
            raise fail(str(exc)) from None
        summary = result.to_dict()
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        page = write_page(summary, out_dir / "simulation.html")
    if as_json:
        out.print_json(json.dumps(summary))
        return
    _print(summary, out_dir / "summary.json", page)


def _day(value: str | None) -> object:
    if value is None:
        return None
    import pandas as pd

    try:
        return pd.Timestamp(datetime.strptime(value, "%Y-%m-%d"))
    except ValueError:
        raise fail(f"--from {value!r}: give a date as YYYY-MM-DD") from None


def _show(bar: Progress, step: str, done: int, total: int) -> None:
    """One task: the current step, and the weeks replayed over policy x weeks once known."""
    task = bar.tasks[0].id
    if total:
        bar.update(task, description=f"simulating {step}", completed=done, total=total)
    else:
        bar.update(task, description=step)


def _print(summary: dict, summary_path: Path, page: Path) -> None:
    from riskscore.reports.simulation import ratios

    against = ratios(summary)
    table = Table(
        title=f"{summary['weeks']} weeks from {summary['from']} to {summary['to']}, capacity "
        f"{summary['capacity'] * 100:g} %, {summary['universe']} universe"
    )
    for column in ("policy", "inspected", "hits", "precision", "recall", "revenue"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    if against:
        table.add_column("vs exploit (p / r / rev)", justify="right")
    for name, run in summary["policies"].items():
        total = run["total"]
        row = [
            name,
            f"{total['inspected']:,}",
            f"{total['hits']:,}",
            f"{total['precision']:.3f}",
            "" if total["recall"] is None else f"{total['recall']:.3f}",
            f"{total['revenue']:,.0f}",
        ]
        if against:
            row.append(
                " / ".join(_times(against[name][k]) for k in ("precision", "recall", "revenue"))
            )
        table.add_row(*row)
    out.print(table)
    out.print(summary["universe_note"], soft_wrap=True)
    out.print(f"wrote {summary_path} and {page} in {summary['seconds']:.0f} s")


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def register(app: typer.Typer) -> None:
    """Add the `simulate` verb to the `riskscore` app."""
    app.command("simulate")(simulate)
