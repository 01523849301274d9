"""CLI verbs for training, evaluation, the registry, retraining, benchmarks and batch scoring.

Each verb parses, calls one library function in `riskscore.training`, and formats with rich.
A problem the user can fix ends with one `error:` line and exit code 2 (`retrain` uses its own
documented codes: 0 promoted, 3 kept, 1 failed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.table import Table

from riskscore.console import console, fail, out
from riskscore.settings import Settings

if TYPE_CHECKING:
    from riskscore.training.train import TrainConfig

# Artifact downloads draw tqdm bars on stderr; a CLI prints its own progress.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


class TrainStats(StrEnum):
    oof = "oof"
    pit = "pit"


class Imbalance(StrEnum):
    none = "none"
    sqrt = "sqrt"


StoreOption = Annotated[
    Path | None, typer.Option("--store", help="Store directory (default: RISKSCORE_STORE_DIR).")
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", help="MLflow model URI (default: models:/<model name>@champion).", metavar="URI"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
DateOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])]
SeedOption = Annotated[int, typer.Option(help="Random seed (same data + seed, same model).")]
TrainStatsOption = Annotated[
    TrainStats,
    typer.Option(help="Training rows' outcome statistics: out of fold, or strict point in time."),
]
ImbalanceOption = Annotated[
    Imbalance, typer.Option(help="Class weighting: none, or sqrt(negatives/positives).")
]

CAPACITY_LABELS = (("1", "1 %"), ("2", "2 %"), ("5", "5 %"), ("10", "10 %"))


def _settings() -> Settings:
    # Fresh, not cached: each command reads the environment as it is now.
    return Settings()


def _store(store: Path | None, settings: Settings) -> Path:
    path = store or settings.store_dir
    if not path.is_dir():
        raise fail(f"{path}: no such store; ingest data first (riskscore ingest --help)")
    return path


def _model_uri(uri: str | None, settings: Settings) -> str:
    return uri or f"models:/{settings.model_name}@{settings.model_alias}"


@contextmanager
def _clean_errors(code: int = 2) -> Iterator[None]:
    """Turn any error into one line and an exit code: never a traceback."""
    try:
        yield
    except (click.exceptions.Exit, click.ClickException, typer.Abort):
        raise
    except Exception as exc:  # noqa: BLE001 - the CLI's last word on any failure
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise fail(message[:500], code) from None


def _metrics_table(title: str, columns: dict[str, dict[str, float]]) -> Table:
    """Precision / recall / revenue at each capacity, one column group per model."""
    table = Table(title=title)
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    rows = [
        (f"{kind} @ {label}", f"{kind}_at_{n}pct")
        for n, label in CAPACITY_LABELS
        for kind in ("precision", "recall", "revenue")
    ] + [("PR-AUC", "pr_auc"), ("base rate", "base_rate"), ("Brier", "brier")]
    for label, key in rows:
        values = [m.get(key) for m in columns.values()]
        if all(v is None for v in values):
            continue
        table.add_row(label, *("" if v is None else f"{v:.4f}" for v in values))
    return table


def _train_config(**overrides: object) -> TrainConfig:
    """A TrainConfig with the options given (None keeps the default); dates as Timestamps."""
    import pandas as pd

    from riskscore.training.train import TrainConfig

    values = {k: v for k, v in overrides.items() if v is not None}
    if "until" in values:
        values["until"] = pd.Timestamp(values["until"])
    return TrainConfig(**values)


def train(
    store: StoreOption = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="First day of validation (default: --valid-days before end)."
        ),
    ] = None,
    valid_days: Annotated[int, typer.Option(min=7, help="Days of the validation window.")] = 60,
    experiment: Annotated[str, typer.Option(help="MLflow experiment.")] = "customs-risk",
    seed: SeedOption = 7,
    red_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share sent red.")] = 0.05,
    yellow_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share sent yellow (after red).")
    ] = 0.10,
    random_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Random selection share (TFA Art. 7.4.3).")
    ] = 0.01,
    train_stats: TrainStatsOption = TrainStats.oof,
    imbalance: ImbalanceOption = Imbalance.none,
    as_json: JsonOption = False,
) -> None:
    """Train on the store out of time, log the run in MLflow and register the model."""
    from riskscore.training.job import run_training
    from riskscore.training.train import TrainingError

    settings = _settings()
    store_dir = _store(store, settings)
    if red_share + yellow_share >= 1:
        raise fail("--red-share plus --yellow-share must stay below 1")
    config = _train_config(
        until=until,
        valid_days=valid_days,
        seed=seed,
        red_share=red_share,
        yellow_share=yellow_share,
        random_share=random_share,
        train_stats=train_stats.value,
        imbalance=imbalance.value,
    )
    with _clean_errors():
        try:
            with console.status("training"):
                outcome = run_training(store_dir, settings, config, experiment)
        except TrainingError as exc:
            raise fail(str(exc)) from None
    registered = outcome.registered
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "version": registered.version if registered else None,
                    "alias": registered.alias if registered else None,
                    "run_id": outcome.run_id,
                    "metrics": outcome.metrics,
                    "seconds": round(outcome.seconds, 2),
                }
            )
        )
        return
    if registered:
        out.print(
            f"registered [bold]{registered.name}[/] version [bold]{registered.version}[/] "
            f"as [bold]{registered.alias}[/] (run {outcome.run_id}, {outcome.seconds:.1f} s)"
        )
    out.print(_metrics_table("validation window (out of time)", {"model": outcome.metrics}))


def evaluate(
    model: ModelOption = None,
    store: StoreOption = None,
    date_from: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            formats=["%Y-%m-%d"],
            help="First day (default: the model's state date, the first day it has not seen).",
        ),
    ] = None,
    date_to: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, included (default: the end)."),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Segments shown per table.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a registered model on a window of labelled declarations, as serving scores them."""
    from riskscore.training import tracking
    from riskscore.training.evaluate import evaluate as run_evaluate

    settings = _settings()
    store_dir = _store(store, settings)
    uri = _model_uri(model, settings)
    with _clean_errors():
        tracking.configure(settings)
        with console.status(f"loading {uri}"):
            risk_model = tracking.load_model(uri)
        with console.status("scoring the window"):
            result = run_evaluate(risk_model, store_dir, date_from, date_to)
    if as_json:
        out.print_json(json.dumps({"model": uri} | result.to_dict(), default=str))
        return
    out.print(
        f"[bold]{uri}[/]: {result.rows} labelled declarations from {result.date_from} to "
        f"{result.date_to}, {result.positives} positive"
    )
    if result.note:
        console.print(f"[yellow]note:[/] {result.note}")
    out.print(_metrics_table("quality at inspection capacity", {"model": result.metrics}))
    for name, segment in result.segments.items():
        table = Table(title=f"by {name} (top 5 % selected)")
        for column in ("segment", "declarations", "base rate", "selected", "precision"):
            table.add_column(column, justify="left" if column == "segment" else "right")
        for key, row in segment.head(top).iterrows():
            precision = row["precision_selected"]
            table.add_row(
                str(key),
                str(int(row["declarations"])),
                f"{row['base_rate']:.3f}",
                str(int(row["selected"])),
                "" if precision != precision else f"{precision:.3f}",  # NaN: none selected
            )
        out.print(table)


