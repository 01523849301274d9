"""The periodic retraining job (cron / Kubernetes CronJob) and its promotion gate.

One run:

1. The evaluation window E is the most recent `eval_days` of labelled declarations, cut to
   start no earlier than the champion's feature-state date, so the champion has never seen it.
2. A challenger learns from the `window_days` before E (the last `valid_days` of them for early
   stopping and calibration), so E is out of time for both models.
3. Champion and challenger score the same rows of E with the same function
   (`evaluate.evaluate_rows`, the serving path); the challenger is promoted only when its
   precision at `capacity` is at least the champion's plus `margin`. With no champion yet, the
   challenger becomes champion.
4. The challenger's feature state is refreshed with E (it serves with the latest statistics),
   everything is logged in one MLflow run, and only then is the version registered and an alias
   moved. A crash before that leaves no version and no alias moved.

Idempotent: the run records a fingerprint of the store's content. When the last finished
retraining run judged the same data against the same champion, or E holds too little data that
the champion has not seen, the job changes nothing and says "kept".

Exit codes (`EXIT_CODES`): 0 promoted, 3 kept (champion unchanged), 1 failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from riskscore.features.dataset import History, load_history
from riskscore.features.pipeline import LABEL
from riskscore.features.store import Store
from riskscore.models.risk_model import RiskModel
from riskscore.settings import Settings
from riskscore.training import tracking
from riskscore.training.evaluate import evaluate_rows, precision_key, window
from riskscore.training.job import fed_back_outcomes, log_result, store_fingerprint
from riskscore.training.train import TrainConfig, train


class Decision(StrEnum):
    PROMOTED = "promoted"  # the new version is champion
    KEPT = "kept"  # the champion stays (challenger not better, or nothing new to learn from)
    FAILED = "failed"


EXIT_CODES = {Decision.PROMOTED: 0, Decision.KEPT: 3, Decision.FAILED: 1}


class RetrainError(Exception):
    """The job cannot run (no store, too little data...); the message says why."""


@dataclass(frozen=True)
class RetrainConfig:
    """Windows and the promotion gate."""

    window_days: int = 365  # declarations the challenger learns from, its validation included
    eval_days: int = 60  # the most recent out-of-time window both models are judged on
    valid_days: int = 60  # the challenger's early-stopping and calibration window
    margin: float = 0.01  # precision points the challenger must gain to be promoted
    capacity: float = 0.05  # inspected share the gate compares precision at
    min_eval_rows: int = 100
    min_eval_positives: int = 5
    experiment: str = "customs-risk"
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.window_days <= self.valid_days:
            raise ValueError("window_days must be longer than valid_days")
        if not 0 < self.capacity < 1:
            raise ValueError("capacity is a share of declarations, between 0 and 1")


@dataclass
class RetrainOutcome:
    """What the job decided and why."""

    decision: Decision
    reason: str
    run_id: str
    fingerprint: str
    champion_before: str | None
    champion_after: str | None
    new_version: str | None = None
    champion_metrics: dict[str, float] = field(default_factory=dict)
    challenger_metrics: dict[str, float] = field(default_factory=dict)
    eval_from: str | None = None
    eval_to: str | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()} | {"exit_code": self.exit_code}


def retrain(
    store_dir: Path, settings: Settings, config: RetrainConfig | None = None, force: bool = False
) -> RetrainOutcome:
    """Run the job once; see the module docstring. Raises on failure (nothing registered).

    `force` judges again data that an earlier run already judged against the same champion
    (e.g. after changing the gate); it still needs new data the champion has not seen.
    """
    started = time.perf_counter()
    config = config or RetrainConfig()
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise RetrainError(f"{store_dir}: no such store; ingest data first")
    store = Store(store_dir)
    outcomes = fed_back_outcomes(settings)
    history = load_history(store, outcomes=outcomes)
    labelled = history.declarations[history.declarations[LABEL].notna()]
    if labelled.empty:
        raise RetrainError(f"{store_dir}: no labelled declarations to learn from")
    fingerprint = store_fingerprint(store, outcomes)

    tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(config.experiment, settings)
    name = settings.model_name
    champion_version = tracking.alias_version(name, tracking.CHAMPION)
    champion = None
    if champion_version is not None:
        champion = tracking.load_model(f"models:/{name}/{champion_version}")

    last_day = labelled["date"].max().normalize()
    eval_from = last_day - pd.Timedelta(days=config.eval_days - 1)
    if champion is not None and champion.info.get("state_as_of"):
        eval_from = max(eval_from, pd.Timestamp(champion.info["state_as_of"]))
    eval_rows = window(labelled, eval_from, last_day)

    outcome = RetrainOutcome(
        decision=Decision.KEPT,
        reason="",
        run_id="",
        fingerprint=fingerprint,
        champion_before=champion_version,
        champion_after=champion_version,
        eval_from=str(eval_from.date()),
        eval_to=str(last_day.date()),
    )
    skip = _skip_reason(
        config, experiment_id, fingerprint, champion_version, eval_rows, eval_from, force
    )
    with mlflow.start_run(experiment_id=experiment_id, run_name="retrain") as run:
        outcome.run_id = run.info.run_id
        mlflow.set_tags(
            {
                "job": "retrain",
                "data_fingerprint": fingerprint,
                "champion_before": champion_version or "",
            }
        )
        mlflow.log_params(
            {
                "window_days": config.window_days,
                "eval_days": config.eval_days,
                "valid_days": config.valid_days,
                "margin": config.margin,
                "capacity": config.capacity,
                "eval_from": outcome.eval_from,
                "eval_to": outcome.eval_to,
            }
        )
        mlflow.set_tag("skipped", str(bool(skip)).lower())
        if skip:
            outcome.reason = skip
            _record(outcome)
        else:
            try:
                _challenge(outcome, store, history, eval_rows, eval_from, champion, config, name)
            except Exception as exc:
                mlflow.set_tags({"decision": Decision.FAILED.value, "error": str(exc)[:500]})
                raise
        outcome.seconds = time.perf_counter() - started
        mlflow.log_metric("seconds.total", outcome.seconds)
    return outcome


def _skip_reason(
    config: RetrainConfig,
    experiment_id: str,
    fingerprint: str,
    champion_version: str | None,
    eval_rows: pd.DataFrame,
    eval_from: pd.Timestamp,
    force: bool,
) -> str | None:
    """Why this run has nothing to do, or None."""
    if champion_version is not None and not force:
        done = MlflowClient().search_runs(
            [experiment_id],
            filter_string=(
                f"tags.job = 'retrain' and tags.data_fingerprint = '{fingerprint}' "
                f"and tags.champion_after = '{champion_version}' and tags.skipped = 'false' "
                "and attributes.status = 'FINISHED'"
            ),
            max_results=1,
        )
        if done:
            return (
                f"already judged: run {done[0].info.run_id} compared a challenger with champion "
                f"v{champion_version} on the same data (fingerprint {fingerprint})"
            )
    positives = int(eval_rows[LABEL].sum()) if len(eval_rows) else 0
    if len(eval_rows) < config.min_eval_rows or positives < config.min_eval_positives:
        return (
            f"not enough new data to judge: {len(eval_rows)} labelled declarations "
            f"({positives} positive) from {eval_from.date()}, the first day the champion has not "
            f"seen; need {config.min_eval_rows} and {config.min_eval_positives}"
        )
    return None


def _challenge(
    outcome: RetrainOutcome,
    store: Store,
    history: History,
    eval_rows: pd.DataFrame,
    eval_from: pd.Timestamp,
    champion: RiskModel | None,
    config: RetrainConfig,
    name: str,
) -> None:
    """Train, judge, log and (last) register the challenger; fills `outcome`."""
    declarations = history.declarations
    start = eval_from - pd.Timedelta(days=config.window_days)
    rolling = History(
        declarations=declarations[
            (declarations["date"] >= start) & (declarations["date"] < eval_from)
        ],
        seizures=history.seizures[history.seizures["date"] < eval_from],
        links=history.links,
        label_counts=history.label_counts,
    )
    train_config = replace(
        config.train,
        until=eval_from - pd.Timedelta(days=config.valid_days),
        valid_days=config.valid_days,
    )
    result = train(rolling, train_config)
    challenger = result.model

    gate = precision_key(config.capacity)
    judged_challenger = evaluate_rows(challenger, eval_rows, config.capacity)
    outcome.challenger_metrics = judged_challenger.metrics
    if champion is None:
        outcome.decision = Decision.PROMOTED
        outcome.reason = "no champion yet: the first model becomes champion"
    else:
        judged_champion = evaluate_rows(champion, eval_rows, config.capacity)
        outcome.champion_metrics = judged_champion.metrics
        ours, theirs = judged_challenger.metrics[gate], judged_champion.metrics[gate]
        better = ours >= theirs + config.margin
        outcome.decision = Decision.PROMOTED if better else Decision.KEPT
        outcome.reason = (
            f"challenger {gate} {ours:.4f} vs champion {theirs:.4f} "
            f"({'>=' if better else '<'} champion + margin {config.margin:g})"
        )

    _refresh_state(challenger, history, start, eval_rows)
    challenger.info["holdout"] = {
        "from": outcome.eval_from,
        "to": outcome.eval_to,
        "challenger": judged_challenger.metrics,
        "champion": outcome.champion_metrics,
    }
    model_uri = log_result(result, store, history.label_counts, train_config)
    _log_holdout("challenger", judged_challenger.metrics)
    _log_holdout("champion", outcome.champion_metrics)
    _record(outcome)

    # Last: the version appears and the alias moves only once everything else succeeded.
    alias = tracking.CHAMPION if outcome.decision is Decision.PROMOTED else tracking.CHALLENGER
    registered = tracking.register(
        model_uri,
        name,
        outcome.run_id,
        alias=alias,
        tags={"data_fingerprint": outcome.fingerprint, "decision": outcome.decision.value},
    )
    outcome.new_version = registered.version
    if outcome.decision is Decision.PROMOTED:
        outcome.champion_after = registered.version
    mlflow.set_tags(
        {
            "registered_version": registered.version,
            "alias": alias,
            "champion_after": outcome.champion_after or "",
        }
    )


def _refresh_state(
    model: RiskModel, history: History, start: pd.Timestamp, eval_rows: pd.DataFrame
) -> None:
    """Refit the model's feature state through the end of E, so it serves with fresh statistics."""
    end = eval_rows["date"].max().normalize() + pd.Timedelta(days=1)
    declarations = history.declarations
    recent = declarations[(declarations["date"] >= start) & (declarations["date"] < end)]
    model.pipeline.fit(recent, history.seizures[history.seizures["date"] < end], end)
    model.info["state_as_of"] = str(end.date())


def _log_holdout(who: str, metrics: dict[str, float]) -> None:
    mlflow.log_metrics({f"holdout.{who}.{k}": v for k, v in metrics.items()})


def _record(outcome: RetrainOutcome) -> None:
    """The decision as run tags (the champion tag is final only once registration is done)."""
    mlflow.set_tags(
        {
            "decision": outcome.decision.value,
            "reason": outcome.reason[:500],
            "champion_after": outcome.champion_after or "",
        }
    )
