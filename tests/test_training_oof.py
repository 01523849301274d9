"""Out-of-fold outcome statistics for training rows (DESIGN.md principle 2)."""

from __future__ import annotations

import factories
import numpy as np
import pandas as pd
import pytest

from riskscore.features.dataset import History
from riskscore.features.pipeline import FeaturePipeline
from riskscore.training.oof import fold_of_rows, oof_features
from riskscore.training.train import TrainConfig, train

UNTIL = pd.Timestamp("2024-10-01")
LAG = FeaturePipeline().config.outcome_lag_days


@pytest.fixture(scope="module")
def history() -> tuple[pd.DataFrame, pd.DataFrame]:
    return factories.declarations(n=1500, seed=3), factories.seizures(n=150, seed=4)


def test_hit_rate_is_the_other_folds_outcomes(history):
    declarations, seizures = history
    train_rows = declarations[declarations["date"] < UNTIL]
    pipeline = FeaturePipeline()
    folds = 5
    oof = oof_features(pipeline, train_rows, seizures, UNTIL, folds=folds, seed=11)

    # Brute force, row by row: the importer's outcomes in the other folds, known before UNTIL.
    fold = fold_of_rows(len(train_rows), folds, seed=11)
    known = (train_rows["date"] + pd.Timedelta(days=LAG) < UNTIL).to_numpy()
    importer = train_rows["importer_id"].str.upper().to_numpy()
    label = train_rows["label"].to_numpy(dtype="float64")
    m = pipeline.config.smoothing
    scale = folds / (folds - 1)
    for i in range(0, len(train_rows), 97):
        other = known & (fold != fold[i])
        prior = label[other].mean()
        mine = other & (importer == importer[i])
        expected = (label[mine].sum() * scale + m * prior) / (mine.sum() * scale + m)
        assert oof["importer_hit_rate"].iloc[i] == pytest.approx(expected)
        assert oof["importer_offences"].iloc[i] == pytest.approx(label[mine].sum() * scale)


def test_only_outcome_features_are_replaced(history):
    declarations, seizures = history
    train_rows = declarations[declarations["date"] < UNTIL]
    oof = oof_features(FeaturePipeline(), train_rows, seizures, UNTIL)
    assert "importer_hit_rate" in oof and "hs4_hit_rate" in oof and "exporter_offences" in oof
    # recency, declaration counts, prices, words and seizures stay point in time
    for kept in ("importer_days_since_offence", "importer_declarations", "value_vs_reference"):
        assert kept not in oof
    assert not any(name.startswith(("seizure_lift", "desc_")) for name in oof)


def test_labels_after_the_cutoff_never_reach_training_features(history):
    declarations, seizures = history
    train_rows = declarations[declarations["date"] < UNTIL]
    before = oof_features(FeaturePipeline(), train_rows, seizures, UNTIL)
    # Flip every label whose outcome would only be known after the cutoff.
    late = (train_rows["date"] + pd.Timedelta(days=LAG) >= UNTIL).to_numpy()
    assert late.any()
    flipped = train_rows.copy()
    flipped.loc[late, "label"] = 1 - flipped.loc[late, "label"]
    after = oof_features(FeaturePipeline(), flipped, seizures, UNTIL)
    pd.testing.assert_frame_equal(before, after)


def test_validation_rows_keep_the_frozen_state(history):
    declarations, seizures = history
    history_ = History(declarations, seizures, None, {})
    results = {
        stats: train(
            history_, TrainConfig(until=UNTIL, valid_days=60, max_rounds=20, train_stats=stats)
        )
        for stats in ("pit", "oof")
    }
    # The same validation sample (same seed), featurised from the state frozen at the cutoff.
    pit, oof = (results[s].valid_sample_features for s in ("pit", "oof"))
    assert len(pit) > 50
    for name in ("importer_hit_rate", "importer_offences", "hs4_hit_rate", "route_hit_rate"):
        np.testing.assert_allclose(pit[name].to_numpy(), oof[name].to_numpy())


def test_unknown_choice_is_refused():
    with pytest.raises(ValueError, match="train_stats"):
        TrainConfig(train_stats="future")
    with pytest.raises(ValueError, match="imbalance"):
        TrainConfig(imbalance="weighted")


def test_the_key_fields_cover_every_outcome_statistic(history, monkeypatch):
    """oof_features prepares only KEY_FIELDS; every column must give the same values."""
    import riskscore.training.oof as oof_module

    declarations, seizures = history
    train_rows = declarations[declarations["date"] < UNTIL]
    trimmed = oof_features(FeaturePipeline(), train_rows, seizures, UNTIL)
    monkeypatch.setattr(oof_module, "KEY_FIELDS", tuple(train_rows.columns))
    full = oof_features(FeaturePipeline(), train_rows, seizures, UNTIL)
    pd.testing.assert_frame_equal(trimmed, full)
