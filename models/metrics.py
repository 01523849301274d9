"""Quality at inspection capacity: what share of the top n % is illicit, found, and recovered."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

CAPACITIES = (0.01, 0.02, 0.05, 0.10)
# Bins of the score rank, finer at the top: the declarations that get inspected.
CALIBRATION_EDGES = (0.0, 0.5, 0.75, 0.85, 0.9, 0.95, 0.975, 0.99, 1.0)


def top_mask(score: np.ndarray, share: float) -> np.ndarray:
    """The `share` highest-scored rows (at least one); ties broken by position, stably."""
    n = max(1, int(round(len(score) * share)))
    order = np.argsort(-score, kind="stable")
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:n]] = True
    return mask


def at_capacity(
    score: np.ndarray, label: np.ndarray, revenue: np.ndarray | None = None
) -> dict[str, float]:
    """precision@n%, recall@n% (and revenue@n% when revenue is known) for n in CAPACITIES."""
    label = np.asarray(label, dtype="float64")
    positives = label.sum()
    out: dict[str, float] = {}
    for share in CAPACITIES:
        n = f"{share * 100:g}"
        mask = top_mask(score, share)
        out[f"precision_at_{n}pct"] = float(label[mask].mean())
        out[f"recall_at_{n}pct"] = float(label[mask].sum() / positives) if positives else 0.0
        if revenue is not None:
            total = np.nansum(revenue)
            out[f"revenue_at_{n}pct"] = float(np.nansum(revenue[mask]) / total) if total else 0.0
    out["pr_auc"] = (
        float(average_precision_score(label, score)) if 0 < positives < len(label) else 0.0
    )
    out["base_rate"] = float(label.mean()) if len(label) else 0.0
    return out


def probability_quality(score: np.ndarray, label: np.ndarray) -> dict[str, float]:
    """Brier score and log-loss (natural log) of calibrated probabilities against labels.

    A probability of exactly 0 or 1 (a step calibrator can give one) is taken as 1e-15 from it,
    so one confident miss costs about 34.5 nats instead of infinity.
    """
    score = np.asarray(score, dtype="float64")
    label = np.asarray(label, dtype="float64")
    if not len(score):
        return {"brier": float("nan"), "log_loss": float("nan")}
    clipped = np.clip(score, 1e-15, 1 - 1e-15)
    loss = -(label * np.log(clipped) + (1 - label) * np.log1p(-clipped))
    return {"brier": float(np.mean((score - label) ** 2)), "log_loss": float(np.mean(loss))}


def precision_curve(score: np.ndarray, label: np.ndarray, points: int = 50) -> pd.DataFrame:
    """precision and recall as the inspected share grows from 0.5 % to 25 %."""
    order = np.argsort(-score, kind="stable")
    hits = np.cumsum(np.asarray(label, dtype="float64")[order])
    shares = np.linspace(0.005, 0.25, points)
    n = np.maximum(1, np.round(shares * len(score)).astype(int))
    positives = max(hits[-1], 1.0) if len(hits) else 1.0
    return pd.DataFrame(
        {"share": shares, "precision": hits[n - 1] / n, "recall": hits[n - 1] / positives}
    )


def by_segment(
    frame: pd.DataFrame, score: np.ndarray, label: np.ndarray, segment: str, share: float = 0.05
) -> pd.DataFrame:
    """Per segment: declarations, base rate, how many the top `share` selects, their hit rate."""
    selected = top_mask(score, share)
    table = pd.DataFrame(
        {
            "segment": frame[segment].astype("string").fillna("(missing)").to_numpy(),
            "label": label,
            "selected": selected,
        }
    )
    grouped = table.groupby("segment")
    out = pd.DataFrame(
        {
            "declarations": grouped.size(),
            "base_rate": grouped["label"].mean(),
            "selected": grouped["selected"].sum(),
            "precision_selected": table[table["selected"]].groupby("segment")["label"].mean(),
        }
    ).fillna({"precision_selected": np.nan})
    return out.sort_values("declarations", ascending=False)


def revenue_of(frame: pd.DataFrame) -> np.ndarray | None:
    """Revenue recovered per row, or None where the data carries none."""
    if "revenue_recovered" not in frame or frame["revenue_recovered"].isna().all():
        return None
    return frame["revenue_recovered"].to_numpy(dtype="float64", na_value=np.nan)


def precision_key(share: float) -> str:
    """The metric name of precision at an inspected share (as `at_capacity` names it)."""
    return f"precision_at_{share * 100:g}pct"


def calibration_table(score: np.ndarray, label: np.ndarray) -> pd.DataFrame:
    """Per bin of the score rank (CALIBRATION_EDGES): declarations, mean predicted probability
    and observed share of offences."""
    frame = pd.DataFrame({"score": score, "label": label})
    rank = frame["score"].rank(method="first", pct=True)
    frame["bin"] = pd.cut(rank, CALIBRATION_EDGES, labels=False, include_lowest=True)
    return frame.groupby("bin").agg(
        declarations=("score", "size"), predicted=("score", "mean"), observed=("label", "mean")
    )