def models_list(as_json: JsonOption = False) -> None:
    """List the registered versions: aliases, creation time, run and headline metrics."""
    from riskscore.training import tracking
    from riskscore.training.versions import list_versions

    settings = _settings()
    with _clean_errors():
        tracking.configure(settings)
        versions = list_versions(settings.model_name)
    if as_json:
        out.print_json(json.dumps([v.to_dict() for v in versions]))
        return
    if not versions:
        out.print(f"no registered versions of {settings.model_name} (riskscore train --help)")
        return
    table = Table(title=f"{settings.model_name}: {len(versions)} version(s)")
    for column in ("version", "aliases", "created (UTC)", "p@5%", "p@10%", "PR-AUC", "run"):
        table.add_column(column, justify="right" if column[0] in "pP" else "left")
    for v in versions:
        table.add_row(
            v.version,
            ", ".join(v.aliases),
            v.created.replace("T", " ").removesuffix("+00:00"),
            *(
                f"{v.metrics[k]:.4f}" if k in v.metrics else ""
                for k in ("precision_at_5pct", "precision_at_10pct", "pr_auc")
            ),
            v.run_id[:8],  # enough to find it in the MLflow UI; --json has it whole
        )
    out.print(table)


def retrain(
    store: StoreOption = None,
    window_days: Annotated[
        int, typer.Option(min=30, help="Days of history the challenger learns from.")
    ] = 365,
    eval_days: Annotated[
        int, typer.Option(min=7, help="Most recent days both models are judged on.")
    ] = 60,
    valid_days: Annotated[
        int, typer.Option(min=7, help="Challenger's early-stopping and calibration days.")
    ] = 60,
    margin: Annotated[
        float, typer.Option(help="Precision the challenger must gain to be promoted.")
    ] = 0.01,
    capacity: Annotated[
        float, typer.Option(min=0.001, max=0.999, help="Inspected share the gate compares.")
    ] = 0.05,
    experiment: Annotated[str, typer.Option(help="MLflow experiment.")] = "customs-risk",
    seed: SeedOption = 7,
    force: Annotated[
        bool, typer.Option(help="Judge again data an earlier run judged (e.g. a new margin).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Train a challenger on a rolling window and promote it only if it beats the champion."""
    from riskscore.training.retrain import RetrainConfig
    from riskscore.training.retrain import retrain as run_retrain

    settings = _settings()
    store_dir = _store(store, settings)
    try:
        config = RetrainConfig(
            window_days=window_days,
            eval_days=eval_days,
            valid_days=valid_days,
            margin=margin,
            capacity=capacity,
            experiment=experiment,
            train=_train_config(seed=seed),
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    with _clean_errors(code=1), console.status("retraining"):
        outcome = run_retrain(store_dir, settings, config, force=force)
    if as_json:
        out.print_json(json.dumps(outcome.to_dict(), default=str))
    else:
        colour = {"promoted": "green", "kept": "yellow"}.get(outcome.decision.value, "red")
        out.print(f"[bold {colour}]{outcome.decision.value}[/]: {outcome.reason}")
        if outcome.new_version:
            out.print(f"registered version {outcome.new_version} (run {outcome.run_id})")
        out.print(f"champion: {outcome.champion_before or '-'} -> {outcome.champion_after or '-'}")
        if outcome.challenger_metrics:
            columns = {"challenger": outcome.challenger_metrics}
            if outcome.champion_metrics:
                columns = {"champion": outcome.champion_metrics} | columns
            out.print(_metrics_table(f"holdout {outcome.eval_from} to {outcome.eval_to}", columns))
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def benchmark_kcs(
    data: Annotated[
        Path, typer.Option(help="Folder with train.csv, valid.csv and README.md.")
    ] = Path("../shared/data/kcs"),
    store: Annotated[
        Path | None, typer.Option(help="Keep the ingested store here (default: temporary).")
    ] = None,
    seed: SeedOption = 7,
    seeds: Annotated[int, typer.Option(min=1, help="Runs with seeds seed, seed+1...")] = 1,
    train_stats: TrainStatsOption = TrainStats.oof,
    imbalance: ImbalanceOption = Imbalance.none,
    log: Annotated[bool, typer.Option(help="Log the run in MLflow (benchmark-kcs).")] = True,
    as_json: JsonOption = False,
) -> None:
    """Train on KCS train.csv, evaluate on valid.csv, print beside the published table."""
    from riskscore.training.benchmark import HEADLINE, run_kcs

    settings = _settings()
    config = _train_config(seed=seed, train_stats=train_stats.value, imbalance=imbalance.value)
    with _clean_errors(), console.status("KCS benchmark"):
        result = run_kcs(
            data,
            settings,
            store_dir=store,
            config=config,
            seeds=tuple(range(seed, seed + seeds)),
            log=log,
        )
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    table = Table(title="KCS: precision at inspection capacity")
    table.add_column("model")
    table.add_column("split")
    table.add_column("precision@5%", justify="right")
    table.add_column("precision@10%", justify="right")
    for name, row in result.published.items():
        table.add_row(name, "test (published)", *(f"{row[k]:.3f}" for k in HEADLINE))
    spread = len(result.per_seed) > 1
    table.add_row(
        "[bold]riskscore[/]",
        f"valid ({len(result.per_seed)} seed{'s' if spread else ''})",
        *(
            f"[bold]{result.metrics[k]:.3f}[/]" + (f" ± {result.spread(k):.3f}" if spread else "")
            for k in HEADLINE
        ),
    )
    out.print(table)
    verdict = "beats" if result.beats_floor() else "does NOT beat"
    out.print(
        f"{verdict} the published LightGBM floor; trained on {result.train_rows} rows before "
        f"{result.until}, judged on {result.valid_rows} rows over {result.valid_days} days "
        f"(train stats {result.config['train_stats']}, {result.seconds:.1f} s)"
        + (f", MLflow run {result.run_id}" if result.run_id else "")
    )


def score(
    input_file: Annotated[
        Path, typer.Option("--input", help="Declarations to score (.csv, .parquet or .xlsx).")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Scores to write (.csv or .parquet).")],
    mapping: Annotated[
        Path | None, typer.Option(help="YAML column mapping for a member's own export.")
    ] = None,
    model: ModelOption = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet to read.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Score a file with the champion: id, score, channel and the top 3 reasons."""
    from riskscore.training import tracking
    from riskscore.training.batch import score_file

    settings = _settings()
    uri = _model_uri(model, settings)
    with _clean_errors():
        tracking.configure(settings)
        with console.status(f"loading {uri}"):
            risk_model = tracking.load_model(uri)
        with console.status(f"scoring {input_file.name}"):
            report = score_file(risk_model, input_file, out_file, mapping=mapping, sheet=sheet)
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
        return
    channels = ", ".join(f"{k} {v}" for k, v in sorted(report.channels.items()))
    out.print(
        f"scored {report.rows_scored} of {report.rows_in} rows with {uri} -> {report.out_file} "
        f"({channels or 'none'}; {report.seconds:.1f} s)"
    )
    if report.rows_quarantined:
        out.print(
            f"[yellow]quarantined {report.rows_quarantined} rows:[/] {report.quarantine_file}"
        )


HELP = {
    "train": (
        "Train on the store out of time, log the run in MLflow and register the model. "
        "The first registered version becomes champion, later ones challenger."
    ),
    "retrain": (
        "Train a challenger on a rolling window and promote it only if it beats the champion "
        "on the most recent out-of-time window. Exit codes: 0 promoted (or first champion); "
        "3 kept the champion (challenger not better by the margin, or nothing new since the "
        "last run); 1 failed (nothing registered, no alias moved); 2 bad arguments."
    ),
    "score": (
        "Score a file with the champion: id, score, channel and the top 3 reasons. "
        "Rows that break the contract go to <out>.quarantine.csv with their reasons."
    ),
}


def register(app: typer.Typer) -> None:
    """Add the training verbs to the `riskscore` app."""
    app.command("train", help=HELP["train"])(train)
    app.command("evaluate")(evaluate)
    app.command("retrain", help=HELP["retrain"])(retrain)
    app.command("score", help=HELP["score"])(score)
    models_app = typer.Typer(help="The model registry.", no_args_is_help=True)
    models_app.command("list")(models_list)
    app.add_typer(models_app, name="models")
    benchmark_app = typer.Typer(help="Public benchmarks.", no_args_is_help=True)
    benchmark_app.command("kcs")(benchmark_kcs)
    app.add_typer(benchmark_app, name="benchmark")
