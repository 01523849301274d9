"""Train out of time: learn on history, early-stop, calibrate and judge on the window after.

The split is by date. Training rows get point-in-time features from the training window only;
validation rows are scored exactly as serving would score them, from the feature state frozen at
the cutoff. The validation window is split in two slices (stratified by label, by a hash of the
declaration id and the seed): the booster early-stops on one, the calibrator is fitted on the
other, and Brier and log-loss are cross-fitted inside the calibration slice, so every figure of
the calibrated score is out of sample. The deployed model then carries a state refreshed with
the validation window too, so it starts serving with the most recent trader and seizure
statistics.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import lightgbm as lgb
import numpy as np
import pandas as pd

from riskscore.features.contracts import declaration_records
from riskscore.features.dataset import History
from riskscore.features.pipeline import LABEL, FeaturePipeline
from riskscore.models import metrics
from riskscore.models.drift import DriftReference
from riskscore.models.risk_model import (
    DEFAULT_TABLE_CAP,
    Calibrator,
    CategoryEncoder,
    Channels,
    RiskModel,
    random_draw,
)
from riskscore.training.config import TrainConfig
from riskscore.training.oof import oof_features
from riskscore.training.shape import (
    TIMED_ROWS,
    Candidate,
    SearchResult,
    Shape,
    explain_ms,
    search_shapes,
)

log = logging.getLogger(__name__)

MIN_ROWS = 50  # per window, training and validation
MIN_POSITIVES = 5
# A validation window grown to hold min_valid_positives never takes more than this share of the
# offences: the booster learns from the rest.
MAX_VALID_SHARE = 0.5


class TrainingError(Exception):
    """Training cannot go on (too little data, no positives...); the message says why."""


@dataclass
class Split:
    train: pd.DataFrame
    valid: pd.DataFrame
    until: pd.Timestamp
    end: pd.Timestamp  # first day after the validation window
    reason: str = ""  # why the validation window is as long as it is, in words
    warning: str | None = None  # set when it holds fewer than min_valid_positives offences

    @property
    def days(self) -> int:
        return (self.end - self.until).days


def split_by_time(declarations: pd.DataFrame, config: TrainConfig) -> Split:
    """Training rows before `until`, validation rows from it to the end of the window.

    With `config.until` the window is the `valid_days` from it. Without, it ends with the last
    day of data and is `valid_days` long, grown back a whole day at a time while it holds fewer
    than `min_valid_positives` offences, but never past half of all offences
    (MAX_VALID_SHARE). Either way, a window short of `min_valid_positives` is named in
    `Split.warning`; fewer than 50 rows or 5 offences on either side is an error.
    """
    if declarations.empty:
        raise TrainingError("no declarations in the store: ingest data first")
    first, last = declarations["date"].min(), declarations["date"].max()
    need = config.min_valid_positives
    if config.until is not None:
        until = pd.Timestamp(config.until).normalize()
        end = until + pd.Timedelta(days=config.valid_days)
        reason = f"{config.valid_days} days from {until.date()} (until given)"
    else:
        end = last.normalize() + pd.Timedelta(days=1)
        days, reason = _valid_days(declarations, end, config)
        until = end - pd.Timedelta(days=days)
    train = declarations[declarations["date"] < until]
    valid = declarations[(declarations["date"] >= until) & (declarations["date"] < end)]
    for name, part in (("training", train), ("validation", valid)):
        if len(part) < MIN_ROWS:
            raise TrainingError(
                f"the {name} window has {len(part)} declarations (need at least {MIN_ROWS}): "
                f"choose another --until (data spans {first.date()} to {last.date()})"
            )
        positives = int(part[LABEL].sum())
        if positives < MIN_POSITIVES:
            raise TrainingError(
                f"the {name} window has {positives} positives (need at least {MIN_POSITIVES}; "
                f"it runs from {part['date'].min().date()} to {part['date'].max().date()}): "
                f"choose another --until or --valid-days (data spans {first.date()} to "
                f"{last.date()})"
            )
    split = Split(train, valid, until, end, reason)
    positives = int(valid[LABEL].sum())
    if positives < need:
        split.warning = (
            f"the validation window holds {positives} positives, fewer than the "
            f"{need} wanted (min_valid_positives): early stopping and calibration rest on few "
            + (
                "offences; choose an earlier --until or more --valid-days"
                if config.until is not None
                else "offences; a longer window would leave the training window less than "
                f"{1 - MAX_VALID_SHARE:.0%} of them"
            )
        )
    return split


def _valid_days(declarations: pd.DataFrame, end: pd.Timestamp, config: TrainConfig) -> tuple:
    """Days of the validation window ending before `end`, and why, in words."""
    wanted, need = config.valid_days, config.min_valid_positives
    # back[k]: offences in the k days before `end` (back[0] = 0).
    ago = (end - declarations["date"].dt.normalize()).dt.days.to_numpy()
    label = declarations[LABEL].fillna(0).to_numpy(dtype="float64")
    back = np.cumsum(np.bincount(ago, weights=label))
    back = np.concatenate([back, np.full(max(0, wanted + 1 - len(back)), back[-1])])
    if back[wanted] >= need:
        return wanted, f"{wanted} days"
    # The most days that leave the training window at least half of the offences.
    cap = int(np.flatnonzero(back <= MAX_VALID_SHARE * back[-1])[-1])
    enough = np.flatnonzero(back >= need)
    days = int(enough[0]) if len(enough) else len(back)
    if days <= cap:
        return days, f"extended to {days} days to hold {need} positives"
    if cap > wanted:
        return cap, (
            f"extended to {cap} days to hold more positives (short of {need}: the training "
            f"window keeps at least half of the offences)"
        )
    return wanted, (
        f"{wanted} days (short of {need} positives, not extended: the training window keeps "
        "at least half of the offences)"
    )


@dataclass
class TrainResult:
    """The model, and what we know of it on the validation window."""

    model: RiskModel
    metrics: dict[str, float]
    # id, date, label, raw, score, slice, score_held_out, channel, revenue + segment columns
    valid: pd.DataFrame
    valid_sample_features: pd.DataFrame
    importance: pd.DataFrame  # feature, criterion, mean_abs_shap
    search: SearchResult  # the shapes tried, their precision and explanation cost
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
    ids = split.valid["id"].astype("string").to_numpy()
    y_valid = split.valid[LABEL].to_numpy(dtype="float64")
    calibrate = slice_mask(ids, y_valid, config.calibration_share, f"calibration-{config.seed}")
    with _timed(seconds, "features"):
        inputs = _inputs(split, history.seizures, config)
    with _timed(seconds, "boosting"):
        searched = _search(inputs, config, stop=~calibrate)
        booster, raw_valid = searched.booster, searched.raw_valid
    calibrator = Calibrator.fit(raw_valid[calibrate], y_valid[calibrate])
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
        _info(split, inputs, config, calibrate),
    )
    model.info["calibration"] = {
        "method": calibrator.method,
        "knots": len(calibrator.x),
        "fitted_on": "calibration slice",
    }
    # Out of sample: 2-fold cross-fitting inside the calibration slice.
    held_out = np.full(len(raw_valid), np.nan)
    held_out[calibrate] = cross_fitted(
        raw_valid[calibrate], y_valid[calibrate], ids[calibrate], config.seed
    )
    valid = _valid_table(split, inputs, raw_valid, model, calibrate, held_out)
    revenue = metrics.revenue_of(split.valid)
    found = metrics.at_capacity(raw_valid, y_valid, revenue)
    found |= metrics.probability_quality(held_out[calibrate], y_valid[calibrate])
    found["score_distinct_at_10pct"] = distinct_share(valid["score"].to_numpy(), raw_valid, 0.10)
    slice_revenue = revenue[calibrate] if revenue is not None else None
    found |= {
        f"calibration_slice.{k}": v
        for k, v in metrics.at_capacity(
            raw_valid[calibrate], y_valid[calibrate], slice_revenue
        ).items()
    }
    found["best_iteration"] = float(booster.current_iteration())
    found["explain_ms"] = searched.chosen.explain_ms
    model.info["metrics"] = found
    model.info["shape"] = searched.chosen.to_dict() | {"why": searched.note}
    model.info["shape_search"] = {
        "budget_ms": searched.budget_ms,
        "searched": config.shape_search,
        "candidates": [c.to_dict() for c in searched.candidates],
    }

    rng = np.random.default_rng(config.seed)
    size = min(len(inputs.x_valid), 5000)
    sample = np.sort(rng.choice(len(inputs.x_valid), size=size, replace=False))
    contributions = model.contributions(inputs.x_valid[sample])
    importance = _importance(model, contributions)
    model.info["importance"] = importance.to_dict("records")
    model.info["explainer"] = model.explainer.info.to_dict()

    with _timed(seconds, "refit_state"):
        # The deployed state: statistics over every record up to the end of validation.
        deployed = pd.concat([split.train, split.valid])
        seizures = history.seizures
        inputs.pipeline.fit(deployed, seizures[seizures["date"] < split.end], split.end)
        model.info["state_as_of"] = str(split.end.date())
    with _timed(seconds, "drift_reference"):
        model.info["drift_reference"] = _drift_reference(model, split.valid, inputs.categorical)
    return TrainResult(
        search=searched,
        model=model,
        metrics=found,
        valid=valid,
        valid_sample_features=inputs.valid_features.iloc[sample].reset_index(drop=True),
        importance=importance,
        best_iteration=booster.current_iteration(),
        seconds=seconds,
    )


def _drift_reference(model: RiskModel, valid: pd.DataFrame, categorical: list[str]) -> dict:
    """The bins drift is measured with (models.drift): the validation window featurised with
    the deployed feature state, as the model will see the traffic that follows. With the state
    of the cutoff instead, every statistic the refit moved would count as drift of the traffic.
    """
    x = model.matrix(model.features(valid))
    dates = valid["date"]
    return DriftReference.fit(
        x,
        model.raw_score(x),
        model.feature_names,
        categorical,
        f"the validation window, {dates.min().date()} to {dates.max().date()}, featurised with "
        "the deployed feature state",
    ).to_dict()


def slice_mask(ids: np.ndarray, label: np.ndarray, share: float, salt: str) -> np.ndarray:
    """True for `share` of the rows of each label (rounded), chosen by a keyed hash of the id.

    The same ids, labels and salt always give the same rows; which side a row falls on does
    not depend on the other rows' order.
    """
    draw = random_draw([str(i) for i in ids], salt)
    chosen = np.zeros(len(ids), dtype=bool)
    for value in np.unique(label):
        rows = np.flatnonzero(label == value)
        order = rows[np.lexsort((np.asarray(ids)[rows], draw[rows]))]
        chosen[order[: int(round(len(rows) * share))]] = True
    return chosen


def cross_fitted(raw: np.ndarray, label: np.ndarray, ids: np.ndarray, seed: int) -> np.ndarray:
    """Each row's probability from a calibrator fitted on the other half of the rows (2 folds,
    stratified by label, by a hash of the id): an out-of-sample score for every row."""
    fold = slice_mask(ids, label, 0.5, f"calibration-fold-{seed}")
    out = np.empty(len(raw))
    for held in (fold, ~fold):
        if held.any():
            out[held] = Calibrator.fit(raw[~held], label[~held])(raw[held])
    return out


def distinct_share(score: np.ndarray, raw: np.ndarray, share: float) -> float:
    """Distinct scores among the top `share` of rows by raw score, over the rows: 1.0 when
    the score ranks them without ties."""
    top = score[metrics.top_mask(raw, share)]
    return float(len(np.unique(top)) / len(top)) if len(top) else 0.0


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


def _search(inputs: _Inputs, config: TrainConfig, stop: np.ndarray) -> SearchResult:
    """The shape to deploy (training.shape), fitted on every training row; without a search,
    the fixed shape, measured the same way.

    Candidates are judged on the early-stopping slice (the calibration slice stays unseen by
    every choice), by the mean precision at the red and at the red + yellow capacities.
    """
    timing = inputs.x_valid[_sample(len(inputs.x_valid), TIMED_ROWS, config.seed)]
    y_stop = inputs.y_valid[stop]
    capacities = (config.red_share, config.red_share + config.yellow_share)

    def precision(raw: np.ndarray) -> float:
        return float(np.mean([y_stop[metrics.top_mask(raw[stop], c)].mean() for c in capacities]))

    def progress(c: Candidate) -> None:
        log.info("shape %s: precision %.4f, %.3f ms", c.shape.label(), c.precision, c.explain_ms)

    shapes = config.shapes if config.shape_search else (config.fixed_shape(),)
    rows = None
    if len(shapes) > 1 and len(inputs.y_train) > config.search_rows:
        rows = np.sort(_sample(len(inputs.y_train), config.search_rows, config.seed))
    result = search_shapes(
        shapes,
        lambda candidate: _boost(inputs, config, stop, candidate, rows),
        precision,
        timing,
        config.explain_budget_ms,
        DEFAULT_TABLE_CAP,
        progress,
    )
    if rows is not None:  # the chosen shape again, on every training row, measured again
        chosen = result.chosen
        result.booster, result.raw_valid = _boost(inputs, config, stop, chosen.shape)
        chosen.trees = result.booster.num_trees()
        chosen.precision = precision(result.raw_valid)
        chosen.explain_ms, _ = explain_ms(result.booster, timing, DEFAULT_TABLE_CAP)
        chosen.fits = chosen.explain_ms <= config.explain_budget_ms
    return result


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(n, size=min(n, size), replace=False)


def _boost(
    inputs: _Inputs,
    config: TrainConfig,
    early_stopping: np.ndarray,
    shape: Shape,
    rows: np.ndarray | None = None,
) -> tuple[lgb.Booster, np.ndarray]:
    """The booster of `shape` (on the training `rows`, default all) early-stopped on the
    `early_stopping` rows of validation and cut at its best iteration, and its raw scores of
    all the validation rows."""
    train_set = lgb.Dataset(
        inputs.x_train if rows is None else inputs.x_train[rows],
        inputs.y_train if rows is None else inputs.y_train[rows],
        feature_name=inputs.names,
        categorical_feature=inputs.categorical,
        free_raw_data=True,
    )
    valid_set = lgb.Dataset(
        inputs.x_valid[early_stopping], inputs.y_valid[early_stopping], reference=train_set
    )
    params = config.params(shape)
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


def _info(split: Split, inputs: _Inputs, config: TrainConfig, calibrate: np.ndarray) -> dict:
    """What the model says of its training: windows, counts, config, salt, example."""
    y = inputs.y_valid
    return {
        "train_from": str(split.train["date"].min().date()),
        "train_until": str(split.until.date()),
        "valid_until": str((split.end - pd.Timedelta(days=1)).date()),
        "train_rows": len(split.train),
        "valid_rows": len(split.valid),
        "train_positives": int(inputs.y_train.sum()),
        "valid_positives": int(y.sum()),
        "valid_window": {
            "from": str(split.until.date()),
            "until": str((split.end - pd.Timedelta(days=1)).date()),
            "days": split.days,
            "rows": len(split.valid),
            "positives": int(y.sum()),
            "min_valid_positives": config.min_valid_positives,
            "reason": split.reason,
            "warning": split.warning,
            "early_stopping_rows": int((~calibrate).sum()),
            "early_stopping_positives": int(y[~calibrate].sum()),
            "calibration_rows": int(calibrate.sum()),
            "calibration_positives": int(y[calibrate].sum()),
        },
        "config": _jsonable(asdict(config)),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "random_salt": secrets.token_hex(16),
        # Serving scores this before it accepts the model: a model that cannot is refused.
        "example": declaration_records(split.valid.head(1))[0],
    }


def _valid_table(
    split: Split,
    inputs: _Inputs,
    raw_valid: np.ndarray,
    model: RiskModel,
    calibrate: np.ndarray,
    held_out: np.ndarray,
) -> pd.DataFrame:
    """One row per validation declaration: label, scores, channel, revenue, segments.

    `slice` says which half of the window a row is in; `score_held_out` is its cross-fitted
    probability in the calibration slice (NaN in the early-stopping slice).
    """
    revenue = metrics.revenue_of(split.valid)
    features = inputs.valid_features
    return pd.DataFrame(
        {
            "id": split.valid["id"].to_numpy(),
            "date": split.valid["date"].to_numpy(),
            "label": inputs.y_valid,
            "raw": raw_valid,
            "score": model.calibrator(raw_valid),
            "slice": np.where(calibrate, "calibration", "early_stopping"),
            "score_held_out": held_out,
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
