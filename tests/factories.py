"""Small random histories in stored contract form, for feature tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HS = ["10063000", "24022000", "85171300", "61101100", "84713000", "30049000", "95030000"]
WORDS = {
    "1006": "milled rice",
    "2402": "cigarettes containing tobacco",
    "8517": "mobile phones",
    "6110": "knitted jerseys",
    "8471": "laptop computers",
    "3004": "medicaments packaged",
    "9503": "plastic toys",
}
COUNTRIES = ["CN", "EC", "CO", "AE", "SG", "DE", "VN", "TR"]
MODES = ["sea", "air", "road", "postal", "courier"]


def declarations(n: int = 600, seed: int = 0, start: str = "2024-01-01") -> pd.DataFrame:
    """Labelled declarations with repeat traders, over about a year."""
    rng = np.random.default_rng(seed)
    hs = rng.choice(HS, n)
    origin = rng.choice(COUNTRIES, n)
    departure = np.where(rng.random(n) < 0.3, rng.choice(COUNTRIES, n), origin)
    weight = rng.lognormal(6, 1.5, n)
    frame = pd.DataFrame(
        {
            "id": [f"D{i:06d}" for i in range(n)],
            "date": pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 360, n), unit="D"),
            "reporting_country": "GB",
            "hs_code": hs,
            "goods_description": [
                WORDS[h[:4]] if rng.random() > 0.1 else "ceramic tiles" for h in hs
            ],
            "origin_country": origin,
            "departure_country": departure,
            "transit_countries": np.where(rng.random(n) < 0.2, "SG;AE", ""),
            "transport_mode": rng.choice(MODES, n),
            "importer_id": [f"IMP{k}" for k in rng.zipf(1.6, n) % 80],
            "exporter_id": [f"EXP{k}" for k in rng.zipf(1.6, n) % 60],
            "declarant_id": [f"DEC{k}" for k in rng.integers(0, 12, n)],
            "gross_weight_kg": weight,
            "declared_value": weight * rng.lognormal(2, 0.8, n),
            "label": (rng.random(n) < 0.12).astype("int8"),
        }
    )
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("string")
    return frame.sort_values(["date", "id"]).reset_index(drop=True)


def seizures(n: int = 120, seed: int = 1, start: str = "2023-10-01") -> pd.DataFrame:
    """Seizures over the same cells."""
    rng = np.random.default_rng(seed)
    origin = rng.choice(COUNTRIES, n)
    frame = pd.DataFrame(
        {
            "id": [f"S{i:05d}" for i in range(n)],
            "date": pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 450, n), unit="D"),
            "reporting_country": rng.choice(["GB", "FR", "NL"], n),
            "hs_code": rng.choice(HS, n),
            "origin_country": origin,
            "departure_country": origin,
            "transport_mode": rng.choice(MODES, n),
        }
    )
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("string")
    return frame.sort_values("date").reset_index(drop=True)


def demo_store(root: Path, declarations: int, seed: int, workbook: bool = False) -> tuple:
    """Demo data generated under `root/data` and ingested into `root/store`.

    Returns (the generator's summary, the store path). `workbook` ingests the messy CEN-style
    seizure workbook instead of the clean CSV.
    """
    from riskscore.features.ingest import ingest
    from riskscore.synth import generate

    data = generate(root / "data", declarations=declarations, seed=seed)
    store = root / "store"
    seizures = data.seizures_xlsx_path if workbook else data.seizures_csv_path
    for kind, path in (
        ("seizures", seizures),
        ("clearance", data.clearance_path),
        ("declarations", data.declarations_path),
    ):
        ingest(kind, path, store)
    return data, store


DEMO_FILES = (
    ("seizures", "seizures.csv"),
    ("clearance", "clearance.parquet"),
    ("declarations", "declarations.parquet"),
)


def ingest_demo(folder: Path, store: Path) -> None:
    """Ingest the demo files in `folder` (as `generate` writes them) into `store`."""
    from riskscore.features.ingest import ingest

    for kind, name in DEMO_FILES:
        ingest(kind, folder / name, store)


def demo_cut(root: Path, declarations: int, cut: str, seed: int = 7) -> tuple[Path, Path]:
    """Demo files in `root/full`, and the same files with only the records before `cut` in
    `root/early` (what a champion trained a while ago knew). Returns (full, early)."""
    from riskscore.synth import generate

    full, early = root / "full", root / "early"
    generate(full, declarations=declarations, seed=seed)
    early.mkdir()
    for name in ("clearance.parquet", "declarations.parquet"):
        frame = pd.read_parquet(full / name)
        frame[frame["date"] < cut].to_parquet(early / name, index=False)
    seizures = pd.read_csv(full / "seizures.csv", dtype=str, keep_default_na=False)
    seizures[seizures["date"] < cut].to_csv(early / "seizures.csv", index=False)
    return full, early
