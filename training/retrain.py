"""The periodic retraining job (cron / Kubernetes CronJob) and its promotion gate.

One run:

1. The evaluation window E is the most recent `eval_days` of labelled declarations, cut to
   start no earlier than the champion's feature-state date, so the champion has never seen it.
2. A challenger learns from the `window_days` before E (the last `valid_days` of them, grown
   back to hold enough offences as `riskscore train` does, for early stopping and
   calibration), so E is out of time for both models.
3. Champion and challenger score the same rows of E with the same function
   (`models.window.score_window`, the serving path); the challenger is promoted only when its
   precision at `capacity` is at least the champion's plus `margin`. With no champion yet, the
   challenger becomes champion. When the selection records of E hold at least
   `min_random_outcomes` outcomes of the random stream, the precisions compared are the
   unbiased estimates over every declaration scored in E (models.unbiased: both models rank
   the whole traffic, outcomes weighted by inverse propensity), not the figures on inspected
   declarations, which flatter whichever model did the selecting; the reason says which.
4. The challenger's feature state is refreshed with E (it serves with the latest statistics),
   everything is logged in one MLflow run, and only then is the version registered, as
   challenger; a promotion then moves the champion alias to it. The decision (run and version
   tag `decision`) stays `pending` until the registry holds it: `promoted` only once the
   champion alias has moved. A crash before registration leaves no version and no alias moved;
   a kill leaves the run RUNNING until the next job marks it FAILED (`tracking.fail_orphans`).

With `if_drift` T, a champion whose traffic over E has not drifted (the PSI of the score and
of every input it relies on at most T, models.drift) is kept without training a challenger.

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
from mlflow.exceptions import MlflowException

from riskscore.database import locate
from riskscore.features.dataset import History, load_history
from riskscore.features.outcomes import read_outcomes
from riskscore.features.pipeline import LABEL
from riskscore.features.store import Store
from riskscore.models import registry
from riskscore.models.metrics import precision_key
from riskscore.models.risk_model import RiskModel
from riskscore.models.selection_log import no_selections, read_selections
from riskscore.models.traffic_drift import DriftError, traffic_drift
from riskscore.models.unbiased import unbiased
from riskscore.models.window import labelled as labelled_window
from riskscore.models.window import score_window
from riskscore.settings import Settings
from riskscore.training import tracking
from riskscore.training.config import RetrainConfig
from riskscore.training.evaluate import judge
from riskscore.training.job import log_result
from riskscore.training.train import train


class Decision(StrEnum):
    PROMOTED = "promoted"  # the new version is champion
    KEPT = "kept"  # the champion stays (challenger not better, or nothing new to learn from)
    FAILED = "failed"


EXIT_CODES = {Decision.PROMOTED: 0, Decision.KEPT: 3, Decision.FAILED: 1}


class RetrainError(Exception):
    """The job cannot run (no store, too little data...); the message says why."""


@dataclass
class RetrainResult:
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
    orphans: list[str] = field(default_factory=list)  # runs of killed jobs this one marked FAILED
    valid_window: dict = field(default_factory=dict)  # the challenger's, as `train` chose it
    drift: dict = field(default_factory=dict)  # the champion's drift over E, with --if-drift
    unbiased: dict = field(default_factory=dict)  # both models without selection bias, on E
    gate: str = "inspected"  # what the gate compared: "unbiased" or "inspected" declarations

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()} | {"exit_code": self.exit_code}


@dataclass
class _Inputs:
    """What one run works on: the store's history, the champion and the window E."""

    store: Store
    history: History
    fingerprint: str
    champion_version: str | None
    champion: RiskModel | None
    eval_from: pd.Timestamp
    eval_to: pd.Timestamp
    eval_rows: pd.DataFrame  # the labelled declarations of E
    # The selection records of E (models.selection_log): none unless the service scored it.
    selections: pd.DataFrame = field(default_factory=no_selections)


