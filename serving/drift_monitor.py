"""Drift of the traffic a server scores, against the served model's reference (models.drift).

A request only hands its model inputs over (a list append under a lock); they are binned
together, vectorised, when /metrics is scraped or when more than `pending_rows` wait, so the
scoring path pays microseconds. The window is the most recent `window` declarations, kept as
the bin counts of each batch binned; a new model version (another reference) starts a new window.

With several worker processes, each exports its window's counts to a file every few seconds
(`export`), and the worker that answers a scrape sums the live workers' files
(`SharedDriftCollector`): the PSI is of the server's traffic, not of one worker's share.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    """Counts scored traffic into the served model's bins; a Prometheus collector of the PSI.

    Binning never happens on a request's path nor under the lock requests take: past
    `pending_rows` waiting, a binning thread of its own takes them (a scrape bins what is left).
    A bulk thread that binned while holding the lock once stalled single requests for 300 ms.
    """

    def __init__(self, window: int = 50_000, pending_rows: int = 20_000) -> None:
        self.window = window
        self.pending_rows = pending_rows
        self._lock = threading.Lock()
        self._source: object = None  # the reference dict of the model the window belongs to
        self._reference: DriftReference | None = None
        self._generation = 0  # one per reference: counts of an older one are dropped
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._waiting = 0
        self._ready: deque[list[tuple[np.ndarray, np.ndarray]]] = deque()  # for the binner
        self._binning = threading.Lock()  # one binner at a time, so batches keep their order
        self._batches: deque[tuple[int, list[np.ndarray]]] = deque()
        self._rows = 0
        self._fingerprint = ""
        self._wake = threading.Event()
        self._binner: threading.Thread | None = None

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
            if self._waiting < self.pending_rows:
                return
            self._ready.append(self._pending)
            self._pending, self._waiting = [], 0
            if self._binner is None:
                self._binner = threading.Thread(target=self._bin_forever, daemon=True)
                self._binner.start()
        self._wake.set()

    def snapshot(self) -> DriftSnapshot | None:
        """The PSI of the window now; None when the model has no reference or nothing came."""
        self._bin()
        with self._lock:
            if self._reference is None or not self._rows:
                return None
            return DriftSnapshot(self._reference.psi(self._totals()), self._rows)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return families(self.snapshot())

    def export(self, folder: Path) -> None:
        """Write this process's window (counts, rows, reference) to `folder`, replacing its
        last export in one rename, for the worker that answers the next scrape."""
        self._bin()
        with self._lock:
            if self._reference is None:
                return
            arrays = {f"c{i}": c for i, c in enumerate(self._totals())} if self._rows else {}
            source, fingerprint, rows = self._source, self._fingerprint, self._rows
        path = folder / f"drift_{os.getpid()}.npz"
        temporary = path.with_suffix(".tmp.npz")
        np.savez(
            temporary,
            rows=rows,
            fingerprint=fingerprint,
            reference=json.dumps(source),
            **arrays,
        )
        os.replace(temporary, path)

    def _totals(self) -> list[np.ndarray]:
        """The counts of the window, per input and the score. Hold self._lock."""
        return [sum(parts) for parts in zip(*(c for _, c in self._batches), strict=True)]

    def _restart(self, source: object) -> None:
        self._source = source
        self._reference = reference_of({"drift_reference": source})
        self._fingerprint = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()
        self._generation += 1
        self._pending = []
        self._ready.clear()
        self._waiting = 0
        self._batches.clear()
        self._rows = 0

    def _bin_forever(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self._bin(pending=False)

    def _bin(self, pending: bool = True) -> None:
        """Bin the batches handed to the binner (and what is pending, unless `pending` is
        False), each outside the lock, and drop the oldest batches beyond the window."""
        with self._binning:
            with self._lock:
                chunks = list(self._ready)
                self._ready.clear()
                if pending and self._pending:
                    chunks.append(self._pending)
                    self._pending, self._waiting = [], 0
                reference, generation = self._reference, self._generation
            if reference is None:
                return
            for chunk in chunks:
                matrix = np.concatenate([m for m, _ in chunk])
                raw = np.concatenate([r for _, r in chunk])
                counts = reference.counts(matrix, raw)
                with self._lock:
                    if generation != self._generation:
                        return  # another model's traffic now
                    self._batches.append((len(raw), counts))
                    self._rows += len(raw)
                    while (
                        len(self._batches) > 1 and self._rows - self._batches[0][0] >= self.window
                    ):
                        self._rows -= self._batches.popleft()[0]


class SharedDriftCollector(Collector):
    """The PSI of all live workers' windows (their `DriftMonitor.export` files in `folder`), on
    the reference of the most recent export: after a new version, the old one's windows age out."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def snapshot(self) -> DriftSnapshot | None:
        exports = []
        for path in self.folder.glob("drift_*.npz"):
            pid = path.stem.split("_", 1)[1]
            if not pid.isdigit() or not _alive(int(pid)):
                continue
            with contextlib.suppress(OSError, ValueError, KeyError):
                with np.load(path) as data:
                    arrays = {k: data[k] for k in data.files}
                exports.append((path.stat().st_mtime, arrays))
        if not exports:
            return None
        newest = max(exports, key=lambda e: e[0])[1]
        fingerprint = str(newest["fingerprint"])
        reference = reference_of({"drift_reference": json.loads(str(newest["reference"]))})
        if reference is None:
            return None
        totals: list[np.ndarray] | None = None
        rows = 0
        for _, arrays in exports:
            if str(arrays["fingerprint"]) != fingerprint or not int(arrays["rows"]):
                continue
            counts = [arrays[f"c{i}"] for i in range(len(reference.features) + 1)]
            if totals is not None:
                counts = [a + b for a, b in zip(totals, counts, strict=True)]
            totals = counts
            rows += int(arrays["rows"])
        if totals is None:
            return None
        return DriftSnapshot(reference.psi(totals), rows)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return families(self.snapshot())


def families(found: DriftSnapshot | None) -> Iterator[GaugeMetricFamily]:
    """The drift gauges of a snapshot (empty families when there is none)."""
    features = GaugeMetricFamily(
        "riskscore_feature_psi",
        "Population stability index of each model input: recent traffic against the "
        "model's validation window (0.1 moderate, 0.25 major)",
        labels=["feature"],
    )
    score = GaugeMetricFamily("riskscore_score_psi", "Population stability index of the raw score")
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
