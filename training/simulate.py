"""The learning loop replayed: how inspection policies do over weeks of scoring and retraining.

`simulate` trains one initial model on the store's history before the period (`train`, as
`riskscore train` would), then replays each policy on the same weeks from that same model
(training.replay): the model scores the week's candidates, the policy selects `capacity` of
them, only those reveal their outcome (training.universe), and every `retrain_every` weeks
the model is retrained on what that policy has revealed. Retraining keeps the initial model's
shape (no shape search): the search costs several fits, and a shape that changed between
retrains would mix two questions, which policy and which shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pandas as pd

from riskscore.features.dataset import History, load_history
from riskscore.features.store import Store
from riskscore.training.config import TrainConfig
from riskscore.training.policies import DEFAULT_POLICIES, parse_policies
from riskscore.training.replay import WEEK, Plan, Trainer, WeekResult, replay, totals
from riskscore.training.shape import Shape
from riskscore.training.train import TrainingError, train
from riskscore.training.universe import UniverseError, universe_of

Progress = Callable[[str, int, int], None]  # step, done, total (0: no count)


class SimulationError(Exception):
    """The simulation cannot run (no store, no data in the window, a bad truth file...)."""


@dataclass(frozen=True)
class SimulationConfig:
    """What to replay and how."""

    capacity: float = 0.05  # share of each week's candidates inspected
    policies: tuple[str, ...] = DEFAULT_POLICIES
    retrain_every: int = 4  # weeks; 0: never retrain
    weeks: int = 52
    # First day of the period; default: `weeks` whole weeks (Monday to Sunday) ending with the
    # last whole week of data.
    start: pd.Timestamp | None = None
    truth: Path | None = None  # id, illicit[, revenue] of every record: the "truth" universe
    seed: int = 7
    # Recompute the feature state every week from what the policy knows, as the daily
    # `riskscore refresh` does in production; off, a model scores with its training state.
    refresh: bool = True
    # LightGBM threads of every fit (0: its default, all cores). One, because the replay is
    # many small fits and LightGBM's OpenMP team spins: with another process busy on a
    # 2-core machine one boosting round took 1.2 s instead of 7 ms (a retrain of 74k rows:
    # 107 s of boosting on all cores, 1.1 s on one; docs/simulation.md).
    threads: int = 1
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if not 0 < self.capacity < 1:
            raise ValueError(f"capacity must be above 0 and below 1, got {self.capacity:g}")
        if self.retrain_every < 0:
            raise ValueError("retrain_every is a number of weeks, 0 for never")
        if self.weeks < 1:
            raise ValueError("weeks must be at least 1")
        if self.threads < 0:
            raise ValueError("threads must be 0 (all cores) or more")
        parse_policies(self.policies)


@dataclass
class PolicyRun:
    name: str
    weeks: list[WeekResult]
    seconds: float

    def to_dict(self) -> dict:
        return {
            "weeks": [w.to_dict() for w in self.weeks],
            "total": totals(self.weeks),
            "seconds": round(self.seconds, 2),
        }


@dataclass
class SimulationResult:
    """Every policy's weeks and totals, and what they were computed under."""

    universe: str
    universe_note: str
    config: SimulationConfig
    weeks: tuple[pd.Timestamp, ...]
    initial_model: dict
    runs: list[PolicyRun]
    seconds: float

    def to_dict(self) -> dict:
        """summary.json: policies -> weeks and total, plus the settings."""
        return {
            "universe": self.universe,
            "universe_note": self.universe_note,
            "capacity": self.config.capacity,
            "retrain_every": self.config.retrain_every,
            "refresh": self.config.refresh,
            "threads": self.config.threads,
            "seed": self.config.seed,
            "from": str(self.weeks[0].date()),
            "to": str((self.weeks[-1] + WEEK - pd.Timedelta(days=1)).date()),
            "weeks": len(self.weeks),
            "initial_model": self.initial_model,
            "seconds": round(self.seconds, 2),
            "policies": {run.name: run.to_dict() for run in self.runs},
        }


def simulate(
    store_dir: Path,
    config: SimulationConfig | None = None,
    progress: Progress | None = None,
    trainer: Trainer = train,
) -> SimulationResult:
    """Replay every policy of `config` on the store; `trainer` trains every model (tests
    watch what it is given)."""
    config = config or SimulationConfig()
    return _simulate(Path(store_dir), config, progress, trainer)


