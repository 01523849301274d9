"""CLI verbs for training, evaluation, the registry, retraining, benchmarks and batch scoring.

Each verb parses, calls one library function in `riskscore.training`, and formats with rich.
A problem the user can fix ends with one `error:` line and exit code 2 (`retrain` uses its own
documented codes: 0 promoted, 3 kept, 1 failed).
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from riskscore.cli.console import console, fail, out
from riskscore.cli.options import (
    JsonOption,
    ModelOption,
    StoreOption,
    clean_errors,
    model_uri,
    settings,
    store_dir,
)
from riskscore.training.config import RetrainConfig, TrainConfig, default

if TYPE_CHECKING:
    from riskscore.training.evaluate import Evaluation
    from riskscore.training.job import TrainingRun
    from riskscore.training.retrain import RetrainResult


class TrainStats(StrEnum):
    oof = "oof"
    pit = "pit"


class Imbalance(StrEnum):
    none = "none"
    sqrt = "sqrt"


def _from_config(config: type, name: str, words: str, kind: type, **limits: float) -> object:
    """An option for one field of a config dataclass. Left out it is None and the field keeps
    its default, which the help names: the default lives in the config object only."""
    text = f"{words} (default: {default(config, name)})."
    return Annotated[kind | None, typer.Option(help=text, **limits)]  # type: ignore[arg-type]


SeedOption = _from_config(TrainConfig, "seed", "Random seed; same data + seed, same model", int)
TrainStatsOption = _from_config(
    TrainConfig,
    "train_stats",
    "Training rows' outcome statistics: out of fold, or strict point in time",
    TrainStats,
)
ImbalanceOption = _from_config(
    TrainConfig, "imbalance", "Class weighting: none, or sqrt(negatives/positives)", Imbalance
)
ExperimentOption = Annotated[
    str | None, typer.Option(help="MLflow experiment (default: RISKSCORE_EXPERIMENT).")
]

CAPACITY_LABELS = (("1", "1 %"), ("2", "2 %"), ("5", "5 %"), ("10", "10 %"))


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
    ] + [
        ("PR-AUC", "pr_auc"),
        ("base rate", "base_rate"),
        ("Brier", "brier"),
        ("log-loss", "log_loss"),
        ("distinct scores in top 10 %", "score_distinct_at_10pct"),
        *(
            (f"precision @ {label} (calibration slice)", f"calibration_slice.precision_at_{n}pct")
            for n, label in CAPACITY_LABELS
            if n in ("5", "10")
        ),
    ]
    for label, key in rows:
        values = [m.get(key) for m in columns.values()]
        if all(v is None for v in values):
            continue
        table.add_row(label, *("" if v is None else f"{v:.4f}" for v in values))
    return table


def _train_config(**options: object) -> TrainConfig:
    """TrainConfig with the options given (None keeps the default); dates as Timestamps."""
    import pandas as pd

    values = {k: v.value if isinstance(v, StrEnum) else v for k, v in options.items()}
    values = {k: v for k, v in values.items() if v is not None}
    if "until" in values:
        values["until"] = pd.Timestamp(values["until"])
    return TrainConfig(**values)


UntilOption = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"], help="First day of validation (default: --valid-days before end)."
    ),
]
ValidDaysOption = _from_config(
    TrainConfig, "valid_days", "Days of the validation window", int, min=7
)
MinValidPositivesOption = _from_config(
    TrainConfig,
    "min_valid_positives",
    "Offences the validation window must hold: without --until it grows back a day at a time "
    "until it does (never past half of all offences); with --until, a warning if short",
    int,
    min=0,
)
ExplainBudgetOption = _from_config(
    TrainConfig,
    "explain_budget_ms",
    "Exact-SHAP time per declaration the model may cost, measured on this machine: the shape "
    "search keeps the most precise shape within it",
    float,
    min=0.001,
)
FixedShapeOption = Annotated[
    bool,
    typer.Option(
        "--fixed-shape",
        help="Train the fixed shape (15 leaves, rate 0.1) instead of searching the most precise "
        "shape within --explain-budget-ms.",
    ),
]
SHARE = {"min": 0.0, "max": 1.0}
RedShareOption = _from_config(TrainConfig, "red_share", "Share sent red", float, **SHARE)
YellowShareOption = _from_config(
    TrainConfig, "yellow_share", "Share sent yellow, after red", float, **SHARE
)
RandomShareOption = _from_config(
    TrainConfig, "random_share", "Random selection share, TFA Art. 7.4.3", float, **SHARE
)


def train(
    store: StoreOption = None,
    until: UntilOption = None,
    valid_days: ValidDaysOption = None,
    min_valid_positives: MinValidPositivesOption = None,
    experiment: ExperimentOption = None,
    seed: SeedOption = None,
    red_share: RedShareOption = None,
    yellow_share: YellowShareOption = None,
    random_share: RandomShareOption = None,
    train_stats: TrainStatsOption = None,
    imbalance: ImbalanceOption = None,
    explain_budget_ms: ExplainBudgetOption = None,
    fixed_shape: FixedShapeOption = False,
    as_json: JsonOption = False,
) -> None:
    """Train on the store out of time, log the run in MLflow and register the model."""
    from riskscore.training.job import run_training

    current = settings(experiment=experiment)
    path = store_dir(store, current)
    try:
        config = _train_config(
            until=until,
            valid_days=valid_days,
            min_valid_positives=min_valid_positives,
            seed=seed,
            red_share=red_share,
            yellow_share=yellow_share,
            random_share=random_share,
            train_stats=train_stats,
            imbalance=imbalance,
            explain_budget_ms=explain_budget_ms,
            shape_search=False if fixed_shape else None,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    with clean_errors(), console.status("training"):
        run = run_training(path, current, config)
    _print_trained(run, as_json)


def _print_trained(run: TrainingRun, as_json: bool) -> None:
    registered = run.registered
    if run.valid_window.get("warning"):
        console.print(f"[yellow]warning:[/] {run.valid_window['warning']}", soft_wrap=True)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "version": registered.version if registered else None,
                    "alias": registered.alias if registered else None,
                    "run_id": run.run_id,
                    "metrics": run.metrics,
                    "valid_window": run.valid_window,
                    "shape": run.shape,
                    "seconds": round(run.seconds, 2),
                }
            )
        )
        return
    if registered:
        out.print(
            f"registered [bold]{registered.name}[/] version [bold]{registered.version}[/] "
            f"as [bold]{registered.alias}[/] (run {run.run_id}, {run.seconds:.1f} s)"
        )
    if run.valid_window:
        out.print(valid_window_line(run.valid_window), soft_wrap=True)
    if run.shape:
        out.print(f"model shape: {run.shape}", soft_wrap=True)
    out.print(_metrics_table("validation window (out of time)", {"model": run.metrics}))


def valid_window_line(window: dict) -> str:
    """The validation window in one line: dates, why this long, its two slices."""
    return (
        f"validation window {window['from']} to {window['until']}: {window['reason']}; "
        f"{window['rows']:,} declarations, {window['positives']:,} positive "
        f"(early stopping on {window['early_stopping_rows']:,} / "
        f"{window['early_stopping_positives']:,}, calibration on "
        f"{window['calibration_rows']:,} / {window['calibration_positives']:,})"
    )


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
    capacity: Annotated[
        float,
        typer.Option(
            min=0.001, max=0.999, help="Inspected share the unbiased precision is estimated at."
        ),
    ] = 0.05,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a registered model on a window of labelled declarations, as serving scores them,
    and, from the selection records of the declarations it scored, without selection bias."""
    from riskscore.database import locate
    from riskscore.features.outcomes import read_outcomes
    from riskscore.models import registry
    from riskscore.models.selection_log import read_selections
    from riskscore.redact import redact
    from riskscore.training.evaluate import evaluate as run_evaluate

    current = settings()
    path = store_dir(store, current)
    uri = model_uri(model, current)
    shown = redact(uri)  # printed: no credentials of a URL given as --model
    with clean_errors():
        registry.configure(current)
        with console.status(f"loading {shown}"):
            risk_model = registry.load_model(uri)
        with console.status("scoring the window"):
            result = run_evaluate(
                risk_model,
                path,
                date_from,
                date_to,
                outcomes=read_outcomes(locate(current).outcomes),
                selections=read_selections(locate(current).selections),
                capacity=capacity,
            )
    if as_json:
        out.print_json(json.dumps({"model": shown} | result.to_dict(), default=str))
        return
    out.print(
        f"[bold]{shown}[/]: {result.rows} labelled declarations from {result.date_from} to "
        f"{result.date_to}, {result.positives} positive"
    )
    if result.note:
        console.print(f"[yellow]note:[/] {result.note}")
    out.print(_metrics_table("quality at inspection capacity", {"model": result.metrics}))
    _print_unbiased(result)
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


