"""Batch scoring of a file of declarations: the same readers, mapping and contract as ingestion.

Rows that break the contract go to a quarantine file beside the output, with their source row
numbers and reasons, exactly as ingestion writes them; for the file
rows_in = rows_scored + rows_quarantined.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from riskscore.features.errors import BadInputError
from riskscore.features.intake import read_checked
from riskscore.files import StorageError
from riskscore.models.alert_book import AlertBook, selection_rows
from riskscore.models.alerts import Matcher, apply_alerts
from riskscore.models.reasons import explained_reasons
from riskscore.models.risk_model import RiskModel
from riskscore.models.selection_log import SelectionLog, selection_of, selection_records
from riskscore.models.state import state_of

OUTPUTS = (".csv", ".parquet")
REASONS = 3
REASON_PARTS = ("feature", "criterion", "value", "contribution", "sentence")
REASON_COLUMNS = [f"reason_{i}_{p}" for i in range(1, REASONS + 1) for p in REASON_PARTS]


@dataclass
class BatchReport:
    """What a batch scoring did."""

    input_file: str
    out_file: str
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    quarantine_file: str | None
    channels: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    model_version: str | None = None
    state: dict = field(default_factory=dict)  # the feature state scored with (models.state)
    alerts: dict[str, int] = field(default_factory=dict)  # alert id -> declarations it matched
    selection_error: str | None = None  # why the selection records could not be stored

    def to_dict(self) -> dict:
        return asdict(self)


def quarantine_path(out: Path) -> Path:
    """Where the rejected rows of a batch go: beside the output, named after it."""
    return out.with_name(f"{out.stem}.quarantine.csv")


def score_file(
    model: RiskModel,
    path: Path,
    out: Path,
    mapping: Path | None = None,
    sheet: str | None = None,
    version: str | None = None,
    matcher: Matcher | None = None,
    alert_book: AlertBook | None = None,
    selection_log: SelectionLog | None = None,
) -> BatchReport:
    """Score every valid row of `path` and write id, score, raw_score, channel, how it was
    selected (selection, propensity) and top reasons to `out`, with the model `version` and the
    feature state that scored each row. Analysts' alerts (`matcher`) raise channels; the
    declarations they select are recorded in `alert_book`, and every declaration's selection in
    `selection_log`, when given.

    The contract is the clearance one (declarations without an outcome), or the one the
    mapping names. Raises BadInputError for an unusable file, mapping or output name.
    """
    started = time.perf_counter()
    path, out = Path(path), Path(out)
    if out.suffix.lower() not in OUTPUTS:
        raise BadInputError(out, f"unsupported output format: name it {' or '.join(OUTPUTS)}")
    checked = read_checked(path, None, mapping, sheet=sheet)
    quarantine_file = None
    if checked.rows_rejected:
        quarantine_file = quarantine_path(out)
        checked.write_quarantine(quarantine_file)

    table = score_frame(model, checked.accepted.reset_index(drop=True), matcher)
    used = state_of(model)
    alerted = _record_selections(alert_book, checked.accepted, table, version)
    records = selection_records(
        table.to_dict("records"),
        checked.accepted["reporting_country"],
        checked.accepted["date"],
        model_version=version,
        state_version=used.version,
        draw_share=model.channels.random_share,
        source=f"file {path.name}",
    )
    table["model_version"] = version
    table["state_version"] = used.version
    table["state_as_of"] = used.as_of
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)
    selection_error = None
    if selection_log is not None:
        # After the file: the scores are what the user asked for, and are written either way.
        try:
            selection_log.record(records)
        except StorageError as exc:
            selection_error = str(exc)
    return BatchReport(
        input_file=str(path),
        out_file=str(out),
        rows_in=checked.rows_in,
        rows_scored=len(table),
        rows_quarantined=checked.rows_rejected,
        quarantine_file=str(quarantine_file) if quarantine_file else None,
        channels={k: int(v) for k, v in table["channel"].value_counts().items()},
        seconds=round(time.perf_counter() - started, 3),
        model_version=version,
        state={"version": used.version, "as_of": used.as_of},
        alerts=alerted,
        selection_error=selection_error,
    )


def _record_selections(
    book: AlertBook | None, declarations: pd.DataFrame, table: pd.DataFrame, version: str | None
) -> dict[str, int]:
    """Store the declarations alerts selected in `book`; returns alert id -> declarations."""
    if table["alerts"].isna().all():
        return {}
    rows = selection_rows(
        table["id"],
        table["channel"],
        (a.split(";") if isinstance(a, str) else () for a in table["alerts"]),
        declarations["reporting_country"],
        declarations["date"],
        version,
    )
    if book is not None:
        book.record_selections(rows)
    return dict(Counter(row["alert_id"] for row in rows))


def score_frame(
    model: RiskModel, declarations: pd.DataFrame, matcher: Matcher | None = None
) -> pd.DataFrame:
    """id, score (calibrated probability), raw_score (log-odds), channel and the top reasons of
    the flagged rows, one row per declaration; with analyst alerts (`matcher`), the channel is
    at least each matching alert's, `alerts` names them and `model_channel` keeps the model's.

    The reasons are the scoring service's own (`models.reasons.top_reasons`): a file and the API
    give the same declaration the same reasons.
    """
    names = (
        "id",
        "score",
        "raw_score",
        "channel",
        "model_channel",
        "alerts",
        "selection",
        "propensity",
        *REASON_COLUMNS,
    )
    if declarations.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in names})
    scored = model.score(declarations, explain="flagged")
    matches = matcher.match(declarations) if matcher is not None and len(matcher) else None
    channel = scored.channel if matches is None else apply_alerts(scored.channel, matches)
    n = len(declarations)
    table: dict[str, list] = {c: [None] * n for c in REASON_COLUMNS}
    for row, reasons in explained_reasons(model, declarations, scored, REASONS).items():
        for i, reason in enumerate(reasons, start=1):
            for part in REASON_PARTS:
                table[f"reason_{i}_{part}"][row] = getattr(reason, part)
            # Values are numbers or categories: as text, a file column keeps one type.
            if reason.value is not None:
                table[f"reason_{i}_value"][row] = str(reason.value)
    share = model.channels.random_share
    selected = [selection_of(m, c, share) for m, c in zip(scored.channel, channel, strict=True)]
    return pd.DataFrame(
        {
            "id": declarations["id"].astype("string").to_numpy(),
            "score": scored.score.round(6),
            "raw_score": scored.raw.round(6),  # as the API gives it
            "channel": channel.astype(str),
            "model_channel": scored.channel.astype(str),
            "alerts": [";".join(a.id for a in found) or None for found in matches]
            if matches is not None
            else None,
            "selection": [s for s, _ in selected],
            "propensity": [p for _, p in selected],
            **table,
        }
    )
