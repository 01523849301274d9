"""The deployable risk model: feature state, encoders, booster, calibration, channels, reasons.

Everything serving needs lives in one `RiskModel` object, saved inside one MLflow model version
(see `models.pyfunc`). Scoring a batch and scoring one declaration take the same path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import lightgbm as lgb
import numpy as np
import pandas as pd

from riskscore.features.pipeline import FeaturePipeline, RowsLike
from riskscore.features.registry import Criterion, Feature
from riskscore.models.treeshap import Explainer, build_explainer, lightgbm_threads

DEFAULT_TABLE_CAP = 512 * 2**20  # bytes of SHAP tables per model (Settings.shap_table_cap_mb)

CHANNELS = ("red", "yellow", "green", "random")


@dataclass
class CategoryEncoder:
    """Category -> integer code per categorical feature; unseen values become missing."""

    codes: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def fit(cls, table: pd.DataFrame, columns: list[str], min_count: int = 1) -> CategoryEncoder:
        codes = {}
        for column in columns:
            counts = table[column].value_counts(dropna=True)
            kept = sorted(counts[counts >= min_count].index)
            codes[column] = {value: i for i, value in enumerate(kept)}
        return cls(codes)

    def encode(
        self, table: pd.DataFrame | Mapping[str, np.ndarray], names: list[str]
    ) -> np.ndarray:
        """A float matrix in `names` order, categorical columns replaced by their codes."""
        n = len(table) if isinstance(table, pd.DataFrame) else len(table[names[0]])
        matrix = np.empty((n, len(names)), dtype="float64")
        for j, name in enumerate(names):
            column = table[name]
            if name in self.codes:
                mapping = self.codes[name]
                matrix[:, j] = [mapping.get(v, np.nan) for v in column.tolist()]
            elif isinstance(column, pd.Series):
                matrix[:, j] = column.to_numpy(dtype="float64", na_value=np.nan)
            else:
                matrix[:, j] = column
        return matrix


@dataclass
class Calibrator:
    """Map from the booster's raw score (log-odds) to a calibrated probability.

    `method` says which map `x` and `y` describe:

    - "isotonic-logit" (fitted since issue 11): knots at the centres of the isotonic blocks
      (`x` the block's mean raw score, `y` its share of offences; an all-0 or all-1 end block
      gets the Jeffreys estimate 0.5 / (n + 1), kept strictly inside its neighbour), joined by
      straight lines in logit space, and straight lines of slope `low_slope` / `high_slope`
      (log-odds of probability per unit of raw score: the logistic fit's slope) beyond the end
      knots. Strictly increasing in the raw score, so the score ranks as the raw score does,
      and strictly inside (0, 1).
    - "platt": the same with one knot and one slope (logistic regression on the raw score),
      when the isotonic fit is a single block.
    - "isotonic-steps": the step function of earlier releases (np.interp over the isotonic
      thresholds, flat beyond them). It is the default so that models pickled with only
      `x` and `y` load and score exactly as before.
    """

    x: np.ndarray
    y: np.ndarray
    low_slope: float = 0.0
    high_slope: float = 0.0
    method: str = "isotonic-steps"

    # Log-odds kept within these bounds, so a probability is never exactly 0 or 1 in float64
    # (expit(37) rounds to 1, expit(-746) to 0). Above 35 (1 - 6e-16) float64 cannot tell
    # probabilities apart anyway: no ranking question is decided that far out.
    LOGIT_BOUNDS = (-700.0, 35.0)
    MIN_SLOPE = 1e-3  # a fitted slope at or below zero (no signal) still keeps the order

    @classmethod
    def fit(cls, raw: np.ndarray, label: np.ndarray) -> Calibrator:
        """Isotonic blocks of `label` on `raw`, joined in logit space (Platt for one block)."""
        from sklearn.isotonic import isotonic_regression

        raw = np.asarray(raw, dtype="float64")
        label = np.asarray(label, dtype="float64")
        if not len(raw):
            raise ValueError("cannot calibrate on no rows")
        slope, intercept = cls._logistic(raw, label)
        # Tied raw scores are one point (weight = count), so a block never splits a tie.
        values, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=label, minlength=len(values))
        fitted = isotonic_regression(sums / counts, sample_weight=counts, y_min=0.0, y_max=1.0)
        starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
        size = np.add.reduceat(counts, starts).astype("float64")
        centre = np.add.reduceat(values * counts, starts) / size
        share = np.add.reduceat(sums, starts) / size
        if len(starts) == 1:
            x0 = float(centre[0])
            p0 = 1.0 / (1.0 + np.exp(-(intercept + slope * x0)))
            return cls(np.array([x0]), np.array([p0]), slope, slope, "platt")
        # Only the first block can be all 0 and only the last all 1 (block shares increase).
        # Their Jeffreys estimate, kept strictly between the neighbour and 0 (or 1).
        if share[0] <= 0.0:
            share[0] = min(0.5 / (size[0] + 1.0), share[1] / 3.0)
        if share[-1] >= 1.0:
            share[-1] = max(1.0 - 0.5 / (size[-1] + 1.0), 1.0 - (1.0 - share[-2]) / 3.0)
        return cls(centre, share, slope, slope, "isotonic-logit")

    @classmethod
    def _logistic(cls, raw: np.ndarray, label: np.ndarray) -> tuple[float, float]:
        """Slope and intercept of P(label) = expit(intercept + slope * raw), slope > 0."""
        positives = label.sum()
        if 0 < positives < len(label):
            from sklearn.linear_model import LogisticRegression

            fit = LogisticRegression(C=1e4, max_iter=1000).fit(raw[:, None], label)
            slope, intercept = float(fit.coef_[0, 0]), float(fit.intercept_[0])
            if slope >= cls.MIN_SLOPE:
                return slope, intercept
        # One class only, or no signal: the booster's own scale around the Jeffreys rate.
        rate = (positives + 0.5) / (len(label) + 1.0)
        slope = 1.0 if not 0 < positives < len(label) else cls.MIN_SLOPE
        return slope, float(np.log(rate / (1 - rate)) - slope * raw.mean())

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype="float64")
        if self.method == "isotonic-steps":
            return np.interp(raw, self.x, self.y)
        knots = self._knots
        inside = np.interp(raw, self.x, knots)
        below = knots[0] + self.low_slope * (raw - self.x[0])
        above = knots[-1] + self.high_slope * (raw - self.x[-1])
        logit = np.where(raw < self.x[0], below, np.where(raw > self.x[-1], above, inside))
        logit = np.clip(logit, *self.LOGIT_BOUNDS)
        return 1.0 / (1.0 + np.exp(-logit))

    @cached_property
    def _knots(self) -> np.ndarray:
        """The knots' log-odds: computed once, not on every scoring call."""
        return np.log(self.y / (1.0 - self.y))

    @property
    def description(self) -> str:
        """In words, for model cards."""
        return {
            "isotonic-logit": "isotonic blocks joined in logit space",
            "platt": "Platt scaling",
        }.get(self.method, "isotonic")


@dataclass
class Channels:
    """Raw-score cut-offs that send the top shares of declarations to red and yellow."""

    red_share: float
    yellow_share: float
    red_above: float
    yellow_above: float
    random_share: float  # TFA Art. 7.4.3: share of the rest selected at random

    @classmethod
    def from_capacity(
        cls, raw: np.ndarray, red_share: float, yellow_share: float, random_share: float
    ) -> Channels:
        red_above = float(np.quantile(raw, 1 - red_share))
        yellow_above = float(np.quantile(raw, 1 - red_share - yellow_share))
        return cls(red_share, yellow_share, red_above, yellow_above, random_share)

    def assign(self, raw: np.ndarray, ids: list[str] | None = None, salt: str = "") -> np.ndarray:
        """red / yellow / green by score; with ids, a random share of green becomes "random"."""
        channel = np.where(
            raw >= self.red_above, "red", np.where(raw >= self.yellow_above, "yellow", "green")
        ).astype(object)
        if ids is not None and self.random_share > 0:
            picked = random_draw(ids, salt) < self.random_share
            channel[picked & (channel == "green")] = "random"
        return channel


def random_draw(ids: list[str], salt: str) -> np.ndarray:
    """A uniform number per declaration id, stable for a salt, so a retry gets the same answer."""
    out = np.empty(len(ids))
    key = salt.encode()[:64]
    for i, value in enumerate(ids):
        digest = hashlib.blake2b(str(value).encode(), digest_size=8, key=key).digest()
        out[i] = int.from_bytes(digest, "big") / 2**64
    return out


@dataclass
class Scored:
    """Scores of a batch; contributions only for the rows that were explained."""

    features: Mapping[str, np.ndarray]  # feature name -> values, one per declaration
    raw: np.ndarray  # log-odds
    score: np.ndarray  # calibrated probability
    channel: np.ndarray
    contributions: np.ndarray | None  # rows x (features + 1): SHAP in log-odds, base last
    explained: np.ndarray | None  # row positions the contributions belong to
    matrix: np.ndarray | None = None  # the model inputs, encoded (for drift monitoring)


@dataclass
class RiskModel:
    """The unit of deployment."""

    pipeline: FeaturePipeline
    encoder: CategoryEncoder
    booster: lgb.Booster
    calibrator: Calibrator
    channels: Channels
    feature_names: list[str]
    info: dict = field(default_factory=dict)  # training window, metrics, lineage

    def __getstate__(self) -> dict:
        # The explainer's tables are rebuilt where the model loads, never pickled: they can be
        # hundreds of MiB, and they follow from the booster.
        state = dict(self.__dict__)
        state.pop("_explainer", None)
        return state

    def prepare_explainer(self, cap_bytes: int = DEFAULT_TABLE_CAP) -> Explainer:
        """Build the SHAP explainer now (tables when they fit `cap_bytes`, else pred_contrib)."""
        explainer = build_explainer(self.booster, cap_bytes)
        self.__dict__["_explainer"] = explainer
        return explainer

    @property
    def explainer(self) -> Explainer:
        """The SHAP explainer, built with the default cap on first use if not prepared."""
        explainer = self.__dict__.get("_explainer")
        return explainer if explainer is not None else self.prepare_explainer()

    @cached_property
    def base_value(self) -> float:
        """The SHAP base value (expected log-odds), the same for every declaration."""
        blank = np.full((1, len(self.feature_names)), np.nan)
        return float(self.contributions(blank)[0, -1])

    @property
    def registry(self) -> list[Feature]:
        return self.pipeline.features()

    @property
    def criteria(self) -> dict[str, Criterion]:
        return {f.name: f.criterion for f in self.registry}

    def features(self, declarations: RowsLike) -> Mapping[str, np.ndarray]:
        return self.pipeline.transform_columns(declarations)

    def matrix(self, features: Mapping[str, np.ndarray] | pd.DataFrame) -> np.ndarray:
        return self.encoder.encode(features, self.feature_names)

    def raw_score(self, matrix: np.ndarray) -> np.ndarray:
        return self.booster.predict(
            matrix, raw_score=True, num_threads=lightgbm_threads(len(matrix))
        )

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP values in log-odds, the last column the base (models.treeshap)."""
        return self.explainer.contributions(matrix)

    def score(self, declarations: RowsLike, explain: str = "flagged") -> Scored:
        """Score declarations (a frame, or field -> values); explain "all", "flagged" (red and
        yellow) or "none" of them."""
        features = self.features(declarations)
        matrix = self.matrix(features)
        contributions = None
        if explain == "all" and len(matrix):
            # The contributions add up to the raw score (to 1e-12): LightGBM's own prediction
            # would only cost its time and evict the explainer's tables from the caches.
            contributions = self.contributions(matrix)
            raw = contributions.sum(axis=1)
        else:
            raw = self.raw_score(matrix)
        ids = [str(v) for v in declarations["id"]] if "id" in declarations else None
        channel = self.channels.assign(raw, ids, self.info.get("random_salt", ""))
        if explain == "all":
            rows = np.arange(len(raw))
        elif explain == "flagged":
            rows = np.flatnonzero(np.isin(channel, ("red", "yellow")))
            contributions = self.contributions(matrix[rows]) if len(rows) else None
        else:
            rows = np.array([], dtype=int)
        return Scored(
            features,
            raw,
            self.calibrator(raw),
            channel,
            contributions,
            rows if len(rows) else None,
            matrix,
        )
