"""`riskscore score`: a file of declarations in, id / score / channel / top reasons out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import demo_store

from riskscore.features.registry import Criterion
from riskscore.models import registry
from riskscore.models.reasons import top_reasons
from riskscore.settings import Settings
from riskscore.training.config import TrainConfig
from riskscore.training.job import run_training

N_ROWS = 400
BAD_ROW = 7  # position in the csv body: the file's line 9 (header is line 1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("score")
    summary, store = demo_store(root, declarations=5_000, seed=5)
    mlruns = root / "mlruns"
    run_training(store, Settings(mlruns_dir=mlruns), TrainConfig(valid_days=120))
    recent = pd.read_parquet(summary.clearance_path).tail(N_ROWS).reset_index(drop=True)
    return {"root": root, "mlruns": mlruns, "recent": recent}


@pytest.fixture
def env(trained, monkeypatch) -> dict:
    for name in ("MLFLOW_TRACKING_URI", "RISKSCORE_TRACKING_URI", "RISKSCORE_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RISKSCORE_MLRUNS_DIR", str(trained["mlruns"]))
    return trained


def test_a_csv_is_scored_and_its_bad_row_quarantined(env, tmp_path, invoke):
    frame = env["recent"].copy()
    frame.loc[BAD_ROW, "hs_code"] = "9999"  # no such HS chapter
    frame.to_csv(tmp_path / "in.csv", index=False)

    result = invoke("score", "--input", "in.csv", "--out", "scored.csv")
    assert result.exit_code == 0, result.output
    assert f"scored {N_ROWS - 1} of {N_ROWS} rows" in result.stdout

    scored = pd.read_csv(tmp_path / "scored.csv", dtype={"id": str})
    assert list(scored["id"]) == [i for k, i in enumerate(frame["id"]) if k != BAD_ROW]
    assert scored["score"].between(0, 1).all()
    assert list(scored.columns[:4]) == ["id", "score", "raw_score", "channel"]
    # The calibrated score ranks as the raw score does (no plateaus, issue 11).
    by_raw = scored.sort_values("raw_score")
    assert by_raw["score"].is_monotonic_increasing
    distinct = by_raw.drop_duplicates("raw_score")
    assert distinct["score"].nunique() >= 0.9 * len(distinct)
    assert set(scored["channel"]) <= {"red", "yellow", "green", "random"}
    assert (scored["channel"] == "red").any()

    quarantine = pd.read_csv(tmp_path / "scored.quarantine.csv", dtype=str)
    assert len(quarantine) == 1
    assert quarantine.loc[0, "source_row"] == str(BAD_ROW + 2)
    assert "hs_code" in quarantine.loc[0, "reasons"]

    # Flagged rows carry reasons, largest contribution first, with a sentence; green rows none.
    flagged = scored[scored["channel"].isin(["red", "yellow"])]
    assert flagged["reason_1_feature"].notna().all()
    assert flagged["reason_1_sentence"].str.len().gt(10).all()
    assert set(flagged["reason_1_criterion"]) <= {c.value for c in Criterion}
    first, second = flagged["reason_1_contribution"].abs(), flagged["reason_2_contribution"].abs()
    assert (first >= second.fillna(0)).all()
    assert scored.loc[scored["channel"] == "green", "reason_1_feature"].isna().all()


def test_scores_and_reasons_are_the_models_own(env, tmp_path, invoke):
    env["recent"].to_parquet(tmp_path / "in.parquet", index=False)
    result = invoke("score", "--input", "in.parquet", "--out", "out.parquet")
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert not (tmp_path / "out.quarantine.csv").exists()

    registry.configure(Settings(mlruns_dir=env["mlruns"]))
    model = registry.load_model("models:/customs-risk@champion")
    declarations = env["recent"].assign(date=pd.to_datetime(env["recent"]["date"]))
    direct = model.score(declarations, explain="all")
    assert scored["score"].to_numpy() == pytest.approx(direct.score, abs=1e-6)
    assert scored["raw_score"].to_numpy() == pytest.approx(direct.raw, abs=1e-6)
    # the first reason of the first red row is that row's largest SHAP contribution by size
    row = int(scored.index[scored["channel"] == "red"][0])
    contributions = direct.contributions[row, :-1]
    top = int(np.abs(contributions).argmax())
    assert scored.loc[row, "reason_1_feature"] == model.feature_names[top]
    assert scored.loc[row, "reason_1_contribution"] == pytest.approx(contributions[top], abs=1e-4)
    # the same reasons, in the same order, as the scoring service gives
    record = {c: declarations[c].tolist()[row] for c in declarations.columns}
    values = {name: column[row] for name, column in direct.features.items()}
    reasons = top_reasons(
        direct.contributions[row], model.registry, model.feature_names, record, values, 3
    )
    assert [r.feature for r in reasons] == [
        scored.loc[row, f"reason_{i}_feature"] for i in (1, 2, 3)
    ]
    assert [r.sentence for r in reasons] == [
        scored.loc[row, f"reason_{i}_sentence"] for i in (1, 2, 3)
    ]


def test_a_mapped_member_export_is_scored(env, tmp_path, invoke):
    renamed = env["recent"].head(50).rename(columns={"hs_code": "HS Code (8 digits)"})
    renamed.to_csv(tmp_path / "member.csv", index=False)
    (tmp_path / "member.yaml").write_text("columns:\n  HS Code (8 digits): hs_code\n")
    result = invoke(
        "score", "--input", "member.csv", "--mapping", "member.yaml", "--out", "member-out.csv"
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "member-out.csv")) == 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--input", "missing.csv", "--out", "x.csv"), "file not found"),
        (("--input", "in.csv", "--out", "x.json"), "unsupported output format"),
        (("--input", "in.csv", "--out", "x.csv", "--model", "models:/nope@champion"), "nope"),
    ],
)
def test_bad_input_is_one_clear_line(env, tmp_path, invoke, args, message):
    env["recent"].head(5).to_csv(tmp_path / "in.csv", index=False)
    result = invoke("score", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not Path(tmp_path / "x.csv").exists()
