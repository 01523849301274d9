"""CLI verbs for analysts: alerts (criteria imposing a minimum channel) and watch lists."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from riskscore.cli.console import console, fail, out
from riskscore.cli.options import JsonOption, StoreOption, clean_errors, settings

if TYPE_CHECKING:
    from riskscore.models.alert_book import AlertBook

alerts_app = typer.Typer(
    help="Analysts' alerts: criteria that impose at least a channel on matching declarations.",
    no_args_is_help=True,
)
watchlist_app = typer.Typer(
    help="Watch lists of traders, documents or containers, for use in alerts (@NAME).",
    no_args_is_help=True,
)

Values = Annotated[list[str] | None, typer.Option(show_default=False)]
Day = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], show_default=False)]
AuthorOption = Annotated[
    str | None, typer.Option("--author", help="Who does this (default: the login name).")
]


def _book() -> AlertBook:
    from riskscore.database import locate
    from riskscore.models.alert_book import AlertBook

    return AlertBook(locate(settings()).alerts)


def _author(author: str | None) -> str:
    return author or getpass.getuser()


@alerts_app.command("add")
def alerts_add(
    message: Annotated[str, typer.Option(help="What officers read when the alert matches.")],
    channel: Annotated[str, typer.Option(help="The minimum channel: yellow or red.")] = "yellow",
    hs: Values = None,
    origin: Values = None,
    departure: Values = None,
    transit: Values = None,
    mode: Values = None,
    importer: Values = None,
    exporter: Values = None,
    declarant: Values = None,
    trader: Values = None,
    document: Values = None,
    container: Values = None,
    valid_from: Day = None,
    valid_until: Day = None,
    author: AuthorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an alert. Every criterion given must hold; any of its values will do (repeat the
    option). --hs takes an HS prefix (1006, 100630); trader, document and container criteria
    take @NAME for a watch list. Takes effect on the running server within
    RISKSCORE_RELOAD_SECONDS."""
    from riskscore.models.alerts import criteria_text

    given = {
        "hs": hs, "origin": origin, "departure": departure, "transit": transit, "mode": mode,
        "importer": importer, "exporter": exporter, "declarant": declarant, "trader": trader,
        "document": document, "container": container,
    }  # fmt: skip
    criteria = {k: v for k, v in given.items() if v}
    with clean_errors():
        alert = _book().add(
            criteria,
            channel,
            message,
            author=_author(author),
            valid_from=valid_from.date() if valid_from else None,
            valid_until=valid_until.date() if valid_until else None,
        )
    if as_json:
        out.print_json(json.dumps(alert.to_dict()))
        return
    out.print(
        f"alert [bold]{alert.id}[/] ({alert.channel} at least): {criteria_text(alert.criteria)}; "
        f"valid {alert.valid_from or 'now'} to {alert.valid_until or 'no end'}"
    )


