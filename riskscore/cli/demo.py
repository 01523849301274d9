"""The main job behind `riskscore run`: data -> store -> model in the registry -> API."""

from __future__ import annotations

import json
import os
from pathlib import Path

from riskscore.cli.console import console, out, progress_bar
from riskscore.features.ingest import ingest
from riskscore.settings import Settings

INPUTS = (
    ("seizures", "seizures.xlsx"),
    ("clearance", "clearance.parquet"),
    ("declarations", "declarations.parquet"),
)
DEMO_MEMBER = "GB"  # the demo data's reporting country


def _ensure_data(settings: Settings, data: Path | None, declarations: int) -> Path:
    if data is not None:
        return data
    folder = settings.demo_dir
    if all((folder / name).exists() for _, name in INPUTS):
        console.print(f"demo data already in {folder}/")
        return folder
    from riskscore.synth import generate

    with progress_bar("generating demo data", total=declarations) as bar:
        generate(folder, declarations=declarations, progress=lambda n: bar.update(0, completed=n))
    return folder


def _ensure_model(settings: Settings) -> str:
    """The champion's version: the one registered, else a model trained on the store now."""
    from riskscore.models import registry

    registry.configure(settings)
    version = registry.alias_version(settings.model_name, registry.CHAMPION)
    if version is not None:
        console.print(
            f"{settings.model_name} v{version} is already champion "
            "(riskscore retrain trains a challenger)"
        )
        return version
    version = _train_champion(settings)
    _write_report(settings, version)
    return version


def _train_champion(settings: Settings) -> str:
    from riskscore.training.job import run_training

    with console.status("training (features, LightGBM, calibration, MLflow logging)"):
        run = run_training(settings.store_dir, settings)
    assert run.registered is not None
    m = run.metrics
    console.print(
        f"registered {settings.model_name} v{run.registered.version} as "
        f"{run.registered.alias}: precision@5% {m['precision_at_5pct']:.3f} "
        f"(base rate {m['base_rate']:.3f}), recall@10% {m['recall_at_10pct']:.3f}"
    )
    return run.registered.version


def _write_report(settings: Settings, version: str) -> None:
    from riskscore.reports.build import ReportError, write_report

    try:
        with console.status("writing the analyst report"):
            report = write_report(
                f"models:/{settings.model_name}/{version}",
                settings.store_dir,
                settings.state_dir / "report.html",
                settings,
            )
    except ReportError as exc:  # too little data for a report is no reason not to serve
        console.print(f"[yellow]no analyst report: {exc}[/]")
    else:
        console.print(f"analyst report: {report.path} (also served at /v1/model/report)")


def _demo_key(settings: Settings) -> str:
    """The demo's API key, kept in var/demo-api-key for the next run (demo only)."""
    from riskscore.serving.keys import key_store

    path = settings.state_dir / "demo-api-key"
    store = key_store(settings)
    if path.exists() and store.authenticate(path.read_text().strip()):
        return path.read_text().strip()
    _, secret = store.create(DEMO_MEMBER)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secret)
    os.chmod(path, 0o600)
    return secret


def run_main_job(settings: Settings, data: Path | None, declarations: int, serve: bool) -> None:
    folder = _ensure_data(settings, data, declarations)
    for kind, name in INPUTS:
        path = folder / name
        if not path.exists():
            console.print(f"[yellow]no {name} in {folder}: skipping {kind}[/]")
            continue
        with console.status(f"ingesting {name}"):
            report = ingest(kind, path, settings.store_dir)
        console.print(
            f"{kind}: {report.rows_in} rows, {report.rows_new} new, "
            f"{report.rows_already_present} already stored, {report.rows_quarantined} quarantined"
            + (f" -> {report.quarantine_file}" if report.quarantine_file else "")
        )
    _ensure_model(settings)
    key = _demo_key(settings)
    example = {"declarations": [_example()]}
    url = f"http://{settings.host}:{settings.port}"
    out.print(f"\nscoring API on {url}  (docs: {url}/docs)", highlight=False)
    out.print("try it:", highlight=False)
    out.print(
        f"curl -s {url}/v1/score -H 'X-API-Key: {key}' -H 'Content-Type: application/json' "
        f"-d '{json.dumps(example)}'",
        highlight=False,
        soft_wrap=True,
    )
    if serve:
        from riskscore.serving.server import run_server

        run_server(settings)


def _example() -> dict:
    from riskscore.serving.schemas import EXAMPLE

    return EXAMPLE