def _print_unbiased(result: Evaluation) -> None:
    """The selection-aware figures beside those of the inspected declarations."""
    found = result.unbiased
    if found is None:
        out.print(
            "without selection bias: no selection records in this window (they are written "
            "when the API or riskscore score scores declarations)"
        )
        return
    e = found.estimates
    table = Table(
        title=f"without selection bias: {found.in_store} of {found.scored} declarations scored "
        f"from {found.date_from} to {found.date_to} (95 % intervals)"
    )
    for column in ("figure", "unbiased estimate", "on inspected declarations"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    rows = found.figures(result.metrics)
    for name, estimate, inspected in rows:
        table.add_row(
            name,
            str(estimate) if estimate is not None else "",
            "" if inspected is None or inspected != inspected else f"{inspected:.4f}",
        )
    out.print(table)
    colour = "green" if e.enough else "yellow"
    out.print(
        f"[{colour}]{e.note}[/]; {e.outside_policy} outcomes on declarations the policy did "
        "not select are not used"
    )


def models_list(as_json: JsonOption = False) -> None:
    """List the registered versions: aliases, creation time, run and headline metrics."""
    from riskscore.models import registry
    from riskscore.models.registry import list_versions

    current = settings()
    with clean_errors():
        registry.configure(current)
        versions = list_versions(current.model_name)
    if as_json:
        out.print_json(json.dumps([v.to_dict() for v in versions]))
        return
    if not versions:
        out.print(f"no registered versions of {current.model_name} (riskscore train --help)")
        return
    table = Table(title=f"{current.model_name}: {len(versions)} version(s)")
    for column in ("version", "aliases", "created (UTC)", "p@5%", "p@10%", "PR-AUC", "run"):
        table.add_column(column, justify="right" if column[0] in "pP" else "left")
    for v in versions:
        table.add_row(
            v.version,
            # A version a killed job left without alias (docs/training.md, "Crashes").
            ", ".join(v.aliases) or ("orphaned" if v.tags.get("orphaned") == "true" else ""),
            v.created.replace("T", " ").removesuffix("+00:00"),
            *(
                f"{v.metrics[k]:.4f}" if k in v.metrics else ""
                for k in ("precision_at_5pct", "precision_at_10pct", "pr_auc")
            ),
            v.run_id[:8],  # enough to find it in the MLflow UI; --json has it whole
        )
    out.print(table)


WindowDaysOption = _from_config(
    RetrainConfig, "window_days", "Days of history the challenger learns from", int, min=30
)
EvalDaysOption = _from_config(
    RetrainConfig, "eval_days", "Most recent days both models are judged on", int, min=7
)
RetrainValidDaysOption = _from_config(
    RetrainConfig, "valid_days", "Challenger's early-stopping and calibration days", int, min=7
)
MarginOption = _from_config(
    RetrainConfig, "margin", "Precision the challenger must gain to be promoted", float
)
CapacityOption = _from_config(
    RetrainConfig, "capacity", "Inspected share the gate compares", float, min=0.001, max=0.999
)
ForceOption = Annotated[
    bool, typer.Option(help="Judge again data an earlier run judged (e.g. a new margin).")
]


def retrain(
    store: StoreOption = None,
    window_days: WindowDaysOption = None,
    eval_days: EvalDaysOption = None,
    valid_days: RetrainValidDaysOption = None,
    min_valid_positives: MinValidPositivesOption = None,
    margin: MarginOption = None,
    capacity: CapacityOption = None,
    experiment: ExperimentOption = None,
    seed: SeedOption = None,
    force: ForceOption = False,
    if_drift: Annotated[
        float | None,
        typer.Option(
            "--if-drift",
            min=0.0,
            help="Retrain only when the PSI of the score or of an input the champion relies on "
            "exceeds this over the evaluation window (0.1 moderate, 0.25 major).",
        ),
    ] = None,
    min_random_outcomes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Random-stream outcomes before the gate compares without selection bias "
            f"(default {default(RetrainConfig, 'min_random_outcomes')}).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Train a challenger on a rolling window and promote it only if it beats the champion."""
    from riskscore.training.retrain import retrain as run_retrain

    current = settings(experiment=experiment)
    path = store_dir(store, current)
    options = {
        "window_days": window_days,
        "eval_days": eval_days,
        "valid_days": valid_days,
        "margin": margin,
        "capacity": capacity,
        "if_drift": if_drift,
        "min_random_outcomes": min_random_outcomes,
    }
    try:
        config = RetrainConfig(
            **{k: v for k, v in options.items() if v is not None},
            train=_train_config(seed=seed, min_valid_positives=min_valid_positives),
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    with clean_errors(code=1), console.status("retraining"):
        result = run_retrain(path, current, config, force=force)
    if as_json:
        out.print_json(json.dumps(result.to_dict(), default=str))
    else:
        _print_retrain(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _print_retrain(result: RetrainResult) -> None:
    colour = {"promoted": "green", "kept": "yellow"}.get(result.decision.value, "red")
    out.print(f"[bold {colour}]{result.decision.value}[/]: {result.reason}")
    if result.new_version:
        out.print(f"registered version {result.new_version} (run {result.run_id})")
    out.print(f"champion: {result.champion_before or '-'} -> {result.champion_after or '-'}")
    if result.drift and "relied_on_max_psi" in result.drift:
        out.print(
            f"drift over {result.drift['rows']} declarations: score PSI "
            f"{result.drift['score_psi']:.3f}, largest on an input relied on "
            f"{result.drift['relied_on_max_psi']:.3f} ({result.drift['relied_on_max_feature']})"
        )
    if result.valid_window:
        out.print("challenger " + valid_window_line(result.valid_window), soft_wrap=True)
        if result.valid_window.get("warning"):
            console.print(f"[yellow]warning:[/] {result.valid_window['warning']}", soft_wrap=True)
    if result.challenger_metrics:
        columns = {"challenger": result.challenger_metrics}
        if result.champion_metrics:
            columns = {"champion": result.champion_metrics} | columns
        out.print(_metrics_table(f"holdout {result.eval_from} to {result.eval_to}", columns))


def benchmark_kcs(
    data: Annotated[
        Path, typer.Option(help="Folder with train.csv, valid.csv and README.md.")
    ] = Path("../shared/data/kcs"),
    store: Annotated[
        Path | None, typer.Option(help="Keep the ingested store here (default: temporary).")
    ] = None,
    seed: SeedOption = None,
    seeds: Annotated[int, typer.Option(min=1, help="Runs with seeds seed, seed+1...")] = 1,
    train_stats: TrainStatsOption = None,
    imbalance: ImbalanceOption = None,
    explain_budget_ms: ExplainBudgetOption = None,
    log: Annotated[bool, typer.Option(help="Log the run in MLflow (benchmark-kcs).")] = True,
    as_json: JsonOption = False,
) -> None:
    """Train on KCS train.csv, evaluate on valid.csv, print beside the published table."""
    from riskscore.training.benchmark import HEADLINE, run_kcs

    config = _train_config(
        seed=seed,
        train_stats=train_stats,
        imbalance=imbalance,
        explain_budget_ms=explain_budget_ms,
    )
    with clean_errors(), console.status("KCS benchmark"):
        result = run_kcs(
            data,
            settings(),
            store_dir=store,
            config=config,
            seeds=tuple(range(config.seed, config.seed + seeds)),
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
    m = result.metrics
    if "log_loss" in m:
        out.print(
            f"calibrated score, out of sample (calibration slice): Brier {m['brier']:.4f}, "
            f"log-loss {m['log_loss']:.4f}; distinct scores in the top 10 %: "
            f"{m['score_distinct_at_10pct']:.1%}"
        )
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
    """Score a file with the champion: id, score, channel and the top 3 reasons; analysts'
    alerts raise the channel of the declarations they match (and name themselves)."""
    from riskscore.database import locate
    from riskscore.models import registry
    from riskscore.models.alert_book import AlertBook
    from riskscore.models.alerts import Matcher
    from riskscore.models.batch import score_file
    from riskscore.models.selection_log import SelectionLog
    from riskscore.redact import redact

    current = settings()
    uri = model_uri(model, current)
    shown = redact(uri)  # printed: no credentials of a URL given as --model
    with clean_errors():
        registry.configure(current)
        with console.status(f"loading {shown}"):
            risk_model = registry.load_model(uri, published_state=True)
            version = registry.resolve(uri).version
            book = AlertBook(locate(current).alerts)
            matcher = Matcher.build(book.list(active_only=True), book.watchlists())
        with console.status(f"scoring {input_file.name}"):
            report = score_file(
                risk_model,
                input_file,
                out_file,
                mapping=mapping,
                sheet=sheet,
                version=version,
                matcher=matcher,
                alert_book=book,
                selection_log=SelectionLog(locate(current).selections),
            )
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
        return
    channels = ", ".join(f"{k} {v}" for k, v in sorted(report.channels.items()))
    out.print(
        f"scored {report.rows_scored} of {report.rows_in} rows with {shown} -> {report.out_file} "
        f"({channels or 'none'}; {report.seconds:.1f} s; feature state "
        f"{report.state['version']}, records before {report.state['as_of']})"
    )
    if report.alerts:
        out.print(
            "analyst alerts matched: "
            + ", ".join(f"{k} {v}" for k, v in sorted(report.alerts.items()))
        )
    if report.rows_quarantined:
        out.print(
            f"[yellow]quarantined {report.rows_quarantined} rows:[/] {report.quarantine_file}"
        )
    if report.selection_error:
        console.print(
            f"[yellow]warning:[/] the scores are written, but not their selection records "
            f"(docs/learning-loop.md): {report.selection_error}"
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
        "last run); 1 failed (the champion did not move; a version registered before the failure "
        "is tagged decision=failed); 2 bad arguments."
    ),
    "score": (
        "Score a file with the champion: id, score, channel and the top 3 reasons. "
        "Rows that break the contract go to <out>.quarantine.csv with their reasons."
    ),
}


def refresh(
    store: StoreOption = None,
    model_alias: Annotated[
        str | None,
        typer.Option("--model-alias", help="Alias of the model to refresh (default: champion)."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="State of the records dated before this day (default: all records).",
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Recompute from the whole store, even if it could fold.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Recompute the served model's feature state from the store and publish it (no retraining):
    the server uses it within RISKSCORE_RELOAD_SECONDS, `riskscore score` at once. New seizures
    alone are folded into the published state; anything else recomputes it in full."""
    from riskscore.training.refresh import refresh as run_refresh

    current = settings()
    path = store_dir(store, current)
    with clean_errors(), console.status(f"refreshing the feature state from {path}"):
        result = run_refresh(path, current, alias=model_alias, as_of=as_of, full=full)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    published, previous = result.state, result.previous
    which = f"{result.name} version {result.version} ({result.alias})"
    took = f"{result.seconds['total']:.1f} s"
    if result.mode == "unchanged":
        out.print(f"feature state {published.version} of {which} stands: {result.reason} ({took})")
        return
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.records.items())
    out.print(
        f"published feature state [bold]{published.version}[/] of {which}, records before "
        f"{published.as_of}: {result.mode} ({result.reason}; {counts}; {took}); it was "
        f"{previous.version}, records before {previous.as_of}"
    )


def register(app: typer.Typer) -> None:
    """Add the training verbs to the `riskscore` app."""
    app.command("train", help=HELP["train"])(train)
    app.command("evaluate")(evaluate)
    app.command("retrain", help=HELP["retrain"])(retrain)
    app.command("score", help=HELP["score"])(score)
    app.command("refresh")(refresh)
    models_app = typer.Typer(help="The model registry.", no_args_is_help=True)
    models_app.command("list")(models_list)
    app.add_typer(models_app, name="models")
    benchmark_app = typer.Typer(help="Public benchmarks.", no_args_is_help=True)
    benchmark_app.command("kcs")(benchmark_kcs)
    app.add_typer(benchmark_app, name="benchmark")
