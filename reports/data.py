"""What the analyst report shows, as tables: the evaluation window, SHAP importance, dependence,
performance at capacity, channels and segments. Readable names for features and categories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscore.features.dataset import History
from riskscore.features.hs_names import hs_label
from riskscore.models.metrics import by_segment, precision_curve
from riskscore.models.risk_model import RiskModel
from riskscore.models.window import ScoredWindow, WindowError, score_window
from riskscore.reports.labels import criterion_label, readable_value


class ReportError(Exception):
    """The report cannot be made (empty window, no positives...); the message says why."""


def category_label(feature: str, value: object) -> str:
    """A category as an analyst reads it: '1006 (cereals)', 'Ecuador', 'sea'."""
    return "(missing)" if value is None else readable_value(feature, value)


# ---------------------------------------------------------------------------------------------
# The evaluation window: `models.window.score_window`, the one way a model is judged.


def default_window(model: RiskModel) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The model's validation window (train_until .. valid_until) from its training info."""
    try:
        return pd.Timestamp(model.info["train_until"]), pd.Timestamp(model.info["valid_until"])
    except KeyError as exc:
        raise ReportError(f"the model's info has no {exc.args[0]}: give the window") from None


def evaluation_window(
    model: RiskModel,
    history: History,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> ScoredWindow:
    """The labelled declarations dated start..end, scored. Without either, the validation
    window; with only `start`, to the last record (as `riskscore evaluate` reads --from)."""
    if start is None:
        start, default_end = default_window(model)
        end = default_end if end is None else end
    try:
        return score_window(model, history, start, end)
    except WindowError as exc:
        raise ReportError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# SHAP: importance and dependence.


@dataclass
class Explained:
    """SHAP of a sample of the window's declarations."""

    contributions: np.ndarray  # rows x (features + 1), base value last
    features: dict[str, np.ndarray]  # feature values as computed (categories as text)
    matrix: np.ndarray  # the encoded model input


def explain_sample(evaluation: ScoredWindow, size: int = 5000, seed: int = 7) -> Explained:
    """Exact TreeSHAP of up to `size` declarations drawn at random from the window."""
    n = len(evaluation.frame)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(n, size), replace=False))
    scored = evaluation.model.score(evaluation.frame.iloc[rows], explain="all")
    features = {k: np.asarray(v) for k, v in scored.features.items()}
    assert scored.contributions is not None  # explain="all" on a non-empty sample
    return Explained(scored.contributions, features, evaluation.model.matrix(features))


def importance(model: RiskModel, contributions: np.ndarray | None = None) -> pd.DataFrame:
    """Mean |SHAP| per feature with its criterion and description, largest first.

    Without contributions, the importance logged at training (model.info) is used.
    """
    by_name = {f.name: f for f in model.registry}
    if contributions is not None:
        values = np.abs(contributions[:, : len(model.feature_names)]).mean(axis=0)
        table = pd.DataFrame({"feature": model.feature_names, "mean_abs_shap": values})
    else:
        records = model.info.get("importance") or []
        table = pd.DataFrame(records, columns=["feature", "mean_abs_shap"])
    table["criterion"] = [by_name[f].criterion.value for f in table["feature"]]
    table["criterion_label"] = table["criterion"].map(criterion_label)
    table["description"] = [by_name[f].description for f in table["feature"]]
    table["label"] = table["feature"] + " · " + table["criterion_label"]
    total = table["mean_abs_shap"].sum()
    table["share"] = table["mean_abs_shap"] / total if total else 0.0
    table = table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def by_criterion(features: pd.DataFrame) -> pd.DataFrame:
    """Importance summed per TFA criterion, with the criterion's leading feature."""
    grouped = features.groupby(["criterion", "criterion_label"], sort=False)
    table = grouped.agg(
        mean_abs_shap=("mean_abs_shap", "sum"),
        share=("share", "sum"),
        features=("feature", "size"),
        top_feature=("feature", "first"),  # `features` is sorted largest first
    ).reset_index()
    table = table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


@dataclass
class Dependence:
    """One dependence plot: a feature's SHAP against its value, coloured by its partner."""

    feature: str
    x: np.ndarray  # values; for a categorical feature, positions into `categories`
    shap: np.ndarray
    colour: np.ndarray
    colour_feature: str
    categories: list[str] | None


