"""What safety costs: the writers of issue 10 (locks, fsync, atomic renames) timed, and what two
writers at once leave behind.

    .venv/bin/python bench/bench_reliability.py [--rows 100000] [--work /tmp/riskscore-rel]
    .venv/bin/python bench/ab.py --before <commit> -- bench/bench_reliability.py   # side by side

Figures (the last line is them as JSON, for bench/ab.py):
- ingest of a clearance CSV into an empty store, and the re-ingest of the same file (nothing new);
- two processes ingesting the same file at once, three times: the slowest wall time and the most
  rows then stored twice (none when writers are serialised);
- outcomes: one acknowledged write of 10 outcomes (SQLite, synchronous=FULL);
- API keys: one `create`, and keys kept when 4 processes create 10 each at once
  (40 if none is lost).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import time
from pathlib import Path


def prepare(rows: int, work: Path) -> Path:
    """A demo clearance CSV of `rows` rows (made once per work folder)."""
    import pandas as pd

    from riskscore.synth import generate

    csv = work / f"clearance-{rows}.csv"
    if not csv.exists():
        made = generate(work / "synth", declarations=rows, seed=5)
        pd.read_parquet(made.clearance_path).head(rows).to_csv(csv, index=False)
    return csv


def _ingest(csv: str, store: str) -> None:
    from riskscore.features.ingest import ingest

    ingest("clearance", Path(csv), Path(store))


def timed_ingest(csv: Path, store: Path) -> dict[str, float]:
    shutil.rmtree(store, ignore_errors=True)
    started = time.perf_counter()
    _ingest(str(csv), str(store))
    first = time.perf_counter() - started
    started = time.perf_counter()
    _ingest(str(csv), str(store))
    return {"ingest_s": first, "reingest_s": time.perf_counter() - started}


def concurrent_ingest(csv: Path, store: Path, attempts: int = 3) -> dict[str, float]:
    """Two processes ingest the same file at once, `attempts` times: the slowest wall time and
    the most rows stored twice (the race needs both to check the store before either writes,
    so without a lock it shows in some attempts, not all)."""
    from riskscore.features.store import Store

    context = multiprocessing.get_context("spawn")
    seconds, doubled = [], []
    for _ in range(attempts):
        shutil.rmtree(store, ignore_errors=True)
        workers = [context.Process(target=_ingest, args=(str(csv), str(store))) for _ in range(2)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds.append(time.perf_counter() - started)
        ids = Store(store).read("clearance", columns=["id"])["id"]
        doubled.append(float(ids.duplicated().sum()))
    return {"two_ingests_at_once_s": max(seconds), "rows_stored_twice_max": max(doubled)}


def outcome_writes(work: Path, batches: int = 100) -> dict[str, float]:
    from riskscore.features.outcomes import Outcome, OutcomeStore

    path = work / "outcomes.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = OutcomeStore(path)
    times = []
    for b in range(batches):
        outcomes = [Outcome(f"D{b}-{i}", "GB", i % 2, None, "2026-01-02") for i in range(10)]
        started = time.perf_counter()
        store.add(outcomes)
        times.append(time.perf_counter() - started)
    store.close()
    return {"outcomes_write_10_ms": statistics.median(times) * 1000}


def _create_keys(path: str, n: int) -> None:
    from riskscore.serving.keys import KeyStore

    keys = KeyStore(Path(path))
    for _ in range(n):
        keys.create("GB")


def key_writes(work: Path) -> dict[str, float]:
    from riskscore.serving.keys import KeyStore

    path = work / "keys" / "api-keys.json"
    shutil.rmtree(path.parent, ignore_errors=True)
    started = time.perf_counter()
    _create_keys(str(path), 20)
    one = (time.perf_counter() - started) / 20
    shutil.rmtree(path.parent, ignore_errors=True)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_create_keys, args=(str(path), 10)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    kept = len(KeyStore(path).list())
    return {"key_create_ms": one * 1000, "keys_kept_of_40": float(kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/riskscore-rel"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    csv = prepare(args.rows, args.work)
    figures = timed_ingest(csv, args.work / "store")
    figures |= concurrent_ingest(csv, args.work / "store")
    figures |= outcome_writes(args.work)
    figures |= key_writes(args.work)
    for name, value in figures.items():
        print(f"{name:<28}{value:>12,.3f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
