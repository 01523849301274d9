"""Plots logged with each run and used in reports: calibration, precision at capacity, SHAP."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from riskscore.training.metrics import precision_curve  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def calibration(score: np.ndarray, label: np.ndarray, path: Path, bins: int = 10) -> Path:
    """Observed share of illicit declarations per score decile against the mean score."""
    frame = pd.DataFrame({"score": score, "label": label})
    frame["bin"] = pd.qcut(frame["score"].rank(method="first"), bins, labels=False)
    table = frame.groupby("bin").agg(predicted=("score", "mean"), observed=("label", "mean"))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = max(table["predicted"].max(), table["observed"].max(), 0.05) * 1.05
    ax.plot([0, top], [0, top], color="grey", linestyle="--", label="perfect calibration")
    ax.plot(table["predicted"], table["observed"], marker="o", label="model (deciles)")
    ax.set(
        title="Calibration on the validation window",
        xlabel="Predicted probability of an offence",
        ylabel="Observed share of offences",
        xlim=(0, top),
        ylim=(0, top),
    )
    ax.legend()
    return _save(fig, path)


def capacity_curve(score: np.ndarray, label: np.ndarray, path: Path) -> Path:
    """Precision and recall as the share of declarations inspected grows."""
    curve = precision_curve(score, label)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(curve["share"] * 100, curve["precision"], label="precision (hit rate)")
    ax.plot(curve["share"] * 100, curve["recall"], label="recall (offences found)")
    ax.axhline(np.mean(label), color="grey", linestyle=":", label="base rate (random checks)")
    for share in (1, 2, 5, 10):
        ax.axvline(share, color="lightgrey", linewidth=0.8)
    ax.set(
        title="Quality at inspection capacity",
        xlabel="Declarations inspected (% of all, highest risk first)",
        ylabel="Share",
        ylim=(0, 1.02),
    )
    ax.legend()
    return _save(fig, path)


def importance_bars(importance: pd.DataFrame, path: Path, top: int = 20) -> Path:
    """Mean |SHAP| per feature (top) and summed per TFA criterion."""
    by_criterion = importance.groupby("criterion")["mean_abs_shap"].sum().sort_values()
    features = importance.head(top).iloc[::-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, max(4.5, 0.3 * len(features))))
    left.barh(features["feature"], features["mean_abs_shap"], color="#4C72B0")
    left.set(
        title=f"Top {len(features)} features",
        xlabel="Mean |SHAP| (log-odds)",
        ylabel="Feature",
    )
    right.barh(by_criterion.index, by_criterion.to_numpy(), color="#DD8452")
    right.set(
        title="By TFA Art. 7.4.4 criterion",
        xlabel="Sum of mean |SHAP| (log-odds)",
        ylabel="Criterion",
    )
    return _save(fig, path)


def shap_beeswarm(
    contributions: np.ndarray, features: pd.DataFrame, names: list[str], path: Path, top: int = 15
) -> Path:
    """SHAP summary (beeswarm) of a sample of validation declarations."""
    import shap

    order = np.argsort(-np.abs(contributions[:, :-1]).mean(axis=0))[:top]
    shown = [names[i] for i in order]
    display = pd.DataFrame(
        {n: pd.to_numeric(features[n], errors="coerce") for n in shown}, columns=shown
    )
    explanation = shap.Explanation(
        values=contributions[:, order],
        base_values=contributions[:, -1],
        data=display.to_numpy(dtype="float64"),
        feature_names=shown,
    )
    plt.figure(figsize=(8, 6))
    shap.plots.beeswarm(explanation, max_display=top, show=False)
    fig = plt.gcf()
    fig.axes[0].set_title("SHAP values of validation declarations")
    fig.axes[0].set_xlabel("SHAP value (log-odds contribution to the risk)")
    return _save(fig, path)
