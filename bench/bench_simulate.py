"""Benchmark: `riskscore simulate` over a year of 100k demo shipments, policies side by side.

    .venv/bin/python bench/bench_simulate.py [--declarations 100000] [--weeks 52]
        [--retrain-every 4] [--cache /tmp/bench-simulate] [--out DIR] [--no-refresh-too]

Generates the demo store with truth.parquet once into --cache (reused when there), then runs
`training.simulate.simulate` (what the CLI calls) with the default policies (exploit,
hybrid:0.1, random, explore:0.1) and writes summary.json and simulation.html into --out.
Prints, per policy, the wall time and where it went (feature-state refreshes, retraining), the
totals, and the ratios of precision, recall and revenue against exploit; then a Markdown
table and the figures as the last JSON line. `--no-refresh-too` runs exploit once more with
`refresh=False`, for what the weekly refresh costs and buys.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from riskscore.features.ingest import ingest
from riskscore.reports.simulation import ratios, write_page
from riskscore.synth import generate
from riskscore.training.simulate import SimulationConfig, simulate


def prepare(cache: Path, declarations: int, seed: int) -> tuple[Path, Path]:
    """(store, truth.parquet) under `cache`, made once."""
    root = cache / f"demo-{declarations}-{seed}"
    store, truth = root / "store", root / "data" / "truth.parquet"
    if truth.exists() and (store / "clearance").is_dir():
        return store, truth
    data = generate(root / "data", declarations=declarations, seed=seed, truth=True)
    for kind, path in (
        ("seizures", data.seizures_csv_path),
        ("clearance", data.clearance_path),
        ("declarations", data.declarations_path),
    ):
        ingest(kind, path, store)
    return store, truth


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _progress(step: str, done: int, total: int) -> None:
    if not total or done % 13 == 0:
        print(f"  {step} {done}/{total}", file=sys.stderr, flush=True)


def _spent(run: dict) -> dict[str, float]:
    weeks = run["weeks"]
    return {
        "seconds": run["seconds"],
        "refresh": round(sum(w["refresh_seconds"] for w in weeks), 1),
        "retrain": round(sum(w["train_seconds"] for w in weeks), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--retrain-every", type=int, default=4)
    parser.add_argument("--capacity", type=float, default=0.05)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-simulate"
    )
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench-sim-out")
    parser.add_argument("--no-refresh-too", action="store_true")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} cores, {_cpu()}")
    store, truth = prepare(args.cache, args.declarations, args.seed)
    config = SimulationConfig(
        capacity=args.capacity,
        weeks=args.weeks,
        retrain_every=args.retrain_every,
        truth=truth,
        seed=args.seed,
    )
    started = time.perf_counter()
    summary = simulate(store, config, progress=_progress).to_dict()
    wall = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    write_page(summary, args.out / "simulation.html")

    against = ratios(summary)
    print(
        f"\n{summary['weeks']} weeks {summary['from']} to {summary['to']}, capacity "
        f"{summary['capacity']}, retrain every {summary['retrain_every']}, "
        f"{summary['universe']} universe; initial model {summary['initial_model']['seconds']} s "
        f"({summary['initial_model']['shape']}); total {wall:.0f} s"
    )
    print(
        "\n| policy | seconds | refresh s | retrain s | precision | recall | revenue "
        "| precision vs exploit | recall vs exploit | revenue vs exploit | model top-k precision |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    figures: dict = {"date": str(dt.date.today()), "wall_seconds": round(wall, 1), "policies": {}}
    for name, run in summary["policies"].items():
        total, spent, vs = run["total"], _spent(run), against.get(name, {})
        print(
            f"| {name} | {spent['seconds']:.0f} | {spent['refresh']:.0f} | {spent['retrain']:.0f} "
            f"| {total['precision']:.3f} | {total['recall']:.3f} | {total['revenue']:,.0f} | "
            + " | ".join(
                f"{vs[k]:.2f}x" if vs.get(k) is not None else "-"
                for k in ("precision", "recall", "revenue")
            )
            + f" | {total['model_precision']:.3f} |"
        )
        figures["policies"][name] = {**spent, **total, "vs_exploit": vs}

    if args.no_refresh_too:
        stale = replace(config, policies=("exploit",), refresh=False)
        run = simulate(store, stale, progress=_progress).to_dict()["policies"]["exploit"]
        total = run["total"]
        print(
            f"\nexploit without the weekly refresh: {run['seconds']:.0f} s, precision "
            f"{total['precision']:.3f}, recall {total['recall']:.3f}, revenue "
            f"{total['revenue']:,.0f}, model top-k precision {total['model_precision']:.3f}"
        )
        figures["exploit_no_refresh"] = {**_spent(run), **total}
    print(f"\nwrote {args.out / 'summary.json'} and {args.out / 'simulation.html'}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