@dataclass(frozen=True)
class ThreadedTrainConfig(TrainConfig):
    """TrainConfig whose LightGBM fits use `threads` OpenMP threads (0: LightGBM's default).

    LightGBM sets its OpenMP team size itself on every call, so the count must travel in its
    parameters: a limit set around the call from outside does not hold.
    """

    threads: int = 1

    @classmethod
    def of(cls, config: TrainConfig, threads: int) -> ThreadedTrainConfig:
        values = {f.name: getattr(config, f.name) for f in fields(TrainConfig)}
        return cls(**values, threads=threads)

    def params(self, shape: Shape | None = None) -> dict:
        params = super().params(shape)
        if self.threads > 0:
            params["num_threads"] = self.threads
        return params


def _simulate(
    store_dir: Path, config: SimulationConfig, progress: Progress | None, trainer: Trainer
) -> SimulationResult:
    clock = time.perf_counter()
    say = progress or (lambda step, done, total: None)
    if not Path(store_dir).is_dir():
        raise SimulationError(f"{store_dir}: no such store; ingest data first")
    say("reading the store", 0, 0)
    history = load_history(Store(store_dir))
    records = history.declarations
    if records.empty:
        raise SimulationError(f"{store_dir}: the store holds no records; ingest data first")
    weeks = plan_weeks(records["date"], config.start, config.weeks)
    dates = records["date"]
    period = ((dates >= weeks[0]) & (dates < weeks[-1] + WEEK)).to_numpy()
    try:
        universe = universe_of(records, config.truth, period)
    except UniverseError as exc:
        raise SimulationError(str(exc)) from None

    say("training the initial model", 0, 0)
    started = time.perf_counter()
    before = History(records[dates < weeks[0]].reset_index(drop=True), history.seizures, None, {})
    try:
        threaded = ThreadedTrainConfig.of(replace(config.train, until=None), config.threads)
        initial = trainer(before, threaded).model
    except TrainingError as exc:
        raise SimulationError(
            f"the initial model cannot be trained on the records before {weeks[0].date()}: {exc}"
        ) from None
    shape = initial.info.get("shape", {})
    plan = Plan(weeks, config.capacity, config.retrain_every, config.refresh, config.seed,
                fixed_shape(threaded, shape))  # fmt: skip
    described = {
        "train_from": initial.info.get("train_from"),
        "train_until": initial.info.get("train_until"),
        "valid_until": initial.info.get("valid_until"),
        "train_rows": initial.info.get("train_rows"),
        "shape": shape.get("why", ""),
        "seconds": round(time.perf_counter() - started, 2),
    }

    runs = []
    policies = parse_policies(config.policies)
    total = len(policies) * len(weeks)
    for p, policy in enumerate(policies):
        started = time.perf_counter()
        say(policy.name, p * len(weeks), total)
        done = replay(
            policy, records, history.seizures, universe, plan, initial, trainer,
            on_week=lambda i, p=p, name=policy.name: say(name, p * len(weeks) + i + 1, total),
        )  # fmt: skip
        runs.append(PolicyRun(policy.name, done, time.perf_counter() - started))
    return SimulationResult(universe.kind, universe.note, config, weeks, described, runs,
                            time.perf_counter() - clock)  # fmt: skip


def fixed_shape(config: TrainConfig, shape: dict) -> TrainConfig:
    """`config` with the chosen `shape` fixed (model.info["shape"]) and no search."""
    keys = ("num_leaves", "max_depth", "learning_rate", "min_child_samples")
    chosen = {k: shape[k] for k in keys if k in shape}
    return replace(config, shape_search=False, until=None, **chosen)


def plan_weeks(
    dates: pd.Series, start: pd.Timestamp | None, weeks: int
) -> tuple[pd.Timestamp, ...]:
    """Starts of the simulated weeks: `weeks` whole weeks from `start`, as many as the data
    holds; default start: Monday, `weeks` weeks before the last whole week of data ends."""
    first = dates.min().normalize()
    end = dates.max().normalize() + pd.Timedelta(days=1)  # the first day without data
    if start is None:
        start = end - pd.Timedelta(days=end.weekday()) - weeks * WEEK
    start = pd.Timestamp(start).normalize()
    span = f"the records run from {first.date()} to {(end - pd.Timedelta(days=1)).date()}"
    if start <= first:
        raise SimulationError(
            f"the simulation would start on {start.date()}, with no history before it to train "
            f"the initial model on ({span}): give fewer --weeks or a later --from"
        )
    count = min(weeks, (end - start).days // 7)
    if count < 1:
        raise SimulationError(
            f"no whole week of records from {start.date()} on ({span}): give an earlier --from"
        )
    return tuple(start + i * WEEK for i in range(count))