def dependences(
    model: RiskModel, explained: Explained, ranked: pd.DataFrame, top: int = 4
) -> list[Dependence]:
    """Dependence data for the `top` features.

    The colouring feature is chosen with shap.utils.approximate_interactions (shap's own
    heuristic for dependence plots: how well another feature explains the spread of this
    feature's SHAP values within bins of its value), restricted to numeric features, because
    a colour scale over category codes would mean nothing.
    """
    from shap.utils import approximate_interactions

    names = model.feature_names
    categorical = {f.name for f in model.registry if f.categorical}
    numeric = [j for j, n in enumerate(names) if n not in categorical]
    shap_values = explained.contributions[:, : len(names)]
    out = []
    for feature in ranked["feature"].head(top):
        j = names.index(feature)
        order = approximate_interactions(j, shap_values, explained.matrix)
        partner = next((int(k) for k in order if int(k) in numeric and int(k) != j), None)
        if partner is None:
            partner = next(k for k in numeric if k != j)
        colour = explained.matrix[:, partner]
        if feature in categorical:
            x, keep, categories = _category_positions(
                explained.features[feature], shap_values[:, j]
            )
            out.append(
                Dependence(
                    feature,
                    x,
                    shap_values[keep, j],
                    colour[keep],
                    names[partner],
                    [category_label(feature, c) for c in categories],
                )
            )
        else:
            x = explained.matrix[:, j]
            out.append(Dependence(feature, x, shap_values[:, j], colour, names[partner], None))
    return out


def _category_positions(
    values: np.ndarray, shap_values: np.ndarray, most: int = 12
) -> tuple[np.ndarray, np.ndarray, list]:
    """Positions of the `most` most frequent categories, ordered by mean SHAP (highest risk
    first); the other categories are left out of the plot."""
    frame = pd.DataFrame({"value": pd.Series(values, dtype=object), "shap": shap_values})
    frequent = frame["value"].value_counts(dropna=True).index[:most]
    means = frame[frame["value"].isin(frequent)].groupby("value")["shap"].mean()
    kept = list(means.sort_values(ascending=False).index)
    position = {c: i for i, c in enumerate(kept)}
    keep = np.array([v in position for v in values])
    x = np.array([position[v] for v in values[keep]], dtype="float64")
    return x, keep, kept


def beeswarm_data(model: RiskModel, explained: Explained) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values and colour values for the beeswarm: categories become NaN (grey dots)."""
    names = model.feature_names
    categorical = {f.name for f in model.registry if f.categorical}
    data = explained.matrix.copy()
    for j, name in enumerate(names):
        if name in categorical:
            data[:, j] = np.nan
    return explained.contributions[:, : len(names)], data


# ---------------------------------------------------------------------------------------------
# Performance at capacity.


def capacity_curve(evaluation: ScoredWindow) -> pd.DataFrame:
    """precision / recall (and revenue when known) as the inspected share grows."""
    raw, label = evaluation.scored.raw, evaluation.label
    curve = precision_curve(raw, label)
    if evaluation.revenue is not None and np.nansum(evaluation.revenue) > 0:
        order = np.argsort(-raw, kind="stable")
        recovered = np.cumsum(np.nan_to_num(evaluation.revenue[order]))
        n = np.maximum(1, np.round(curve["share"].to_numpy() * len(raw)).astype(int))
        curve["revenue"] = recovered[n - 1] / recovered[-1]
    return curve


def channel_table(evaluation: ScoredWindow) -> pd.DataFrame:
    """Declarations, share and hit rate per control channel."""
    table = pd.DataFrame({"channel": evaluation.scored.channel, "label": evaluation.label})
    grouped = table.groupby("channel")["label"]
    out = pd.DataFrame(
        {"declarations": grouped.size(), "offences": grouped.sum(), "hit_rate": grouped.mean()}
    )
    out["share"] = out["declarations"] / len(table)
    order = [c for c in ("red", "yellow", "green", "random") if c in out.index]
    return out.loc[order]


SEGMENTS = {
    "HS chapter": lambda frame: [hs_label(h) for h in frame["hs2"]],
    "origin region": lambda frame: [_region(c) for c in frame["origin_country"]],
    "transport mode": lambda frame: list(frame["transport_mode"].fillna("unknown")),
}


def _region(code: object) -> str:
    from riskscore.reports.regions import region_of

    return region_of(None if pd.isna(code) else str(code))


def segment_table(evaluation: ScoredWindow, segment: str, share: float) -> pd.DataFrame:
    """Per segment: declarations, base rate, how many the top `share` selects, their hit rate."""
    labels = SEGMENTS[segment](evaluation.frame)
    table = by_segment(
        pd.DataFrame({"segment": labels}),
        evaluation.scored.raw,
        evaluation.label,
        "segment",
        share,
    )
    return table.rename_axis("label").reset_index()
