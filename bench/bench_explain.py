"""Exact SHAP speed: the table kernel against LightGBM's pred_contrib, per model shape, on KCS.

    .venv/bin/python bench/bench_explain.py [--data ../shared/data/kcs] [--rows 300]

Ingests the KCS files into a temporary store, trains one model per shape of the default search
(TrainConfig.shapes, without the search: each shape fixed), and for each prints its precision on
the validation window, trees, table memory and build time, and the time to explain one
declaration (median of --rows single-row calls, one thread) and a batch of 2,000, with the
kernel and with `pred_contrib` side by side, after checking they agree within 1e-9. The last
line is a JSON dict of figures (for bench/ab.py).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.dataset import load_history
from riskscore.features.ingest import ingest
from riskscore.features.store import Store
from riskscore.models.treeshap import build_explainer
from riskscore.training.benchmark import kcs_mapping
from riskscore.training.config import TrainConfig
from riskscore.training.train import train

ROOT = Path(__file__).resolve().parents[1]


def single_row_ms(explain, x: np.ndarray, rows: int) -> float:  # noqa: ANN001
    for i in range(5):
        explain(x[i : i + 1])
    times = []
    for i in range(min(rows, len(x))):
        started = time.perf_counter()
        explain(x[i : i + 1])
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1e3


def batch_ms_per_row(explain, x: np.ndarray) -> float:  # noqa: ANN001
    started = time.perf_counter()
    explain(x)
    return (time.perf_counter() - started) / len(x) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kcs")
    parser.add_argument("--rows", type=int, default=300)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        store = Path(tmp) / "store"
        reports = [
            ingest("declarations", args.data / f"{n}.csv", store, kcs_mapping())
            for n in ("train", "valid")
        ]
        until = pd.Timestamp(reports[1].date_min)
        days = (pd.Timestamp(reports[1].date_max) - until).days + 1
        history = load_history(Store(store))
        valid = history.declarations[history.declarations["date"] >= until]
        base = TrainConfig(until=until, valid_days=days, shape_search=False)
        print(
            f"{'shape':<34} {'trees':>5} {'p@5%':>6} {'p@10%':>6} {'MiB':>6} {'build s':>7} "
            f"{'1 row ms':>8} {'pred_contrib':>12} {'x':>5} {'2000 rows ms/row':>17} {'pc':>6}"
        )
        for shape in TrainConfig().shapes:
            config = replace(
                base,
                num_leaves=shape.num_leaves,
                max_depth=shape.max_depth,
                learning_rate=shape.learning_rate,
                min_child_samples=shape.min_child_samples,
            )
            result = train(history, config)
            booster = result.model.booster
            model = result.model
            x = model.matrix(model.features(valid))
            explainer = build_explainer(booster, 2**30)
            expected = booster.predict(x[:2000], pred_contrib=True)
            assert np.abs(explainer.contributions(x[:2000]) - expected).max() < 1e-9

            def contrib(rows: np.ndarray, b=booster) -> np.ndarray:  # noqa: ANN001
                return b.predict(rows, pred_contrib=True, num_threads=1)

            tables_ms = single_row_ms(explainer.contributions, x, args.rows)
            contrib_ms = single_row_ms(contrib, x, args.rows)
            batch = batch_ms_per_row(explainer.contributions, x[:2000])
            batch_pc = batch_ms_per_row(
                lambda rows, b=booster: b.predict(rows, pred_contrib=True), x[:2000]
            )
            m = result.metrics
            label = shape.label()
            print(
                f"{label:<34} {booster.num_trees():>5} {m['precision_at_5pct']:>6.3f} "
                f"{m['precision_at_10pct']:>6.3f} {explainer.info.table_bytes / 2**20:>6.1f} "
                f"{explainer.info.build_seconds:>7.2f} {tables_ms:>8.3f} {contrib_ms:>12.3f} "
                f"{contrib_ms / tables_ms:>5.1f} {batch:>17.3f} {batch_pc:>6.3f}",
                flush=True,
            )
            key = f"{shape.num_leaves}L_d{shape.max_depth}_lr{shape.learning_rate:g}"
            figures[f"{key}.tables_ms"] = round(tables_ms, 4)
            figures[f"{key}.pred_contrib_ms"] = round(contrib_ms, 4)
            figures[f"{key}.precision_at_5pct"] = round(m["precision_at_5pct"], 4)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
