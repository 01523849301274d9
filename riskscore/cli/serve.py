"""CLI verbs for the scoring service: serve, API keys, and the one-command demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskscore.cli.console import console, fail, out
from riskscore.cli.options import settings

keys_app = typer.Typer(help="API keys of member administrations.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    model_alias: Annotated[str | None, typer.Option(help="Registry alias to serve.")] = None,
    reload_seconds: Annotated[
        float | None, typer.Option(help="How often to check whether the alias moved.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Server processes (default: the cores; RISKSCORE_WORKERS)."),
    ] = None,
) -> None:
    """Serve the scoring API (loads models:/<name>@<alias> through MLflow).

    Each worker process loads the model itself and answers on the same port; SIGTERM drains
    (readiness 503 for RISKSCORE_DRAIN_SECONDS, then the requests in flight finish).
    """
    from riskscore.database import locate
    from riskscore.models import registry
    from riskscore.serving.server import run_server

    current = settings(
        host=host,
        port=port,
        model_alias=model_alias,
        reload_seconds=reload_seconds,
        workers=workers,
    )
    try:
        registry.tracking_uri(current)  # a wrong registry is one line here, not a traceback later
        locate(current)  # and so is a wrong RISKSCORE_DATABASE_URL
    except (registry.RegistryConfigError, ValueError) as exc:
        raise fail(str(exc)) from None
    run_server(current)


@keys_app.command("create")
def keys_create(
    member: Annotated[str, typer.Option(help="Member code (ISO country), or * for a RILO.")],
    analyst: Annotated[
        bool, typer.Option("--analyst", help="May also add and expire alerts (/v1/alerts).")
    ] = False,
) -> None:
    """Create a key; it is printed once and only its hash is kept."""
    from riskscore.files import StorageError
    from riskscore.serving.keys import key_store

    try:
        record, secret = key_store(settings()).create(member, analyst)
    except ValueError as exc:
        raise fail(str(exc)) from None
    except StorageError as exc:  # a full disk, or another writer holding the lock too long
        raise fail(str(exc)) from None
    scope = ", analyst" if record.analyst else ""
    console.print(
        f"key {record.key_id} for member {record.member}{scope} (shown once, store it now):"
    )
    out.print(secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List keys (ids, members, dates; never the keys)."""
    from riskscore.files import StorageError
    from riskscore.serving.keys import key_store

    try:
        records = key_store(settings()).list()
    except (ValueError, StorageError) as exc:  # a wrong database URL, a database down
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        k: getattr(r, k)
                        for k in ("key_id", "member", "analyst", "created_at", "revoked_at")
                    }
                    for r in records
                ]
            )
        )
        return
    table = Table(title=f"{len(records)} API keys")
    for column in ("key id", "member", "analyst", "created", "revoked"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.key_id, r.member, "yes" if r.analyst else "", r.created_at, r.revoked_at or ""
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from keys list).")],
) -> None:
    """Revoke a key; running servers refuse it from the next request on (replicas sharing
    RISKSCORE_DATABASE_URL: within RISKSCORE_RELOAD_SECONDS)."""
    from riskscore.files import StorageError
    from riskscore.serving.keys import key_store

    try:
        record = key_store(settings()).revoke(key_id)
    except KeyError:
        raise fail(f"no key with id {key_id!r} (see riskscore keys list)") from None
    except (ValueError, StorageError) as exc:  # not revoked: say so, never print "revoked"
        raise fail(f"{exc}; key {key_id} is NOT revoked") from None
    out.print(f"revoked {record.key_id} (member {record.member}) at {record.revoked_at}")


def run(
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder with seizures.xlsx, clearance.parquet, declarations.parquet "
            "(default: generate demo data)."
        ),
    ] = None,
    declarations: Annotated[int, typer.Option(help="Demo shipments to generate.")] = 60_000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve at the end.")] = True,
) -> None:
    """The main job: demo data (unless --data) -> ingest -> train -> register -> serve."""
    from riskscore.cli.demo import run_main_job

    try:
        run_main_job(settings(), data, declarations, serve_api)
    except Exception as exc:  # the demo must end in one readable line, never a traceback
        from riskscore.features.errors import BadInputError
        from riskscore.models.registry import RegistryConfigError
        from riskscore.training.train import TrainingError

        if isinstance(exc, BadInputError | TrainingError | RegistryConfigError):
            raise fail(str(exc) or type(exc).__name__) from None
        raise


def register(app: typer.Typer) -> None:
    """Add the serving verbs to the `riskscore` app."""
    app.command()(serve)
    app.command()(run)
    app.add_typer(keys_app, name="keys")
