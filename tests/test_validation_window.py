"""The validation window holds enough offences, and is split in an early-stopping slice and a
calibration slice (issue 11): the calibrator never sees the rows the booster stopped on, and
the calibrated score is judged out of sample."""

from __future__ import annotations

import json
import re
from pathlib import Path

import factories
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from riskscore.features.dataset import History
from riskscore.models import metrics, registry
from riskscore.models.risk_model import Calibrator
from riskscore.settings import Settings
from riskscore.training import train as train_module
from riskscore.training.config import RetrainConfig, TrainConfig
from riskscore.training.train import TrainingError, slice_mask, split_by_time, train

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def declarations() -> pd.DataFrame:
    # A year of declarations, about one offence a day: 60 days hold about 60 of them.
    return factories.declarations(n=3_000, seed=5)


def _positives(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> int:
    return int(frame.loc[(frame["date"] >= start) & (frame["date"] < end), "label"].sum())


def test_a_window_short_of_offences_grows_back_by_whole_days(declarations):
    end = declarations["date"].max() + DAY
    assert _positives(declarations, end - 60 * DAY, end) < 100  # the premise
    split = split_by_time(declarations, TrainConfig())
    assert split.end == end and split.until == split.until.normalize()
    assert split.days > 60
    assert int(split.valid["label"].sum()) >= 100
    # The shortest such window: a day less holds fewer than 100.
    assert _positives(declarations, split.until + DAY, end) < 100
    assert split.reason == f"extended to {split.days} days to hold 100 positives"
    assert split.warning is None
    # Every declaration is on one side only.
    assert len(split.train) + len(split.valid) == len(declarations)
    assert not set(split.train["id"]) & set(split.valid["id"])
    assert split.train["date"].max() < split.until <= split.valid["date"].min()


def test_a_window_with_enough_offences_keeps_valid_days(declarations):
    split = split_by_time(declarations, TrainConfig(valid_days=60, min_valid_positives=20))
    assert split.days == 60 and split.reason == "60 days" and split.warning is None


def test_the_training_window_keeps_at_least_half_of_the_offences(declarations):
    split = split_by_time(declarations, TrainConfig(min_valid_positives=10_000))
    total = int(declarations["label"].sum())
    assert split.days > 60
    assert split.valid["label"].sum() <= total / 2
    # One day more would have taken more than half.
    assert _positives(declarations, split.until - DAY, split.end) > total / 2
    assert "short of 10000" in split.reason
    assert split.warning and "fewer than the 10000 wanted" in split.warning


def test_a_given_until_is_kept_and_a_short_window_warned_about(declarations):
    until = pd.Timestamp("2024-10-01")
    split = split_by_time(declarations, TrainConfig(until=until, valid_days=30))
    assert (split.until, split.end) == (until, until + 30 * DAY)
    positives = _positives(declarations, until, until + 30 * DAY)
    assert positives < 100 and int(split.valid["label"].sum()) == positives
    assert split.warning == (
        f"the validation window holds {positives} positives, fewer than the 100 wanted "
        "(min_valid_positives): early stopping and calibration rest on few offences; choose "
        "an earlier --until or more --valid-days"
    )
    assert "until given" in split.reason


def test_too_small_a_training_window_is_still_an_error(declarations):
    with pytest.raises(TrainingError, match="training window has .* declarations"):
        split_by_time(declarations, TrainConfig(until=pd.Timestamp("2024-01-03")))
    few = declarations.copy()
    few.loc[few["date"] >= "2024-11-01", "label"] = 0
    says = r"validation window has 0 positives \(need at least 5; it runs from 2024-11-01"
    with pytest.raises(TrainingError, match=says):
        split_by_time(few, TrainConfig(until=pd.Timestamp("2024-11-01")))


def test_the_slices_are_disjoint_stratified_and_reproducible(declarations):
    ids = declarations["id"].to_numpy()
    label = declarations["label"].to_numpy(dtype="float64")
    mask = slice_mask(ids, label, 0.5, "calibration-7")
    for value in (0.0, 1.0):
        rows = label == value
        assert abs(mask[rows].sum() - rows.sum() / 2) <= 1  # half of each label
        assert mask[rows].any() and (~mask[rows]).any()  # both slices hold offences
    # Same ids and salt: the same rows, whatever their order.
    np.testing.assert_array_equal(slice_mask(ids, label, 0.5, "calibration-7"), mask)
    order = np.random.default_rng(0).permutation(len(ids))
    shuffled = slice_mask(ids[order], label[order], 0.5, "calibration-7")
    assert set(ids[order][shuffled]) == set(ids[mask])
    # Another seed, another split.
    assert (slice_mask(ids, label, 0.5, "calibration-8") != mask).mean() > 0.3


@pytest.fixture(scope="module")
def trained(declarations, tmp_path_factory):
    """A model trained on the synthetic year; the rows early stopping saw, recorded."""
    seen: list[int] = []
    real_train = lgb.train

    def recording(params, train_set, *args, valid_sets=(), **kwargs):
        booster = real_train(params, train_set, *args, valid_sets=valid_sets, **kwargs)
        seen.extend(v.num_data() for v in valid_sets)
        return booster

    history = History(declarations, factories.seizures(n=150, seed=4), None, {})
    config = TrainConfig(min_valid_positives=80, max_rounds=40, seed=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_module.lgb, "train", recording)
        result = train(history, config)
    return result, seen, config


def test_early_stopping_and_calibration_use_one_slice_each(trained):
    result, seen, config = trained
    window = result.model.info["valid_window"]
    valid = result.valid
    calibrate = (valid["slice"] == "calibration").to_numpy()
    assert window["calibration_rows"] == calibrate.sum() > 0
    assert window["early_stopping_rows"] == (~calibrate).sum() > 0
    assert window["rows"] == len(valid) == result.model.info["valid_rows"]
    assert window["positives"] >= 80 and window["reason"].startswith("extended to")
    assert window["early_stopping_positives"] > 0 and window["calibration_positives"] > 0
    # LightGBM early-stopped on the early-stopping slice only, for every shape searched.
    assert seen == [window["early_stopping_rows"]] * len(config.shapes)
    # The calibrator is the one fitted on the calibration slice, and nothing else.
    raw, label = valid["raw"].to_numpy(), valid["label"].to_numpy()
    again = Calibrator.fit(raw[calibrate], label[calibrate])
    np.testing.assert_array_equal(result.model.calibrator.x, again.x)
    np.testing.assert_array_equal(result.model.calibrator.y, again.y)
    assert result.model.info["calibration"]["method"] == result.model.calibrator.method
    # The same split again for the same data and seed.
    ids, y = valid["id"].to_numpy(), label.astype("float64")
    np.testing.assert_array_equal(slice_mask(ids, y, 0.5, f"calibration-{config.seed}"), calibrate)


def test_brier_and_log_loss_are_out_of_sample(trained):
    result, _, _ = trained
    valid = result.valid
    held = valid[valid["slice"] == "calibration"]
    assert valid.loc[valid["slice"] == "early_stopping", "score_held_out"].isna().all()
    assert held["score_held_out"].notna().all()
    quality = metrics.probability_quality(held["score_held_out"], held["label"])
    assert result.metrics["brier"] == pytest.approx(quality["brier"])
    assert result.metrics["log_loss"] == pytest.approx(quality["log_loss"])
    # Cross-fitted scores are not the deployed calibrator's own (fitted on these very rows).
    assert not np.allclose(held["score_held_out"], held["score"])
    # Precision at capacity: on the whole window as before, and on the calibration slice.
    whole = metrics.at_capacity(valid["raw"].to_numpy(), valid["label"].to_numpy())
    assert result.metrics["precision_at_5pct"] == whole["precision_at_5pct"]
    part = metrics.at_capacity(held["raw"].to_numpy(), held["label"].to_numpy())
    assert result.metrics["calibration_slice.precision_at_5pct"] == part["precision_at_5pct"]
    assert 0 < result.metrics["score_distinct_at_10pct"] <= 1


def test_retraining_grows_its_window_as_train_does(monkeypatch, declarations):
    """The challenger's config leaves `until` to the window rule, over history before E."""
    from riskscore.training import retrain as retrain_module

    captured = {}

    def fake_train(history, config):
        captured["split"] = split_by_time(history.declarations, config)
        raise RuntimeError("stop here")

    monkeypatch.setattr(retrain_module, "train", fake_train)
    config = RetrainConfig(window_days=300, valid_days=30, train=TrainConfig(seed=1))
    eval_from = pd.Timestamp("2024-12-01")
    inputs = retrain_module._Inputs(
        store=None,
        history=History(declarations, factories.seizures(n=10), None, {}),
        fingerprint="",
        champion_version=None,
        champion=None,
        eval_from=eval_from,
        eval_to=declarations["date"].max(),
        eval_rows=declarations[declarations["date"] >= eval_from],
    )
    with pytest.raises(RuntimeError, match="stop here"):
        retrain_module._challenge(retrain_module.RetrainResult(*[None] * 6), inputs, config, "m")
    split = captured["split"]
    assert split.end == eval_from  # the window ends where E starts
    assert split.days > 30 and int(split.valid["label"].sum()) >= 100


def test_train_cli_says_which_window_and_logs_it(tmp_path, monkeypatch, invoke):
    for name in ("MLFLOW_TRACKING_URI", "RISKSCORE_TRACKING_URI", "RISKSCORE_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RISKSCORE_MLRUNS_DIR", str(tmp_path / "mlruns"))
    _, store = factories.demo_store(tmp_path / "demo", declarations=4_000, seed=3)
    result = invoke(
        "train", "--store", str(store), "--valid-days", "30", "--min-valid-positives", "30"
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("validation window"))
    assert "extended to" in line and "days to hold 30 positives" in line
    assert "early stopping on" in line and "calibration on" in line
    assert "log-loss" in result.stdout and "calibration slice" in result.stdout
    run_id = re.search(r"\(run\s+(\w+),", result.stdout).group(1)
    registry.configure(Settings(mlruns_dir=tmp_path / "mlruns"))
    run = MlflowClient().get_run(run_id)
    days = int(run.data.params["valid_window.days"])
    assert days > 30 and run.data.params["min_valid_positives"] == "30"
    assert run.data.tags["valid_window"] == f"extended to {days} days to hold 30 positives"
    assert int(run.data.params["valid_window.positives"]) >= 30
    for name in ("valid.brier", "valid.log_loss", "valid.calibration_slice.precision_at_5pct"):
        assert name in run.data.metrics
    info_file = MlflowClient().download_artifacts(run_id, "model_info.json", str(tmp_path))
    info = json.loads(Path(info_file).read_text())
    assert info["valid_window"]["days"] == days


def test_the_option_shows_its_default(invoke):
    result = invoke("train", "--help")
    assert "--min-valid-positives" in result.stdout
    assert "(default: 100)" in " ".join(result.stdout.split())
