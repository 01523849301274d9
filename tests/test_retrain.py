"""The retraining job: promotion gate, exit codes, idempotence, and crash safety."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from factories import demo_cut, ingest_demo
from mlflow.tracking import MlflowClient

from riskscore.features.dataset import load_history
from riskscore.features.store import Store
from riskscore.models import registry
from riskscore.models.window import score_window
from riskscore.settings import Settings
from riskscore.training import tracking
from riskscore.training.config import TrainConfig
from riskscore.training.evaluate import judge
from riskscore.training.job import run_training
from riskscore.training.retrain import Decision, RetrainConfig, retrain

CUT = "2025-07-01"  # the champion knows the data before this day
MODEL = "customs-risk"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Demo files, the same files cut at CUT, and a store + registry with a champion on the cut."""
    root = tmp_path_factory.mktemp("retrain")
    full, early = demo_cut(root, 6_000, CUT)

    base = root / "base"
    ingest_demo(early, base / "store")
    result = run_training(
        base / "store", Settings(mlruns_dir=base / "mlruns"), TrainConfig(valid_days=90)
    )
    assert result.registered is not None and result.registered.alias == "champion"
    return {"full": full, "early": early, "base": base}


@pytest.fixture
def world(demo, tmp_path, monkeypatch) -> dict:
    """A copy of the champion's store and registry, then the full data ingested (new data)."""
    for name in ("MLFLOW_TRACKING_URI", "RISKSCORE_TRACKING_URI", "RISKSCORE_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(demo["base"], tmp_path / "w")
    store, mlruns = tmp_path / "w" / "store", tmp_path / "w" / "mlruns"
    ingest_demo(demo["full"], store)
    monkeypatch.setenv("RISKSCORE_MLRUNS_DIR", str(mlruns))
    settings = Settings(mlruns_dir=mlruns)
    registry.configure(settings)
    return {"store": store, "settings": settings}


def _registry() -> dict[str, list[str]]:
    """version -> aliases."""
    client = MlflowClient()
    aliases = client.get_registered_model(MODEL).aliases
    versions = client.search_model_versions(f"name = '{MODEL}'")
    return {
        str(v.version): sorted(a for a, n in aliases.items() if str(n) == str(v.version))
        for v in versions
    }


def test_a_better_challenger_is_promoted_once(world):
    # margin -1 promotes any challenger: this test is about what a promotion does; the gate's
    # threshold itself is test_the_margin_is_the_promotion_threshold's.
    result = retrain(world["store"], world["settings"], RetrainConfig(margin=-1.0))
    assert result.decision is Decision.PROMOTED and result.exit_code == 0
    assert (result.champion_before, result.champion_after) == ("1", "2")
    assert _registry() == {"1": [], "2": ["champion"]}
    # judged out of time for both: E starts no earlier than the old champion's state date
    assert result.eval_from >= CUT
    assert result.challenger_metrics and result.champion_metrics

    again = retrain(world["store"], world["settings"], RetrainConfig(margin=-1.0))
    assert again.decision is Decision.KEPT and again.exit_code == 3
    assert again.new_version is None
    assert _registry() == {"1": [], "2": ["champion"]}


def test_a_challenger_short_of_the_margin_is_kept_and_not_stacked(world):
    config = RetrainConfig(margin=1.0)  # precision can never gain a whole point
    result = retrain(world["store"], world["settings"], config)
    assert result.decision is Decision.KEPT and result.exit_code == 3
    assert result.new_version == "2"
    assert _registry() == {"1": ["champion"], "2": ["challenger"]}

    # Both models were judged on the same rows with the same function as `evaluate`.
    history = load_history(Store(world["store"]))
    champion = registry.load_model(f"models:/{MODEL}/1")
    scored = score_window(champion, history, pd.Timestamp(result.eval_from))
    assert judge(scored).metrics == pytest.approx(result.champion_metrics)

    # The decision and both sides' metrics are in the run.
    run = MlflowClient().get_run(result.run_id)
    assert run.data.tags["decision"] == "kept"
    assert run.data.tags["champion_after"] == "1"
    for side in ("champion", "challenger"):
        metrics = getattr(result, f"{side}_metrics")
        assert run.data.metrics[f"holdout.{side}.precision_at_5pct"] == pytest.approx(
            metrics["precision_at_5pct"]
        )

    again = retrain(world["store"], world["settings"], config)
    assert again.decision is Decision.KEPT and again.new_version is None
    assert "already judged" in again.reason
    assert _registry() == {"1": ["champion"], "2": ["challenger"]}


def test_the_margin_is_the_promotion_threshold(world):
    probe = retrain(world["store"], world["settings"], RetrainConfig(margin=1.0))
    gate = "precision_at_5pct"
    gain = probe.challenger_metrics[gate] - probe.champion_metrics[gate]

    # Same data, same seed: the same challenger, judged against margins either side of its gain.
    short = retrain(
        world["store"], world["settings"], RetrainConfig(margin=gain + 1e-6), force=True
    )
    assert short.challenger_metrics == pytest.approx(probe.challenger_metrics)
    assert short.decision is Decision.KEPT, short.reason
    assert short.champion_after == "1"

    enough = retrain(
        world["store"], world["settings"], RetrainConfig(margin=gain - 1e-6), force=True
    )
    assert enough.decision is Decision.PROMOTED, enough.reason
    assert enough.champion_after == enough.new_version


def test_a_crash_registers_nothing_and_moves_no_alias(world, invoke, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("artifact store unreachable")

    working = tracking.log_model_artifact
    monkeypatch.setattr(tracking, "log_model_artifact", broken)
    result = invoke("retrain", "--store", str(world["store"]), "--margin", "-1")
    assert result.exit_code == 1, result.output
    assert "artifact store unreachable" in result.stderr
    assert "Traceback" not in result.output
    assert _registry() == {"1": ["champion"]}
    failed = MlflowClient().search_runs(
        [MlflowClient().get_experiment_by_name("customs-risk").experiment_id],
        filter_string="tags.job = 'retrain'",
    )
    assert [(r.info.status, r.data.tags.get("decision")) for r in failed] == [("FAILED", "failed")]

    # A failed run does not count as judged: the next run does the work.
    monkeypatch.setattr(tracking, "log_model_artifact", working)
    retried = invoke("retrain", "--store", str(world["store"]), "--margin", "-1", "--json")
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.stdout)["decision"] == "promoted"
    assert _registry() == {"1": [], "2": ["champion"]}


def test_the_first_model_becomes_champion(demo, tmp_path, invoke, monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "RISKSCORE_TRACKING_URI", "RISKSCORE_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RISKSCORE_MLRUNS_DIR", str(tmp_path / "mlruns"))
    store = tmp_path / "store"
    ingest_demo(demo["full"], store)
    first = invoke("retrain", "--store", str(store), "--json")
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert (result["decision"], result["new_version"]) == ("promoted", "1")
    second = invoke("retrain", "--store", str(store))
    assert second.exit_code == 3, second.output
    assert second.stdout.startswith("kept")
    registry.configure(Settings(mlruns_dir=tmp_path / "mlruns"))
    assert _registry() == {"1": ["champion"]}


def test_if_drift_keeps_a_champion_whose_traffic_has_not_moved(world):
    calm = retrain(world["store"], world["settings"], RetrainConfig(if_drift=10.0))
    assert calm.decision is Decision.KEPT and calm.new_version is None
    assert calm.reason.startswith("no drift"), calm.reason
    assert 0 <= calm.drift["relied_on_max_psi"] <= 10.0 and calm.drift["rows"] > 0
    run = MlflowClient().get_run(calm.run_id)
    assert run.data.tags["skipped"] == "true"

    moved = retrain(world["store"], world["settings"], RetrainConfig(if_drift=0.0, margin=1.0))
    assert moved.new_version == "2", moved.reason  # any drift exceeds 0: a challenger is judged
    assert moved.drift["relied_on_max_psi"] == pytest.approx(calm.drift["relied_on_max_psi"])


def _selection_records(settings: Settings, store: Path, draw_share: float) -> int:
    """Selection records of the champion scoring every record from CUT on, with a random draw
    of `draw_share` of its green channel; returns how many were drawn."""
    import numpy as np

    from riskscore.models.batch import score_frame
    from riskscore.models.selection_log import SelectionLog, selection_records

    champion = registry.load_model(f"models:/{MODEL}/1")
    records = load_history(Store(store)).declarations
    live = records[records["date"] >= CUT].reset_index(drop=True)
    table = score_frame(champion, live)
    green = table["channel"] == "green"
    drawn = green & (np.random.default_rng(0).random(len(table)) < draw_share)
    table.loc[drawn, ["channel", "model_channel"]] = "random"
    log = SelectionLog(settings.selections_db)
    log.record(
        selection_records(
            table.to_dict("records"),
            live["reporting_country"],
            live["date"],
            model_version="1",
            state_version=None,
            draw_share=draw_share,
            source="test",
        )
    )
    log.close()
    return int(drawn.sum())


def test_the_gate_compares_without_selection_bias_when_random_outcomes_suffice(world, tmp_path):
    settings = world["settings"].model_copy(update={"state_dir": tmp_path / "state"})
    assert _selection_records(settings, world["store"], draw_share=0.3) > 50
    found = retrain(world["store"], settings, RetrainConfig(margin=1.0, min_random_outcomes=20))
    assert found.gate == "unbiased", found.reason
    assert "without selection bias" in found.reason
    estimates = found.unbiased["at_capacity"]
    ours = estimates["challenger"]["precision"]["value"]
    assert f"challenger precision_at_5pct {ours:.4f}" in found.reason
    assert found.unbiased["random_outcomes"] >= 20
    run = MlflowClient().get_run(found.run_id)
    assert run.data.tags["gate"] == "unbiased"
    assert run.data.metrics["holdout.unbiased.champion.precision.value"] == pytest.approx(
        estimates["champion"]["precision"]["value"]
    )

    short = retrain(
        world["store"],
        settings,
        RetrainConfig(margin=1.0, min_random_outcomes=1_000_000),
        force=True,
    )
    assert short.gate == "inspected" and "too few random outcomes" in short.reason
    gate = "precision_at_5pct"
    assert f"challenger {gate} {short.challenger_metrics[gate]:.4f}" in short.reason


def test_the_cli_shows_the_unbiased_table_and_skips_retraining_without_drift(
    world, tmp_path, invoke
):
    # `invoke` runs in tmp_path, where RISKSCORE_STATE_DIR defaults to ./var.
    settings = world["settings"].model_copy(update={"state_dir": tmp_path / "var"})
    _selection_records(settings, world["store"], draw_share=0.3)
    shown = invoke("evaluate", "--store", str(world["store"]), "--from", CUT)
    assert shown.exit_code == 0, shown.output
    assert "without selection bias" in shown.stdout
    found = json.loads(invoke("evaluate", "--store", str(world["store"]), "--json").stdout)
    unbiased = found["unbiased"]
    assert unbiased["random_outcomes"] > 0 and "random-stream outcomes" in unbiased["note"]
    assert 0 <= unbiased["offence_rate"]["value"] <= 1

    calm = invoke("retrain", "--store", str(world["store"]), "--if-drift", "10")
    assert calm.exit_code == 3, calm.output
    assert "kept" in calm.stdout and "no drift" in calm.stdout
    bad = invoke("retrain", "--store", str(world["store"]), "--if-drift", "-1")
    assert bad.exit_code == 2 and "--if-drift" in bad.output
