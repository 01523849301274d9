"""Ingestion and feature-build benchmark: 1M clearance rows and ~100k seizures.

    .venv/bin/python bench/bench_features.py [--rows 1000000] [--work /tmp/riskscore-bench]

Each step runs in a fresh process so its peak memory is its own. Prints, side by side:
- ingest of the clearance CSV against a baseline that only reads the same CSV with pyarrow
  (what validation and normalisation cost on top of reading);
- one point-in-time statistic (importer declarations strictly before each row) computed with the
  pipeline's pandas merge_asof against DuckDB's ASOF JOIN (the engine decision of issue 3);
- the whole feature build (every registry feature, point in time) against the DESIGN budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

BUDGET_FEATURES_S = 60.0
BUDGET_MEMORY_GB = 4.0


def _child(step: str, work: Path) -> dict:
    """Run one step in this script as a child process; returns its JSON line."""
    done = subprocess.run(
        [sys.executable, __file__, "--step", step, "--work", str(work)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peak_gb() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _timed(fn) -> tuple[float, object]:  # noqa: ANN001
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def step(name: str, work: Path) -> dict:
    data, store = work / "data", work / "store"
    if name == "read_csv_baseline":
        import pyarrow.csv as pacsv

        seconds, table = _timed(lambda: pacsv.read_csv(data / "clearance.csv"))
        return {"seconds": seconds, "rows": table.num_rows, "peak_gb": _peak_gb()}
    if name == "ingest_clearance":
        from riskscore.features.ingest import ingest

        seconds, report = _timed(lambda: ingest("clearance", data / "clearance.csv", store))
        return {
            "seconds": seconds,
            "rows": report.rows_in,
            "quarantined": report.rows_quarantined,
            "peak_gb": _peak_gb(),
        }
    if name == "ingest_rest":
        from riskscore.features.ingest import ingest

        ingest("declarations", data / "declarations.parquet", store)
        seconds, report = _timed(lambda: ingest("seizures", data / "seizures.csv", store))
        return {"seconds": seconds, "rows": report.rows_in, "peak_gb": _peak_gb()}
    if name in ("asof_pandas", "asof_duckdb"):
        import numpy as np
        import pandas as pd

        from riskscore.features.store import Store

        frame = Store(store).read("clearance", columns=["importer_id", "date"])
        if name == "asof_pandas":
            from riskscore.features import pit

            days = pit.days(frame["date"])
            keys = frame["importer_id"]
            seconds, out = _timed(
                lambda: pit.asof_sums(keys, days, {"n": np.ones(len(frame))}, keys, days)["n"]
            )
            total = float(out.sum())
        else:
            import duckdb

            frame["pos"] = np.arange(len(frame))

            def run() -> pd.DataFrame:
                con = duckdb.connect()
                con.register("rows", frame)
                return con.execute(
                    """
                    WITH daily AS (
                        SELECT importer_id, date, count(*) AS n FROM rows GROUP BY ALL),
                    cum AS (
                        SELECT importer_id, date,
                               sum(n) OVER (PARTITION BY importer_id ORDER BY date) AS n
                        FROM daily)
                    SELECT r.pos, coalesce(c.n, 0) AS n
                    FROM rows r ASOF LEFT JOIN cum c
                      ON r.importer_id = c.importer_id AND r.date > c.date
                    """
                ).df()

            seconds, out = _timed(run)
            total = float(out["n"].sum())
        return {"seconds": seconds, "check_sum": total, "peak_gb": _peak_gb()}
    if name == "feature_build":
        from riskscore.features.dataset import build_feature_table

        seconds, summary = _timed(lambda: build_feature_table(store, work / "features.parquet"))
        return {
            "seconds": seconds,
            "rows": summary["rows"],
            "seizures": summary["labels"].get("seizures_total"),
            "peak_gb": _peak_gb(),
        }
    raise SystemExit(f"unknown step {name}")


def prepare(rows: int, work: Path) -> None:
    """Demo data at the requested scale, with the clearance records as CSV."""
    import pandas as pd

    from riskscore.synth import generate

    data = work / "data"
    if (data / "clearance.csv").exists():
        return
    # ~4 seizures per 100 shipments: 2.5M shipments give the ~100k seizures of the budget.
    big = generate(work / "synth", declarations=max(rows, int(rows * 2.5)), seed=3)
    data.mkdir(parents=True, exist_ok=True)
    clearance = pd.read_parquet(big.clearance_path).head(rows)
    clearance.to_csv(data / "clearance.csv", index=False)
    declarations = pd.read_parquet(big.declarations_path)
    declarations[declarations["id"].isin(clearance["id"])].to_parquet(data / "declarations.parquet")
    os.replace(big.seizures_csv_path, data / "seizures.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/riskscore-bench"))
    parser.add_argument("--step")
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.work)))
        return
    prepare(args.rows, args.work)
    store = args.work / "store"
    if store.exists():
        import shutil

        shutil.rmtree(store)
    results = {
        name: _child(name, args.work)
        for name in (
            "read_csv_baseline",
            "ingest_clearance",
            "ingest_rest",
            "asof_pandas",
            "asof_duckdb",
            "feature_build",
        )
    }
    base, ingest = results["read_csv_baseline"], results["ingest_clearance"]
    pandas_asof, duck_asof = results["asof_pandas"], results["asof_duckdb"]
    build = results["feature_build"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'step':<34}{'seconds':>9}{'peak GB':>9}  note")
    print(f"{'read clearance CSV (baseline)':<34}{base['seconds']:>9.2f}{base['peak_gb']:>9.2f}")
    print(
        f"{'ingest clearance':<34}{ingest['seconds']:>9.2f}{ingest['peak_gb']:>9.2f}  "
        f"{ingest['rows']:,} rows, {ingest['seconds'] / base['seconds']:.1f}x the bare read"
    )
    print(
        f"{'as-of statistic, pandas':<34}{pandas_asof['seconds']:>9.2f}"
        f"{pandas_asof['peak_gb']:>9.2f}  sum {pandas_asof['check_sum']:,.0f}"
    )
    print(
        f"{'as-of statistic, DuckDB':<34}{duck_asof['seconds']:>9.2f}{duck_asof['peak_gb']:>9.2f}"
        f"  sum {duck_asof['check_sum']:,.0f}; pandas/DuckDB "
        f"{pandas_asof['seconds'] / duck_asof['seconds']:.2f}"
    )
    print(
        f"{'feature build':<34}{build['seconds']:>9.2f}{build['peak_gb']:>9.2f}  "
        f"{build['rows']:,} declarations + {build['seizures']:,} seizures; budget "
        f"{BUDGET_FEATURES_S:.0f} s / {BUDGET_MEMORY_GB:.0f} GB -> "
        f"{build['seconds'] / BUDGET_FEATURES_S:.2f} / {build['peak_gb'] / BUDGET_MEMORY_GB:.2f}"
    )


if __name__ == "__main__":
    main()