@alerts_app.command("list")
def alerts_list(
    show_all: Annotated[bool, typer.Option("--all", help="Expired alerts too.")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """The alerts, with what each selected and its hit rate once outcomes are known (from the
    store's labelled declarations and the outcomes fed back through the API)."""
    from riskscore.database import locate
    from riskscore.reports.alerts import alert_table

    current = settings()
    with clean_errors():
        table = alert_table(_book(), store or current.store_dir, locate(current).outcomes)
    if not show_all and len(table):
        table = table[table["active"]]
    if as_json:
        records = json.loads(table.to_json(orient="records"))
        out.print_json(json.dumps(records))
        return
    view = Table(title=f"{len(table)} alerts")
    for column in ("id", "channel", "criteria", "valid", "by", "selected", "hits", "hit rate"):
        view.add_column(column)
    for row in table.to_dict("records"):
        rate = row["hit_rate"]
        view.add_row(
            row["id"] + ("" if row["active"] else " (expired)"),
            row["channel"],
            row["criteria_text"],
            f"{row['valid_from'] or '-'} to {row['valid_until'] or '-'}",
            row["author"],
            str(row["selections"]),
            f"{row['hits']} of {row['outcomes_known']}",
            "-" if rate != rate else f"{rate:.0%}",
        )
    out.print(view)


@alerts_app.command("expire")
def alerts_expire(
    alert_id: Annotated[str, typer.Argument(help="The alert id (from alerts list).")],
    author: AuthorOption = None,
) -> None:
    """Withdraw an alert: it matches nothing from the next reload on (its history stays)."""
    with clean_errors():
        alert = _book().expire(alert_id, _author(author))
    out.print(f"alert {alert.id} expired at {alert.expired_at}")


@alerts_app.command("change")
def alerts_change(
    alert_id: Annotated[str, typer.Argument(help="The alert id (from alerts list).")],
    message: Annotated[str | None, typer.Option(help="A new message.")] = None,
    channel: Annotated[str | None, typer.Option(help="A new minimum channel.")] = None,
    valid_until: Day = None,
    author: AuthorOption = None,
) -> None:
    """Change an alert's message, channel or end date (recorded in its history)."""
    fields = {"message": message, "channel": channel}
    if valid_until is not None:
        fields["valid_until"] = valid_until.date().isoformat()
    fields = {k: v for k, v in fields.items() if v is not None}
    if not fields:
        raise fail("nothing to change: give --message, --channel or --valid-until")
    with clean_errors():
        alert = _book().change(alert_id, _author(author), **fields)
    out.print(f"alert {alert.id}: {', '.join(f'{k} {v}' for k, v in fields.items())}")


@alerts_app.command("history")
def alerts_history(
    alert_id: Annotated[str | None, typer.Argument(help="One alert (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Who added, changed and expired alerts, and when."""
    with clean_errors():
        entries = _book().history(alert_id)
    if as_json:
        out.print_json(json.dumps(entries, default=str))
        return
    view = Table(title=f"{len(entries)} changes")
    for column in ("when", "alert", "action", "who"):
        view.add_column(column)
    for entry in entries:
        view.add_row(entry["at"], entry["alert_id"], entry["action"], entry["who"])
    out.print(view)


@watchlist_app.command("load")
def watchlist_load(
    name: Annotated[str, typer.Argument(help="The list's name (alerts use it as @NAME).")],
    input_file: Annotated[Path, typer.Argument(help="CSV or xlsx, first row the header.")],
    kind: Annotated[str, typer.Option(help="trader, document or container.")] = "trader",
    column: Annotated[str | None, typer.Option(help="Column (default: the first).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet to read.")] = None,
    author: AuthorOption = None,
) -> None:
    """Load (or replace) a watch list. Rows that cannot be entries go to a quarantine file
    with their row numbers and reasons."""
    import pandas as pd

    from riskscore.models.alerts import load_watchlist

    with clean_errors():
        watchlist, rejected = load_watchlist(
            input_file, name, kind, column, author=_author(author), sheet=sheet
        )
        _book().save_watchlist(watchlist, _author(author))
    out.print(f"watch list [bold]{name}[/]: {len(watchlist.entries)} {kind} entries")
    if rejected:
        quarantine = input_file.with_name(f"{input_file.stem}.quarantine.csv")
        with clean_errors():
            pd.DataFrame(rejected).to_csv(quarantine, index=False)
        console.print(f"[yellow]{len(rejected)} rows rejected:[/] {quarantine}")


@watchlist_app.command("list")
def watchlist_list(as_json: JsonOption = False) -> None:
    """The watch lists: name, kind, size, who loaded them from which file."""
    with clean_errors():
        lists = _book().watchlists()
    rows = [
        {
            "name": w.name,
            "kind": w.kind,
            "entries": len(w.entries),
            "author": w.author,
            "loaded_at": w.loaded_at,
            "source_file": w.source_file,
        }
        for w in lists.values()
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    view = Table(title=f"{len(rows)} watch lists")
    for column in rows[0] if rows else ("name",):
        view.add_column(column)
    for row in rows:
        view.add_row(*(str(v) for v in row.values()))
    out.print(view)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(watchlist_app, name="watchlist")