def retrain(
    store_dir: Path, settings: Settings, config: RetrainConfig | None = None, force: bool = False
) -> RetrainResult:
    """Run the job once; see the module docstring. Raises on failure (champion alias unmoved).

    `force` judges again data that an earlier run already judged against the same champion
    (e.g. after changing the gate); it still needs new data the champion has not seen.
    """
    started = time.perf_counter()
    config = config or RetrainConfig()
    registry.configure(settings)
    inputs = _inputs(Path(store_dir), settings, config)
    experiment_id = tracking.ensure_experiment(settings)
    orphans = tracking.fail_orphans(experiment_id)
    result = RetrainResult(
        decision=Decision.KEPT,
        reason="",
        run_id="",
        fingerprint=inputs.fingerprint,
        champion_before=inputs.champion_version,
        champion_after=inputs.champion_version,
        eval_from=str(inputs.eval_from.date()),
        eval_to=str(inputs.eval_to.date()),
        orphans=orphans,
    )
    skip = _skip_reason(config, experiment_id, inputs, force)
    if skip is None and config.if_drift is not None and inputs.champion is not None:
        skip = _drift_skip(result, inputs, config.if_drift)
    tags = tracking.process_tags() | {"job": "retrain", "decision": tracking.PENDING}
    with mlflow.start_run(experiment_id=experiment_id, run_name="retrain", tags=tags) as run:
        result.run_id = run.info.run_id
        _log_start(result, config, skipped=bool(skip))
        if result.drift:
            mlflow.log_dict(result.drift, "drift.json")
        if skip:
            result.reason = skip
            _record(result)
        else:
            try:
                _challenge(result, inputs, config, settings.model_name)
            except Exception as exc:
                _record_failure(result, settings.model_name, exc)
                raise
        result.seconds = time.perf_counter() - started
        mlflow.log_metric("seconds.total", result.seconds)
    return result


def _inputs(store_dir: Path, settings: Settings, config: RetrainConfig) -> _Inputs:
    """The store's labelled history, the champion, and E: the most recent `eval_days`, cut to
    start no earlier than the champion's state date."""
    if not store_dir.is_dir():
        raise RetrainError(f"{store_dir}: no such store; ingest data first")
    store = Store(store_dir)
    outcomes = read_outcomes(locate(settings).outcomes)
    history = load_history(store, outcomes=outcomes)
    labelled = history.declarations[history.declarations[LABEL].notna()]
    if labelled.empty:
        raise RetrainError(f"{store_dir}: no labelled declarations to learn from")
    name = settings.model_name
    champion_version = registry.alias_version(name, registry.CHAMPION)
    champion = None
    if champion_version is not None:
        champion = registry.load_model(f"models:/{name}/{champion_version}")
    last_day = labelled["date"].max().normalize()
    eval_from = last_day - pd.Timedelta(days=config.eval_days - 1)
    if champion is not None and champion.info.get("state_as_of"):
        eval_from = max(eval_from, pd.Timestamp(champion.info["state_as_of"]))
    return _Inputs(
        store=store,
        history=history,
        fingerprint=store.fingerprint(outcomes),
        champion_version=champion_version,
        champion=champion,
        eval_from=eval_from,
        eval_to=last_day,
        eval_rows=labelled_window(labelled, eval_from, last_day),
        selections=read_selections(locate(settings).selections, eval_from, last_day),
    )


def _log_start(result: RetrainResult, config: RetrainConfig, skipped: bool) -> None:
    mlflow.set_tags(
        {
            "data_fingerprint": result.fingerprint,
            "champion_before": result.champion_before or "",
            "skipped": str(skipped).lower(),
        }
    )
    mlflow.log_params(
        {
            "window_days": config.window_days,
            "eval_days": config.eval_days,
            "valid_days": config.valid_days,
            "margin": config.margin,
            "capacity": config.capacity,
            "eval_from": result.eval_from,
            "eval_to": result.eval_to,
        }
    )


