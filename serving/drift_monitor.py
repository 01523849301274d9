"""Drift of the traffic a server scores, against the served model's reference (models.drift).

A request only hands its model inputs over (a list append under a lock); they are binned
together, vectorised, when /metrics is scraped or when more than `pending_rows` wait, so the
scoring path pays microseconds. The window is the most recent `window` declarations, kept as
the bin counts of each batch binned; a new model version (another reference) starts a new window.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from riskscore.models.drift import SCORE, DriftReference, reference_of
from riskscore.models.risk_model import RiskModel, Scored


@dataclass
class DriftSnapshot:
    """PSI per input (and SCORE) over the `rows` declarations of the current window."""

    psi: dict[str, float]
    rows: int


class DriftMonitor(Collector):
    """Counts scored traffic into the served model's bins; a Prometheus collector of the PSI."""

    def __init__(self, window: int = 50_000, pending_rows: int = 20_000) -> None:
        self.window = window
        self.pending_rows = pending_rows
        self._lock = threading.Lock()
        self._source: object = None  # the reference dict of the model the window belongs to
        self._reference: DriftReference | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._waiting = 0
        self._batches: deque[tuple[int, list[np.ndarray]]] = deque()
        self._rows = 0

    def observe(self, model: RiskModel, scored: Scored) -> None:
        """Take the inputs and raw scores of one scored batch into the window."""
        if scored.matrix is None or not len(scored.raw):
            return
        source = model.info.get("drift_reference")
        with self._lock:
            if source is not self._source:
                self._restart(source)
            if self._reference is None:
                return
            self._pending.append((scored.matrix, scored.raw))
            self._waiting += len(scored.raw)
            if self._waiting >= self.pending_rows:
                self._bin()

    def snapshot(self) -> DriftSnapshot | None:
        """The PSI of the window now; None when the model has no reference or nothing came."""
        with self._lock:
            if self._reference is None:
                return None
            self._bin()
            if not self._rows:
                return None
            totals = [sum(parts) for parts in zip(*(c for _, c in self._batches), strict=True)]
            return DriftSnapshot(self._reference.psi(totals), self._rows)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found = self.snapshot()
        features = GaugeMetricFamily(
            "riskscore_feature_psi",
            "Population stability index of each model input: recent traffic against the "
            "model's validation window (0.1 moderate, 0.25 major)",
            labels=["feature"],
        )
        score = GaugeMetricFamily(
            "riskscore_score_psi", "Population stability index of the raw score"
        )
        rows = GaugeMetricFamily(
            "riskscore_drift_declarations", "Declarations in the window the PSI is measured on"
        )
        if found is not None:
            for name, value in found.psi.items():
                if name != SCORE:
                    features.add_metric([name], value)
            score.add_metric([], found.psi[SCORE])
            rows.add_metric([], found.rows)
        yield features
        yield score
        yield rows

    def _restart(self, source: object) -> None:
        self._source = source
        self._reference = reference_of({"drift_reference": source})
        self._pending.clear()
        self._waiting = 0
        self._batches.clear()
        self._rows = 0

    def _bin(self) -> None:
        """Bin what is pending as one batch, and drop the oldest batches beyond the window."""
        if not self._pending or self._reference is None:
            return
        matrix = np.concatenate([m for m, _ in self._pending])
        raw = np.concatenate([r for _, r in self._pending])
        self._pending.clear()
        self._waiting = 0
        self._batches.append((len(raw), self._reference.counts(matrix, raw)))
        self._rows += len(raw)
        while len(self._batches) > 1 and self._rows - self._batches[0][0] >= self.window:
            self._rows -= self._batches.popleft()[0]
