"""Benchmark: `riskscore refresh` against `riskscore train` on the same store (1M shipments).

    .venv/bin/python bench/bench_refresh.py [--declarations 1000000] [--cache /tmp/bench-train]

Reuses bench_training's demo store (made once into --cache), copies it, trains and registers a
model into a fresh embedded MLflow store, then times four refreshes: the first (in full: nothing
published yet), one after ingesting 40 seizures of a heading x origin that had none (the
live-intelligence case: folded in), one with nothing new, and one forced in full (`--full`).
The baseline is the training run; the budget (issue 12) is refresh <= 1/3 of train. Prints the
stages of each refresh, a Markdown table for bench/RESULTS.md, and the figures as the last JSON
line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_training import _cpu_model, _peak_rss_mb, prepare  # noqa: E402

from riskscore.features.ingest import ingest  # noqa: E402
from riskscore.models import registry  # noqa: E402
from riskscore.models.batch import score_frame  # noqa: E402
from riskscore.settings import Settings  # noqa: E402
from riskscore.synth.intelligence import cell_seizures, quiet_cell  # noqa: E402
from riskscore.training.job import run_training  # noqa: E402
from riskscore.training.refresh import refresh  # noqa: E402

BUDGET_SHARE = 1 / 3
SEIZURES = 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-train")
    args = parser.parse_args()

    source = prepare(args.cache, args.declarations, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = root / "store"
        shutil.copytree(source, store)
        settings = Settings(
            store_dir=store, mlruns_dir=root / "mlruns", state_dir=root / "var", _env_file=None
        )
        started = time.perf_counter()
        run_training(store, settings)
        train_seconds = time.perf_counter() - started
        print(f"train: {train_seconds:.1f} s")

        first = refresh(store, settings)
        print(f"refresh, first: {first.seconds}")
        rows = quiet_cell(store, days=30)
        cell_seizures(rows, root / "new.csv", SEIZURES)
        before = registry.load_model("models:/customs-risk@champion", published_state=True)
        score_before = score_frame(before, rows.reset_index(drop=True))["score"].mean()
        started = time.perf_counter()
        ingest("seizures", root / "new.csv", store)
        ingest_seconds = time.perf_counter() - started
        fresh = refresh(store, settings)
        print(f"refresh, 40 new seizures ({fresh.mode}): {fresh.seconds}")
        nothing = refresh(store, settings)
        full = refresh(store, settings, full=True)
        print(f"refresh --full: {full.seconds}")
        after = registry.load_model("models:/customs-risk@champion", published_state=True)
        score_after = score_frame(after, rows.reset_index(drop=True))["score"].mean()

    figures = {
        "declarations": args.declarations,
        "train_seconds": round(train_seconds, 1),
        "refresh_seconds": fresh.seconds["total"],
        "refresh_mode": fresh.mode,
        "refresh_first_seconds": first.seconds["total"],
        "refresh_nothing_new_seconds": nothing.seconds["total"],
        "refresh_full_seconds": full.seconds["total"],
        "refresh_over_train": round(fresh.seconds["total"] / train_seconds, 3),
        "budget_share": round(BUDGET_SHARE, 3),
        "ingest_40_seizures_seconds": round(ingest_seconds, 2),
        "cell_rows": len(rows),
        "cell_score_before": round(float(score_before), 4),
        "cell_score_after": round(float(score_after), 4),
        "stages": fresh.seconds,
        "peak_rss_mb": round(_peak_rss_mb()),
    }
    print(f"\n### {dt.date.today()}: refresh vs train, {args.declarations:,} demo shipments")
    print(f"{_cpu_model()}, {platform.python_version()}\n")
    print("| step | seconds | vs train |\n|---|---|---|")
    print(f"| train (baseline) | {train_seconds:.1f} | 1.00 |")
    rows_out = (
        ("first refresh (full, nothing published yet)", first.seconds["total"]),
        (f"refresh after 40 new seizures ({fresh.mode})", fresh.seconds["total"]),
        ("refresh with nothing new (unchanged)", nothing.seconds["total"]),
        ("refresh --full", full.seconds["total"]),
    )
    for name, value in rows_out:
        print(f"| {name} | {value:.1f} | {value / train_seconds:.2f} |")
    print(
        f"\nstages: {fresh.seconds}; the new cell ({len(rows)} declarations in 30 days) scored "
        f"{score_before:.4f} before and {score_after:.4f} after the refresh"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
