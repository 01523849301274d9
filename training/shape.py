"""Model shape chosen for precision within the explanation budget.

Deeper and more numerous trees find more offences, and cost more to explain exactly: exact
TreeSHAP costs about trees x leaves x path depth per declaration. The search fits each candidate
shape (leaves, depth, learning rate, minimum leaf size; early stopping decides the rounds), measures
its precision at capacity on the validation rows and its explanation cost per declaration on this
machine (the table kernel, one declaration per call, as the API explains), and keeps the most
precise candidate whose cost fits the budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import lightgbm as lgb
    from matplotlib.figure import Figure

TIMED_ROWS = 200  # single-declaration explanations timed per candidate (median taken)


@dataclass(frozen=True)
class Shape:
    """The booster parameters the search varies."""

    num_leaves: int
    max_depth: int = -1  # -1: no limit (leaf-wise growth bounded by num_leaves only)
    learning_rate: float = 0.1
    min_child_samples: int = 20

    def params(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        depth = "" if self.max_depth < 0 else f", depth {self.max_depth}"
        return (
            f"{self.num_leaves} leaves{depth}, rate {self.learning_rate:g}, "
            f"min leaf {self.min_child_samples}"
        )


# Cheapest to explain first. Measured on KCS (bench/RESULTS.md): precision grows with leaves and
# with a slower rate (more, smaller steps), and so does the cost. On KCS valid.csv, 3 seeds:
# 63 leaves at 0.1 found 0.945 at 5 %, at 0.05 0.946, 127 leaves 0.957, 255 leaves 0.962.
SHAPES = (
    Shape(15, -1, 0.1, 50),
    Shape(31, -1, 0.1, 20),
    Shape(63, -1, 0.1, 20),
    Shape(63, -1, 0.05, 20),
    Shape(127, -1, 0.05, 20),
    Shape(255, -1, 0.05, 20),
)
# Shapes come cheapest first: once one costs more than this many budgets, the dearer ones after
# it are not fitted (they cannot fit, and the largest take the longest to train).
OVER_BUDGET_STOP = 2.0


@dataclass
class Candidate:
    """One fitted shape: what it finds and what it costs to explain."""

    shape: Shape
    trees: int
    precision: float  # at the search's capacity, on the validation rows
    explain_ms: float  # median exact-SHAP time for one declaration, this machine
    table_mib: float
    explainer: str  # treeshap-tables, or lightgbm-pred-contrib above the table cap
    fit_seconds: float
    fits: bool = False  # explain_ms within the budget
    chosen: bool = False

    def to_dict(self) -> dict:
        return {
            **self.shape.params(),
            "trees": self.trees,
            "precision": round(self.precision, 6),
            "explain_ms": round(self.explain_ms, 4),
            "table_mib": round(self.table_mib, 2),
            "explainer": self.explainer,
            "fit_seconds": round(self.fit_seconds, 2),
            "fits": self.fits,
            "chosen": self.chosen,
        }


@dataclass
class SearchResult:
    chosen: Candidate
    booster: lgb.Booster
    raw_valid: np.ndarray
    candidates: list[Candidate] = field(default_factory=list)
    budget_ms: float = 0.0
    skipped: list[Shape] = field(default_factory=list)  # not fitted: after one far over budget

    @property
    def note(self) -> str:
        """One line for people: what was chosen and why."""
        c = self.chosen
        why = (
            "the most precise within the budget"
            if c.fits
            else "no shape fits the budget: the cheapest to explain"
        )
        skipped = (
            f" ({len(self.skipped)} dearer not fitted: one cost over {OVER_BUDGET_STOP:g}x the "
            "budget)"
            if self.skipped
            else ""
        )
        return (
            f"{c.shape.label()}, {c.trees} trees: precision {c.precision:.3f}, "
            f"{c.explain_ms:.2f} ms per explanation (budget {self.budget_ms:g} ms); "
            f"{why} of {len(self.candidates)} shapes{skipped}"
        )


# shape -> booster, raw validation scores (a string: LightGBM is imported when a model is fitted,
# not when the CLI starts and reads TrainConfig's defaults)
Fit = Callable[[Shape], "tuple[lgb.Booster, np.ndarray]"]
Precision = Callable[[np.ndarray], float]  # raw validation scores -> precision at capacity


def explain_ms(booster: lgb.Booster, rows: np.ndarray, cap_bytes: int) -> tuple[float, object]:
    """Median milliseconds to explain one declaration (one call per row), and the explainer's
    info. The first calls (compilation, cold caches) are not timed."""
    from riskscore.models.treeshap import build_explainer

    explainer = build_explainer(booster, cap_bytes)
    sample = rows[:TIMED_ROWS]
    for i in range(min(5, len(sample))):
        explainer.contributions(sample[i : i + 1])
    times = []
    for i in range(len(sample)):
        started = time.perf_counter()
        explainer.contributions(sample[i : i + 1])
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1e3, explainer.info


def search_shapes(
    shapes: Iterable[Shape],
    fit: Fit,
    precision: Precision,
    timing_rows: np.ndarray,
    budget_ms: float,
    cap_bytes: int,
    progress: Callable[[Candidate], None] | None = None,
) -> SearchResult:
    """Fit the shapes in order (cheapest first) until one costs more than OVER_BUDGET_STOP
    budgets; keep the most precise whose explanation fits `budget_ms` (ties: the cheaper), or
    the cheapest when none fits."""
    fitted: list[tuple[Candidate, lgb.Booster, np.ndarray]] = []
    pending = list(shapes)
    while pending:
        shape = pending.pop(0)
        started = time.perf_counter()
        booster, raw = fit(shape)
        seconds = time.perf_counter() - started
        ms, info = explain_ms(booster, timing_rows, cap_bytes)
        candidate = Candidate(
            shape=shape,
            trees=booster.num_trees(),
            precision=precision(raw),
            explain_ms=ms,
            table_mib=info.table_bytes / 2**20,
            explainer=info.kind,
            fit_seconds=seconds,
            fits=ms <= budget_ms,
        )
        fitted.append((candidate, booster, raw))
        if progress is not None:
            progress(candidate)
        if ms > OVER_BUDGET_STOP * budget_ms:
            break
    if not fitted:
        raise ValueError("no shapes to search")
    within = [f for f in fitted if f[0].fits]
    if within:
        best = max(within, key=lambda f: (f[0].precision, -f[0].explain_ms))
    else:
        best = min(fitted, key=lambda f: f[0].explain_ms)
    best[0].chosen = True
    return SearchResult(
        chosen=best[0],
        booster=best[1],
        raw_valid=best[2],
        candidates=[f[0] for f in fitted],
        budget_ms=budget_ms,
        skipped=pending,
    )


def frontier_figure(result: SearchResult) -> Figure:
    """Precision against explanation cost, one point per shape, the budget and the choice."""
    from matplotlib.figure import Figure  # no pyplot: no global state, nothing to close

    fig = Figure(figsize=(7, 4.5), dpi=110)
    ax = fig.subplots()
    for c in result.candidates:
        colour = "#c0392b" if c.chosen else ("#2c3e50" if c.fits else "#95a5a6")
        ax.scatter(c.explain_ms, c.precision, s=60 if c.chosen else 30, color=colour, zorder=3)
        ax.annotate(
            f"{c.shape.num_leaves}L{'' if c.shape.max_depth < 0 else f' d{c.shape.max_depth}'}"
            f" lr{c.shape.learning_rate:g} ({c.trees})",
            (c.explain_ms, c.precision),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=7,
        )
    ax.axvline(result.budget_ms, color="#c0392b", linestyle="--", linewidth=1)
    ax.text(result.budget_ms, ax.get_ylim()[0], " budget", color="#c0392b", fontsize=8)
    ax.set_xlabel("exact SHAP, ms per declaration (median, this machine)")
    ax.set_ylabel("precision at capacity (validation)")
    ax.set_title("Model shapes: precision against explanation cost")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
