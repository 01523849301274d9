"""The analysts' alerts as the server sees them: a Matcher rebuilt when the alert book moves.

`riskscore alerts add` (another process) and `POST /v1/alerts` write the alert book; the server
reads its revision (one indexed read) at most every `reload_seconds` and rebuilds the Matcher
only when it moved, so a new alert takes effect within `reload_seconds`. A request takes the
Matcher of the moment and keeps it: a rebuild never changes an answer half way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from riskscore.models.alert_book import AlertBook, selection_rows
from riskscore.models.alerts import Matcher
from riskscore.redact import redact

log = logging.getLogger("riskscore.serving")


class AlertWatch:
    """The current Matcher of an alert book, refreshed lazily on use."""

    def __init__(self, book: AlertBook, reload_seconds: float) -> None:
        self.book = book
        self.reload_seconds = max(reload_seconds, 0.0)
        self._lock = threading.Lock()
        self._matcher = Matcher.build([], {})
        self._revision: int | None = None
        self._due = 0.0  # monotonic time of the next look at the book
        self.last_error: str | None = None

    def matcher(self) -> Matcher:
        """The Matcher of the book's current alerts (looked at again when due)."""
        if time.monotonic() >= self._due:
            self._reload()
        return self._matcher

    def reload_now(self) -> None:
        """Look at the book on the next use (after a change made through this server)."""
        self._due = 0.0

    def _reload(self) -> None:
        with self._lock:
            if time.monotonic() < self._due:
                return  # another request reloaded it meanwhile
            # reload_seconds 0: read once (and after changes made through this server).
            wait = self.reload_seconds if self.reload_seconds > 0 else float("inf")
            self._due = time.monotonic() + wait
            try:
                revision = self.book.revision()
                if revision == self._revision:
                    return
                alerts = self.book.list(active_only=True)
                self._matcher = Matcher.build(alerts, self.book.watchlists())
                self._revision = revision
                self.last_error = None
                log.info("alerts: %d active (alert book revision %d)", len(alerts), revision)
            except Exception as exc:  # noqa: BLE001 - a broken book keeps the last good alerts
                self.last_error = redact(f"alert book unusable: {type(exc).__name__}: {exc}")
                log.error("%s; serving the %d alerts loaded before", self.last_error,
                          len(self._matcher))  # fmt: skip

    def record(
        self,
        results: Sequence[dict],
        members: Sequence[str | None],
        dates: Sequence,
        version: str,
    ) -> None:
        """Store the declarations alerts selected (for each alert's selections and hit rate):
        the answers carrying `alerts`, with each declaration's member and date."""
        rows = selection_rows(
            (r["id"] for r in results),
            (r["channel"] for r in results),
            (r.get("alerts", ()) for r in results),
            members,
            dates,
            version,
        )
        if rows:
            self.book.record_selections(rows)
