"""What a training or retraining job is asked to do: plain dataclasses with every default.

The command line reads its defaults from here (an option left out keeps the default), so a
default changed here changes for library callers and CLI users alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import pandas as pd

from riskscore.features.pipeline import FeatureConfig
from riskscore.training.shape import SHAPES, Shape

TRAIN_STATS = ("pit", "oof")
IMBALANCE = ("none", "sqrt")


@dataclass(frozen=True)
class TrainConfig:
    """What to train on and how."""

    until: pd.Timestamp | None = None  # first day of validation; default: valid_days before the end
    valid_days: int = 60
    # Without `until`, the validation window grows back from `valid_days` (whole days) until it
    # holds this many offences: half stop the booster early, half fit the calibrator, and with
    # fewer both are noise (docs/training.md, "The validation window"). With `until` it is only
    # checked: a shorter window trains, with a warning in model.info["valid_window"].
    min_valid_positives: int = 100
    # Share of the validation window (stratified by label, by a hash of the declaration id and
    # the seed) that fits the calibrator; the rest is the early-stopping slice.
    calibration_share: float = 0.5
    seed: int = 7
    red_share: float = 0.05
    yellow_share: float = 0.10
    random_share: float = 0.01
    # Model shape. With shape_search, each of `shapes` is fitted and the most precise whose
    # measured exact-SHAP cost per declaration fits explain_budget_ms is kept (training.shape);
    # without, the fixed shape below. Early stopping decides the rounds (max_rounds is a guard).
    shape_search: bool = True
    shapes: tuple[Shape, ...] = SHAPES
    # One declaration scored with reasons over HTTP must stay within 2 ms at the median: the
    # rest of a request (HTTP, features, sentences) takes 1.2-1.7 ms on the 2-core hosts of
    # bench/RESULTS.md.
    explain_budget_ms: float = 0.5
    # Candidates learn from at most this many training rows (a random sample); the chosen shape
    # is then fitted on all of them. Keeps the search within the training budget on 1M rows.
    search_rows: int = 200_000
    learning_rate: float = 0.1
    num_leaves: int = 15
    max_depth: int = -1
    min_child_samples: int = 50
    max_rounds: int = 10_000
    early_stopping_rounds: int = 50
    # Outcome statistics of the training rows: strict point in time ("pit") or out of fold
    # inside the training window ("oof", training.oof). oof ties on KCS and wins on the demo
    # data (docs/training.md, bench/RESULTS.md).
    train_stats: str = "oof"
    oof_folds: int = 5
    # Class imbalance: "none", or "sqrt" for scale_pos_weight = sqrt(negatives / positives).
    # "sqrt" lost on KCS and on the demo data (docs/training.md); ranking needs no reweighting
    # and the calibration maps scores to probabilities either way.
    imbalance: str = "none"
    feature_config: FeatureConfig = field(default_factory=FeatureConfig)

    def __post_init__(self) -> None:
        if self.train_stats not in TRAIN_STATS:
            raise ValueError(f"train_stats must be one of {TRAIN_STATS}, got {self.train_stats!r}")
        if self.imbalance not in IMBALANCE:
            raise ValueError(f"imbalance must be one of {IMBALANCE}, got {self.imbalance!r}")
        if self.red_share + self.yellow_share >= 1:
            raise ValueError("red_share plus yellow_share must stay below 1")
        if self.min_valid_positives < 0:
            raise ValueError("min_valid_positives cannot be negative")
        if not 0 < self.calibration_share < 1:
            raise ValueError("calibration_share is a share of the validation window, in (0, 1)")
        if self.shape_search and not self.shapes:
            raise ValueError("shape_search needs at least one shape")
        if self.explain_budget_ms <= 0:
            raise ValueError("explain_budget_ms must be positive")

    def fixed_shape(self) -> Shape:
        """The shape used without a search."""
        return Shape(self.num_leaves, self.max_depth, self.learning_rate, self.min_child_samples)

    def params(self, shape: Shape | None = None) -> dict:
        """LightGBM parameters for `shape` (default: the fixed shape)."""
        return {
            "objective": "binary",
            **(shape or self.fixed_shape()).params(),
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "cat_smooth": 10.0,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": 0,
            "verbose": -1,
        }


@dataclass(frozen=True)
class RetrainConfig:
    """Windows and the promotion gate."""

    window_days: int = 365  # declarations the challenger learns from, its validation included
    eval_days: int = 60  # the most recent out-of-time window both models are judged on
    # The challenger's early-stopping and calibration window: the last valid_days of its
    # window, grown back to hold train.min_valid_positives offences as `riskscore train` does.
    valid_days: int = 60
    margin: float = 0.01  # precision points the challenger must gain to be promoted
    capacity: float = 0.05  # inspected share the gate compares precision at
    min_eval_rows: int = 100
    min_eval_positives: int = 5
    # Retrain only when the PSI of the score or of an input the model relies on, over E,
    # exceeds this (None: always). See models.drift.
    if_drift: float | None = None
    # Random-stream outcomes in E before the gate compares the models without selection bias
    # (models.unbiased); with fewer it compares them on the inspected declarations.
    min_random_outcomes: int = 100
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.window_days <= self.valid_days:
            raise ValueError("window_days must be longer than valid_days")
        if not 0 < self.capacity < 1:
            raise ValueError("capacity is a share of declarations, between 0 and 1")
        if self.if_drift is not None and self.if_drift < 0:
            raise ValueError("if_drift is a PSI threshold: 0 or more")


def default(config: type, name: str) -> object:
    """The default of one field of a config dataclass, e.g. default(TrainConfig, "valid_days")."""
    for item in fields(config):
        if item.name == name:
            return item.default
    raise KeyError(name)
