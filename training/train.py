"""Train out of time: learn on history, early-stop, calibrate and judge on the window after.

The split is by date. Training rows get point-in-time features from the training window only;
validation rows are scored exactly as serving would score them, from the feature state frozen at
the cutoff. The deployed model then carries a state refreshed with the validation window too,
so it starts serving with the most recent trader and seizure statistics.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from riskscore.features.contracts import declaration_records
from riskscore.features.dataset import History
from riskscore.features.pipeline import LABEL, FeaturePipeline
from riskscore.models import metrics
from riskscore.models.risk_model import Calibrator, CategoryEncoder, Channels, RiskModel
from riskscore.training.config import TrainConfig
from riskscore.training.oof import oof_features


class TrainingError(Exception):
    """Training cannot go on (too little data, no positives...); the message says why."""


@dataclass
class Split:
    train: pd.DataFrame
    valid: pd.DataFrame
    until: pd.Timestamp
    end: pd.Timestamp  # first day after the validation window


def split_by_time(declarations: pd.DataFrame, config: TrainConfig) -> Split:
    """Training rows before `until`, validation rows in the `valid_days` from it."""
    if declarations.empty:
        raise TrainingError("no declarations in the store: ingest data first")
    last = declarations["date"].max()
    until = config.until or (last - pd.Timedelta(days=config.valid_days - 1))
    until = pd.Timestamp(until).normalize()
    end = until + pd.Timedelta(days=config.valid_days)
    train = declarations[declarations["date"] < until]
    valid = declarations[(declarations["date"] >= until) & (declarations["date"] < end)]
    for name, part in (("training", train), ("validation", valid)):
        if len(part) < 50:
            raise TrainingError(
                f"the {name} window has {len(part)} declarations (need at least 50): "
                f"choose another --until (data spans {declarations['date'].min().date()} "
                f"to {last.date()})"
            )
        if part[LABEL].sum() < 5:
            raise TrainingError(f"the {name} window has fewer than 5 positives")
    return Split(train, valid, until, end)


@dataclass
class TrainResult:
    """The model, and what we know of it on the validation window."""

    model: RiskModel
    metrics: dict[str, float]
    valid: pd.DataFrame  # id, date, label, raw, score, channel, revenue + segment columns
    valid_sample_features: pd.DataFrame
    importance: pd.DataFrame  # feature, criterion, mean_abs_shap
    best_iteration: int
    seconds: dict[str, float]


def _importance(model: RiskModel, contributions: np.ndarray) -> pd.DataFrame:
    mean_abs = np.abs(contributions[:, :-1]).mean(axis=0)
    criteria = model.criteria
    table = pd.DataFrame(
        {
            "feature": model.feature_names,
            "criterion": [criteria[n].value for n in model.feature_names],
            "mean_abs_shap": mean_abs,
        }
    )
    return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)


def train(history: History, config: TrainConfig | None = None) -> TrainResult:
    """Train, calibrate and evaluate a model on the labelled history."""
    config = config or TrainConfig()
    seconds: dict[str, float] = {}
    split = split_by_time(history.declarations, config)
    with _timed(seconds, "features"):
        inputs = _inputs(split, history.seizures, config)
    with _timed(seconds, "boosting"):
        booster, raw_valid = _boost(inputs, config)
    calibrator = Calibrator.fit(raw_valid, inputs.y_valid)
    channels = Channels.from_capacity(
        raw_valid, config.red_share, config.yellow_share, config.random_share
    )
    model = RiskModel(
        inputs.pipeline,
        inputs.encoder,
        booster,
        calibrator,
        channels,
        inputs.names,
        _info(split, inputs, config),
    )
    valid = _valid_table(split, inputs, raw_valid, model)
    found = metrics.at_capacity(raw_valid, inputs.y_valid, metrics.revenue_of(split.valid))
    found["brier"] = float(np.mean((valid["score"].to_numpy() - inputs.y_valid) ** 2))
    found["best_iteration"] = float(booster.current_iteration())
    model.info["metrics"] = found

    rng = np.random.default_rng(config.seed)
    size = min(len(inputs.x_valid), 5000)
    sample = np.sort(rng.choice(len(inputs.x_valid), size=size, replace=False))
    contributions = model.contributions(inputs.x_valid[sample])
    importance = _importance(model, contributions)
    model.info["importance"] = importance.to_dict("records")

    with _timed(seconds, "refit_state"):
        # The deployed state: statistics over every record up to the end of validation.
        deployed = pd.concat([split.train, split.valid])
        seizures = history.seizures
        inputs.pipeline.fit(deployed, seizures[seizures["date"] < split.end], split.end)
        model.info["state_as_of"] = str(split.end.date())
    return TrainResult(
        model=model,
        metrics=found,
        valid=valid,
        valid_sample_features=inputs.valid_features.iloc[sample].reset_index(drop=True),
        importance=importance,
        best_iteration=booster.current_iteration(),
        seconds=seconds,
    )


@contextmanager
def _timed(seconds: dict[str, float], step: str) -> Iterator[None]:
    clock = time.perf_counter()
    yield
    seconds[step] = time.perf_counter() - clock


@dataclass
class _Inputs:
    """The model inputs of both windows, and the fitted pipeline and encoder behind them."""

    pipeline: FeaturePipeline
    encoder: CategoryEncoder
    names: list[str]
    categorical: list[str]
    valid_features: pd.DataFrame
    x_train: np.ndarray
    x_valid: np.ndarray
    y_train: np.ndarray
    y_valid: np.ndarray


def _inputs(split: Split, seizures: pd.DataFrame, config: TrainConfig) -> _Inputs:
    """Point-in-time features of the training rows (out of fold if configured); validation
    rows from the state frozen at the cutoff, as serving would compute them."""
    train_seizures = seizures[seizures["date"] < split.until]
    pipeline = FeaturePipeline(config.feature_config)
    train_features = pipeline.historical(split.train, train_seizures)
    if config.train_stats == "oof":
        replaced = oof_features(
            pipeline, split.train, train_seizures, split.until, config.oof_folds, config.seed
        )
        train_features[replaced.columns] = replaced
    pipeline.fit(split.train, train_seizures, split.until)
    valid_features = pipeline.transform(split.valid)
    names = pipeline.feature_names_out()
    categorical = [f.name for f in pipeline.features() if f.categorical]
    encoder = CategoryEncoder.fit(train_features, categorical)
    return _Inputs(
        pipeline=pipeline,
        encoder=encoder,
        names=names,
        categorical=categorical,
        valid_features=valid_features,
        x_train=encoder.encode(train_features, names),
        x_valid=encoder.encode(valid_features, names),
        y_train=split.train[LABEL].to_numpy(dtype="float64"),
        y_valid=split.valid[LABEL].to_numpy(dtype="float64"),
    )


def _boost(inputs: _Inputs, config: TrainConfig) -> tuple[lgb.Booster, np.ndarray]:
    """The booster cut at its best iteration, and its raw scores of the validation rows."""
    train_set = lgb.Dataset(
        inputs.x_train,
        inputs.y_train,
        feature_name=inputs.names,
        categorical_feature=inputs.categorical,
        free_raw_data=True,
    )
    valid_set = lgb.Dataset(inputs.x_valid, inputs.y_valid, reference=train_set)
    params = config.params()
    if config.imbalance == "sqrt":
        y = inputs.y_train
        params["scale_pos_weight"] = float(np.sqrt((len(y) - y.sum()) / y.sum()))
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.max_rounds,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
    )
    booster.free_dataset()
    raw_valid = booster.predict(
        inputs.x_valid, raw_score=True, num_iteration=booster.best_iteration
    )
    # Keep only the trees early stopping chose, so serving never evaluates the rest.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    return booster, raw_valid


def _info(split: Split, inputs: _Inputs, config: TrainConfig) -> dict:
    """What the model says of its training: windows, counts, config, salt, example."""
    return {
        "train_from": str(split.train["date"].min().date()),
        "train_until": str(split.until.date()),
        "valid_until": str((split.end - pd.Timedelta(days=1)).date()),
        "train_rows": len(split.train),
        "valid_rows": len(split.valid),
        "train_positives": int(inputs.y_train.sum()),
        "valid_positives": int(inputs.y_valid.sum()),
        "config": _jsonable(asdict(config)),
        "random_salt": secrets.token_hex(16),
        # Serving scores this before it accepts the model: a model that cannot is refused.
        "example": declaration_records(split.valid.head(1))[0],
    }


def _valid_table(
    split: Split, inputs: _Inputs, raw_valid: np.ndarray, model: RiskModel
) -> pd.DataFrame:
    """One row per validation declaration: label, scores, channel, revenue, segments."""
    revenue = metrics.revenue_of(split.valid)
    features = inputs.valid_features
    return pd.DataFrame(
        {
            "id": split.valid["id"].to_numpy(),
            "date": split.valid["date"].to_numpy(),
            "label": inputs.y_valid,
            "raw": raw_valid,
            "score": model.calibrator(raw_valid),
            "channel": model.channels.assign(raw_valid),
            "revenue": revenue if revenue is not None else np.nan,
            "hs2": features["hs2"].to_numpy(),
            "origin_country": features["origin_country"].to_numpy(),
            "transport_mode": features["transport_mode"].to_numpy(),
        }
    )


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return value
