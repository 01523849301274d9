"""Train out of time: learn on history, early-stop, calibrate and judge on the window after.

The split is by date. Training rows get point-in-time features from the training window only;
validation rows are scored exactly as serving would score them, from the feature state frozen at
the cutoff. The deployed model then carries a state refreshed with the validation window too,
so it starts serving with the most recent trader and seizure statistics.
"""

from __future__ import annotations

import secrets
import time
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
    valid_contributions: np.ndarray  # SHAP of a sample of validation rows (base last)
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
    clock = time.perf_counter()
    split = split_by_time(history.declarations, config)
    seizures = history.seizures
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
    seconds["features"] = time.perf_counter() - clock

    names = pipeline.feature_names_out()
    categorical = [f.name for f in pipeline.features() if f.categorical]
    encoder = CategoryEncoder.fit(train_features, categorical)
    x_train = encoder.encode(train_features, names)
    x_valid = encoder.encode(valid_features, names)
    y_train = split.train[LABEL].to_numpy(dtype="float64")
    y_valid = split.valid[LABEL].to_numpy(dtype="float64")

    clock = time.perf_counter()
    train_set = lgb.Dataset(
        x_train, y_train, feature_name=names, categorical_feature=categorical, free_raw_data=True
    )
    valid_set = lgb.Dataset(x_valid, y_valid, reference=train_set)
    params = config.params()
    if config.imbalance == "sqrt":
        params["scale_pos_weight"] = float(np.sqrt((len(y_train) - y_train.sum()) / y_train.sum()))
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.max_rounds,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
    )
    booster.free_dataset()
    seconds["boosting"] = time.perf_counter() - clock

    raw_valid = booster.predict(x_valid, raw_score=True, num_iteration=booster.best_iteration)
    # Keep only the trees early stopping chose, so serving never evaluates the rest.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    calibrator = Calibrator.fit(raw_valid, y_valid)
    channels = Channels.from_capacity(
        raw_valid, config.red_share, config.yellow_share, config.random_share
    )
    info = {
        "train_from": str(split.train["date"].min().date()),
        "train_until": str(split.until.date()),
        "valid_until": str((split.end - pd.Timedelta(days=1)).date()),
        "train_rows": len(split.train),
        "valid_rows": len(split.valid),
        "train_positives": int(y_train.sum()),
        "valid_positives": int(y_valid.sum()),
        "config": _jsonable(asdict(config)),
        "random_salt": secrets.token_hex(16),
        # Serving scores this before it accepts the model: a model that cannot is refused.
        "example": declaration_records(split.valid.head(1))[0],
    }
    model = RiskModel(pipeline, encoder, booster, calibrator, channels, names, info)

    score_valid = calibrator(raw_valid)
    revenue = metrics.revenue_of(split.valid)
    found = metrics.at_capacity(raw_valid, y_valid, revenue)
    found["brier"] = float(np.mean((score_valid - y_valid) ** 2))
    found["best_iteration"] = float(booster.current_iteration())

    rng = np.random.default_rng(config.seed)
    sample = np.sort(rng.choice(len(x_valid), size=min(len(x_valid), 5000), replace=False))
    contributions = model.contributions(x_valid[sample])
    valid = pd.DataFrame(
        {
            "id": split.valid["id"].to_numpy(),
            "date": split.valid["date"].to_numpy(),
            "label": y_valid,
            "raw": raw_valid,
            "score": score_valid,
            "channel": channels.assign(raw_valid),
            "revenue": revenue if revenue is not None else np.nan,
            "hs2": valid_features["hs2"].to_numpy(),
            "origin_country": valid_features["origin_country"].to_numpy(),
            "transport_mode": valid_features["transport_mode"].to_numpy(),
        }
    )
    model.info["metrics"] = found
    importance = _importance(model, contributions)
    model.info["importance"] = importance.to_dict("records")

    # The deployed state: statistics over every record up to the end of validation.
    clock = time.perf_counter()
    deployed = pd.concat([split.train, split.valid])
    pipeline.fit(deployed, seizures[seizures["date"] < split.end], split.end)
    model.info["state_as_of"] = str(split.end.date())
    seconds["refit_state"] = time.perf_counter() - clock
    return TrainResult(
        model=model,
        metrics=found,
        valid=valid,
        valid_contributions=contributions,
        valid_sample_features=valid_features.iloc[sample].reset_index(drop=True),
        importance=importance,
        best_iteration=booster.current_iteration(),
        seconds=seconds,
    )


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return value
