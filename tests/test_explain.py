"""`riskscore explain`: one declaration's score, reasons and SHAP waterfall for a case file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import typer
from factories import demo_store
from PIL import Image
from typer.testing import CliRunner

from riskscore.cli import report as cli_report
from riskscore.models import registry
from riskscore.reports.case_file import case_file, read_declaration, waterfall_png
from riskscore.settings import Settings
from riskscore.training.job import run_training


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A small demo store and a registered model, MLflow in tmp."""
    root = tmp_path_factory.mktemp("explain")
    data, store = demo_store(root, declarations=8_000, seed=3)
    mlruns = root / "mlruns"
    tracking_uri = f"sqlite:///{mlruns / 'mlflow.db'}"
    settings = Settings(store_dir=store, mlruns_dir=mlruns, tracking_uri=tracking_uri)
    declarations = pd.read_parquet(data.declarations_path)
    # A rice shipment from South America by sea: the planted cocaine pattern.
    rice = declarations[
        declarations["hs_code"].str.startswith("1006")
        & declarations["origin_country"].isin(["EC", "CO", "PE", "BR"])
        & (declarations["transport_mode"] == "sea")
    ]
    # mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI; undone after this module.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        run = run_training(store, settings)
        assert run.registered is not None
        registry.configure(settings)
        yield {
            "settings": settings,
            "uri": f"models:/{settings.model_name}/{run.registered.version}",
            "model": registry.load_model(run.registered.uri),
            "file": data.declarations_path,
            "declarations": declarations,
            "rice_id": str(rice["id"].iloc[-1]),
        }


@pytest.fixture
def explain_cli(trained, monkeypatch, tmp_path):
    settings = trained["settings"]
    monkeypatch.setenv("RISKSCORE_MLRUNS_DIR", str(settings.mlruns_dir))
    monkeypatch.setenv("RISKSCORE_TRACKING_URI", str(settings.tracking_uri))
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    app.callback()(lambda: None)
    cli_report.register(app)
    yield lambda *args: CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def test_explain_prints_the_reasons_and_writes_a_waterfall(explain_cli, trained, tmp_path):
    out = tmp_path / "case.png"
    rice = trained["rice_id"]
    args = ["--model", trained["uri"], "--input", str(trained["file"]), "--id", rice]
    result = explain_cli("explain", *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"{rice}: score" in result.stdout and "channel" in result.stdout
    assert "reason" in result.stdout and "criterion" in result.stdout
    assert any(name in result.stdout for name in ("Ecuador", "Colombia", "Peru", "Brazil"))
    image = Image.open(io.BytesIO(out.read_bytes()))
    assert image.format == "PNG" and image.size[0] > 600 and image.size[1] > 400
    assert np.asarray(image.convert("L")).std() > 10


def test_explain_defaults_the_png_to_the_id(explain_cli, trained, tmp_path):
    some = str(trained["declarations"]["id"].iloc[100])
    result = explain_cli(
        "explain", "--model", trained["uri"], "--input", str(trained["file"]), "--id", some
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{some}.png").exists()


def test_an_unknown_id_is_one_clear_error(explain_cli, trained):
    result = explain_cli(
        "explain", "--model", trained["uri"], "--input", str(trained["file"]), "--id", "CLR-NOPE"
    )
    assert result.exit_code == 2
    assert "declaration CLR-NOPE not found in" in result.stderr
    assert trained["file"].name in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_an_invalid_row_gives_its_reasons(explain_cli, trained, tmp_path):
    row = trained["declarations"].head(1).assign(hs_code="9999", origin_country="Atlantis")
    bad = tmp_path / "bad.csv"
    row.to_csv(bad, index=False)
    result = explain_cli(
        "explain", "--model", trained["uri"], "--input", str(bad), "--id", row["id"][0]
    )
    assert result.exit_code == 2
    assert "is invalid" in result.stderr
    assert "hs_code" in result.stderr and "origin_country" in result.stderr


def test_a_missing_file_and_an_unknown_model_fail_cleanly(explain_cli, trained, tmp_path):
    result = explain_cli(
        "explain", "--input", str(tmp_path / "none.csv"), "--id", "X", "--model", trained["uri"]
    )
    assert result.exit_code == 2 and "file not found" in result.stderr
    result = explain_cli(
        "explain", "--input", str(trained["file"]), "--id", "X", "--model", "models:/nothing/1"
    )
    assert result.exit_code == 2 and "cannot load model models:/nothing/1" in result.stderr


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "xlsx"])
def test_every_input_format_gives_the_same_case(trained, tmp_path, suffix):
    model, rice = trained["model"], trained["rice_id"]
    declarations = trained["declarations"]
    row = declarations[declarations["id"] == rice].drop(columns=["illicit", "revenue_recovered"])
    path = tmp_path / f"one.{suffix}"
    if suffix == "csv":
        row.to_csv(path, index=False)
    elif suffix == "jsonl":
        path.write_text(json.dumps(row.astype(str).iloc[0].to_dict()) + "\n")
    else:
        row.to_excel(path, index=False, sheet_name="Clearance")
    expected = case_file(model, read_declaration(trained["file"], rice))
    found = case_file(model, read_declaration(path, rice))
    assert found.raw == pytest.approx(expected.raw)
    assert [r.feature for r in found.reasons] == [r.feature for r in expected.reasons]


def test_the_waterfall_adds_up_to_the_score(trained):
    model = trained["model"]
    case = case_file(model, read_declaration(trained["file"], trained["rice_id"]), k=8)
    assert case.base_value + case.contributions.sum() == pytest.approx(case.raw, abs=1e-6)
    sizes = [abs(r.contribution) for r in case.reasons]
    assert len(sizes) == 8 and sizes == sorted(sizes, reverse=True)
    assert case.reasons[0].sentence
    assert waterfall_png(model, case).startswith(b"\x89PNG")