def _skip_reason(
    config: RetrainConfig, experiment_id: str, inputs: _Inputs, force: bool
) -> str | None:
    """Why this run has nothing to do, or None."""
    champion_version, fingerprint = inputs.champion_version, inputs.fingerprint
    if champion_version is not None and not force:
        done = tracking.judged_run(experiment_id, fingerprint, champion_version)
        if done:
            return (
                f"already judged: run {done} compared a challenger with champion "
                f"v{champion_version} on the same data (fingerprint {fingerprint})"
            )
    rows = inputs.eval_rows
    positives = int(rows[LABEL].sum()) if len(rows) else 0
    if len(rows) < config.min_eval_rows or positives < config.min_eval_positives:
        return (
            f"not enough new data to judge: {len(rows)} labelled declarations "
            f"({positives} positive) from {inputs.eval_from.date()}, the first day the champion "
            f"has not seen; need {config.min_eval_rows} and {config.min_eval_positives}"
        )
    return None


def _drift_skip(result: RetrainResult, inputs: _Inputs, threshold: float) -> str | None:
    """Why there is no need to retrain (the champion's traffic has not drifted), or None."""
    try:
        found = traffic_drift(inputs.champion, inputs.history, inputs.eval_from, inputs.eval_to)
    except DriftError as exc:
        result.drift = {"error": str(exc)}
        return None  # drift unknown: judge a challenger as without --if-drift
    value, feature = found.relied_on
    result.drift = {k: v for k, v in found.to_dict().items() if k != "features"}
    result.drift["threshold"] = threshold
    if value > threshold:
        return None
    return (
        f"no drift: the largest PSI on the score or an input champion v{result.champion_before} "
        f"relies on is {value:.3f} ({feature}) over {found.rows} declarations from "
        f"{found.date_from} to {found.date_to}, within --if-drift {threshold:g}"
    )


def _challenge(result: RetrainResult, inputs: _Inputs, config: RetrainConfig, name: str) -> None:
    """Train, judge, log and (last) register the challenger; fills `result`."""
    start = inputs.eval_from - pd.Timedelta(days=config.window_days)
    # No `until`: the rolling history ends the day before E, so the validation window is its
    # last valid_days, grown back to hold train.min_valid_positives as `riskscore train` does.
    train_config = replace(config.train, until=None, valid_days=config.valid_days)
    trained = train(_rolling(inputs.history, start, inputs.eval_from), train_config)
    challenger = trained.model
    result.valid_window = challenger.info.get("valid_window", {})
    _judge(result, inputs, config, challenger)
    _refresh_state(challenger, inputs.history, start, inputs.eval_rows)
    challenger.info["holdout"] = {
        "from": result.eval_from,
        "to": result.eval_to,
        "challenger": result.challenger_metrics,
        "champion": result.champion_metrics,
    }
    model_uri = log_result(trained, inputs.store, inputs.history.label_counts)
    _log_holdout("challenger", result.challenger_metrics)
    _log_holdout("champion", result.champion_metrics)
    _log_unbiased(result)
    mlflow.set_tag("reason", result.reason[:500])  # the gate's verdict; decision still pending
    _register(result, model_uri, name)


def _rolling(history: History, start: pd.Timestamp, eval_from: pd.Timestamp) -> History:
    """The history the challenger learns from: declarations of [start, eval_from)."""
    declarations = history.declarations
    return History(
        declarations=declarations[
            (declarations["date"] >= start) & (declarations["date"] < eval_from)
        ],
        seizures=history.seizures[history.seizures["date"] < eval_from],
        links=history.links,
        label_counts=history.label_counts,
    )


