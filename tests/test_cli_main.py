"""The user's first steps: the README's main job and the feature verbs, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

RISKSCORE = Path(sys.executable).parent / "riskscore"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment: only the defaults, relative to `cwd`, as on a fresh checkout.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RISKSCORE_", "MLFLOW_")) and k not in ("COLUMNS", "LINES")
    }
    env["COLUMNS"] = "400"
    return subprocess.run(
        [str(RISKSCORE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_main_job_builds_everything_then_reuses_it(tmp_path):
    first = cli("run", "--no-serve", "--declarations", "4000", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert "registered customs-risk v1 as champion" in first.stderr
    assert "clearance: 4000 rows, 4000 new" in first.stderr
    key = (tmp_path / "var" / "demo-api-key").read_text().strip()
    assert key.startswith("rsk_") and f"X-API-Key: {key}" in first.stdout
    assert (tmp_path / "var" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "mlruns" / "mlflow.db").exists()

    second = cli("run", "--no-serve", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "clearance: 4000 rows, 0 new, 4000 already stored" in second.stderr
    assert "customs-risk v1 is already champion" in second.stderr
    assert (tmp_path / "var" / "demo-api-key").read_text().strip() == key


def test_synth_and_feature_verbs(tmp_path):
    synth = cli("synth", "--out", "data", "--declarations", "2000", "--seed", "3", cwd=tmp_path)
    assert synth.returncode == 0, synth.stderr
    summary = json.loads(synth.stdout)
    assert summary["clearance_rows"] == 2000
    for kind, name in (("clearance", "clearance.parquet"), ("seizures", "seizures.csv")):
        done = cli("ingest", kind, f"data/{name}", "--store", "store", cwd=tmp_path)
        assert done.returncode == 0, done.stderr

    listed = cli("features", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = [f["name"] for f in json.loads(listed.stdout)]
    assert {"seizure_lift_hs4_origin", "value_vs_reference", "importer_hit_rate"} <= set(names)

    built = cli("features", "build", "--store", "store", "--out", "features.parquet", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    table = pd.read_parquet(tmp_path / "features.parquet")
    assert len(table) == 2000 and set(names) <= set(table.columns)
    assert json.loads(built.stdout)["rows"] == 2000

    missing = cli("features", "build", "--store", "nowhere", "--out", "f.parquet", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: nowhere: no such store")
