"""`generate`: the demo data set written into one folder, chunk by chunk.

Shipments are appended to the parquet files one chunk at a time; only the illicit shipments are
kept between chunks, since they are what the seizures are made of.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from riskscore.synth.chunks import make_chunk
from riskscore.synth.draws import seeded
from riskscore.synth.schemas import CLEARANCE_SCHEMA, DECLARATIONS_SCHEMA, TRUTH_SCHEMA
from riskscore.synth.seizures import make_seizures
from riskscore.synth.summary import SynthSummary
from riskscore.synth.traders import World
from riskscore.synth.workbook import write_seizures

CHUNK_ROWS = 200_000
SHIPMENTS = 20_000  # default size of a demo data set
SEED = 7


def generate(
    out_dir: Path,
    declarations: int = SHIPMENTS,
    seed: int = SEED,
    progress: Callable[[int], None] | None = None,
    *,
    truth: bool = False,
) -> SynthSummary:
    """Write clearance.parquet, declarations.parquet, seizures.xlsx and seizures.csv into out_dir.

    `declarations` is the number of shipments (clearance records); about 35 % of them were
    inspected and appear, labelled, in declarations.parquet. `progress(n)` receives the number of
    shipments generated so far after each chunk. With `truth=True` a truth.parquet (id, true
    probability, inspected, illicit, pattern) is written too, for checking what a model recovers.
    """
    if declarations < 1:
        raise ValueError(f"declarations must be at least 1, got {declarations}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "clearance": out_dir / "clearance.parquet",
        "declarations": out_dir / "declarations.parquet",
        "xlsx": out_dir / "seizures.xlsx",
        "csv": out_dir / "seizures.csv",
        "truth": out_dir / "truth.parquet",
    }
    world = World.build(declarations, seed)
    pool, n_decl, n_illicit = _write_shipments(world, seed, paths, progress, truth)
    seizures = make_seizures(world, pool, seeded(seed, 2))
    bad = write_seizures(seizures, paths["xlsx"], paths["csv"], seeded(seed, 3))
    good = ~bad
    linked = good & (seizures["x_linked_clearance_id"] != "").to_numpy()
    with_doc = (seizures["transport_document"] != "").to_numpy()
    return SynthSummary(
        out_dir=out_dir,
        clearance_path=paths["clearance"],
        declarations_path=paths["declarations"],
        seizures_xlsx_path=paths["xlsx"],
        seizures_csv_path=paths["csv"],
        clearance_rows=declarations,
        declarations_rows=n_decl,
        illicit_declarations=n_illicit,
        seizures=int(good.sum()),
        linked_seizures=int(linked.sum()),
        linked_by_document=int((linked & with_doc).sum()),
        regional_seizures=int((good & ~linked).sum()),
        bad_seizure_rows=int(bad.sum()),
        seed=seed,
        truth_path=paths["truth"] if truth else None,
    )


def _write_shipments(
    world: World,
    seed: int,
    paths: dict[str, Path],
    progress: Callable[[int], None] | None,
    truth: bool,
) -> tuple[pd.DataFrame, int, int]:
    """Write the parquet files chunk by chunk.

    Returns the pool of illicit shipments, the number of declarations and of illicit ones.
    """
    writers = {
        "clearance": pq.ParquetWriter(paths["clearance"], CLEARANCE_SCHEMA, compression="zstd"),
        "declarations": pq.ParquetWriter(
            paths["declarations"], DECLARATIONS_SCHEMA, compression="zstd"
        ),
    }
    if truth:
        writers["truth"] = pq.ParquetWriter(paths["truth"], TRUTH_SCHEMA, compression="zstd")
    pools: list[pa.Table] = []
    n_decl = n_illicit = 0
    try:
        for k, start in enumerate(range(0, world.n, CHUNK_ROWS)):
            n = min(CHUNK_ROWS, world.n - start)
            chunk = make_chunk(world, seeded(seed, 0, k), start, n)
            writers["clearance"].write_table(chunk.clearance)
            writers["declarations"].write_table(chunk.declarations)
            if truth:
                writers["truth"].write_table(chunk.truth)
            pools.append(chunk.pool)
            n_decl += chunk.declarations.num_rows
            n_illicit += int(pc.sum(chunk.declarations["illicit"]).as_py() or 0)
            if progress is not None:
                progress(start + n)
    finally:
        for w in writers.values():
            w.close()
    return pa.concat_tables(pools).to_pandas(), n_decl, n_illicit