def _judge(
    result: RetrainResult, inputs: _Inputs, config: RetrainConfig, challenger: RiskModel
) -> None:
    """Both models on the same rows of E, by the same function; the gate decides."""

    def metrics(model: RiskModel) -> dict[str, float]:
        window = score_window(
            model, inputs.history, inputs.eval_from, inputs.eval_to, config.min_eval_rows
        )
        return judge(window, config.capacity).metrics

    gate = precision_key(config.capacity)
    result.challenger_metrics = metrics(challenger)
    if inputs.champion is None:
        result.decision = Decision.PROMOTED
        result.reason = "no champion yet: the first model becomes champion"
        return
    result.champion_metrics = metrics(inputs.champion)
    ours, theirs = result.challenger_metrics[gate], result.champion_metrics[gate]
    basis = "on inspected declarations"
    found = unbiased(
        {"challenger": challenger, "champion": inputs.champion},
        inputs.history,
        inputs.selections,
        config.capacity,
        inputs.eval_from,
        inputs.eval_to,
        compare=("challenger", "champion"),
        min_random_outcomes=config.min_random_outcomes,
    )
    if found is not None:
        e = found.estimates
        result.unbiased = found.to_dict()
        if e.enough:
            result.gate = "unbiased"
            ours = e.at_capacity["challenger"]["precision"].value
            theirs = e.at_capacity["champion"]["precision"].value
            difference = e.differences["challenger - champion"]
            basis = (
                f"without selection bias ({e.random_outcomes} random outcomes; difference "
                f"{difference.value:+.4f}, 95 % from {difference.low:+.4f} to "
                f"{difference.high:+.4f})"
            )
        else:
            basis += f" ({e.note})"
    better = ours >= theirs + config.margin
    result.decision = Decision.PROMOTED if better else Decision.KEPT
    result.reason = (
        f"challenger {gate} {ours:.4f} vs champion {theirs:.4f} "
        f"({'>=' if better else '<'} champion + margin {config.margin:g}), {basis}"
    )


def _register(result: RetrainResult, model_uri: str, name: str) -> None:
    """Last: register the challenger, move the champion alias if promoted, then record it.

    Each step leaves a state the next job understands: a version without alias (marked
    orphaned), a challenger with `decision=pending`, or a moved champion alias not yet
    recorded (the alias is the truth: `tracking.fail_orphans` records `promoted`).
    """
    registered = registry.register(
        model_uri,
        name,
        result.run_id,
        alias=registry.CHALLENGER,
        tags={"data_fingerprint": result.fingerprint, "decision": tracking.PENDING},
    )
    result.new_version = registered.version
    mlflow.set_tag("registered_version", registered.version)
    alias = registry.CHALLENGER
    if result.decision is Decision.PROMOTED:
        registry.promote(name, registered.version)
        alias = registry.CHAMPION
        result.champion_after = registered.version
    registry.tag_version(name, registered.version, {"decision": result.decision.value})
    mlflow.set_tag("alias", alias)
    _record(result)


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


def _log_unbiased(result: RetrainResult) -> None:
    """The unbiased estimates of both models (and the gate's basis) in the run."""
    mlflow.set_tag("gate", result.gate)
    found = result.unbiased.get("at_capacity", {})
    values = {
        f"holdout.unbiased.{who}.{name}.{part}": float(value)
        for who, figures in found.items()
        for name, estimate in figures.items()
        for part, value in estimate.items()
        if value == value  # NaN: not estimable
    }
    if result.unbiased:
        values["holdout.unbiased.random_outcomes"] = float(result.unbiased["random_outcomes"])
    mlflow.log_metrics(values)


def _record(result: RetrainResult) -> None:
    """The decision as run tags, once final (for a promotion: after the alias moved)."""
    mlflow.set_tags(
        {
            "decision": result.decision.value,
            "reason": result.reason[:500],
            "champion_after": result.champion_after or "",
        }
    )


def _record_failure(result: RetrainResult, name: str, exc: Exception) -> None:
    """After an error, tag the run and its version with what the registry now holds.

    Best effort: the error being raised matters more than a tag the store may refuse.
    """
    decision = Decision.FAILED
    version = result.new_version
    if version and registry.alias_version(name, registry.CHAMPION) == version:
        decision = Decision.PROMOTED  # the alias moved before the error: the promotion stands
        result.champion_after = version
    try:
        if version:
            registry.tag_version(name, version, {"decision": decision.value})
        mlflow.set_tags(
            {
                "decision": decision.value,
                "error": str(exc)[:500],
                "champion_after": result.champion_after or "",
            }
        )
    except MlflowException:
        pass
