"""What the verbs share: settings read one way, the common options, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import click
import typer
from pydantic import ValidationError

from riskscore.cli.console import fail
from riskscore.files import StorageError
from riskscore.settings import Settings

StoreOption = Annotated[
    Path | None, typer.Option("--store", help="Store directory (default: RISKSCORE_STORE_DIR).")
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="URI",
        help="Model URI: models:/NAME@ALIAS, models:/NAME/VERSION or runs:/ID/model "
        "(default: models:/<RISKSCORE_MODEL_NAME>@<RISKSCORE_MODEL_ALIAS>).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def settings(**overrides: object) -> Settings:
    """The settings as the environment says now, with the options given (None keeps them).

    A setting the environment (or .env) gets wrong is one error line naming the variable.
    """
    try:
        current = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = "RISKSCORE_" + "_".join(str(part) for part in first["loc"]).upper()
        raise fail(f"{variable}={first.get('input')!r}: {first['msg']}") from None
    given = {k: v for k, v in overrides.items() if v is not None}
    return current.model_copy(update=given) if given else current


def store_dir(store: Path | None, current: Settings, must_exist: bool = True) -> Path:
    """--store, else the settings' store; a missing store is one error line."""
    path = store or current.store_dir
    if must_exist and not path.is_dir():
        raise fail(f"{path}: no such store; ingest data first (riskscore ingest --help)")
    return path


def model_uri(uri: str | None, current: Settings) -> str:
    """--model, else the model the settings name."""
    from riskscore.models.registry import default_uri  # loads MLflow: only verbs that need it

    return uri or default_uri(current)


@contextmanager
def clean_errors(code: int = 2) -> Iterator[None]:
    """Turn any error into one line and an exit code: never a traceback."""
    try:
        yield
    except (click.exceptions.Exit, click.ClickException, typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # noqa: BLE001 - the CLI's last word on any failure
        message = (_one_line(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise fail(message[:500], code) from None


def _one_line(exc: Exception) -> str:
    """The message of `exc`; an OSError without its '[Errno 28]' prefix, naming its file."""
    if isinstance(exc, OSError) and not isinstance(exc, StorageError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)  # a StorageError's is its sentence, naming the file
