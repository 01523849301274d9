"""The MLflow face of the risk model: a pyfunc whose artifact is the pickled `RiskModel`."""

from __future__ import annotations

import pickle
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from riskscore.features.contracts import CLEARANCE, Kind
from riskscore.models.risk_model import RiskModel

ARTIFACT = "risk_model"


def signature(model: RiskModel) -> ModelSignature:
    """The declaration contract as an MLflow signature: required fields required, the rest
    optional, so `mlflow models serve` accepts what the scoring API accepts."""
    numeric = {Kind.NUMBER}
    columns = [
        ColSpec("double" if f.kind in numeric else "string", f.name, required=f.required)
        for f in CLEARANCE.fields
    ]
    extras = model.pipeline.state_.extras if model.pipeline.state_ else {}
    columns += [
        ColSpec("string" if categorical else "double", name, required=False)
        for name, categorical in extras.items()
    ]
    outputs = [ColSpec("string", "id"), ColSpec("double", "score")]
    outputs += [ColSpec("string", "channel"), ColSpec("double", "raw_score")]
    return ModelSignature(inputs=Schema(columns), outputs=Schema(outputs))


def input_example(model: RiskModel) -> pd.DataFrame | None:
    """The declaration the model scores before serving accepts it, as a one-row frame."""
    example = model.info.get("example")
    if not example:
        return None
    return pd.DataFrame([{k: v for k, v in example.items() if v is not None}])


def save_risk_model(model: RiskModel, path: Path) -> Path:
    """Pickle the model (booster as LightGBM's own text format inside)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_risk_model(path: Path) -> RiskModel:
    with Path(path).open("rb") as fh:
        model = pickle.load(fh)
    if not isinstance(model, RiskModel):
        raise TypeError(f"{path} does not hold a RiskModel")
    return model


class RiskPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper: `predict` scores a frame of declarations (score only, no explanations).

    The scoring service unwraps it (`unwrap_python_model().model`) to reach the explanations.
    """

    def __init__(self) -> None:
        self.model: RiskModel | None = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.model = load_risk_model(Path(context.artifacts[ARTIFACT]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        assert self.model is not None, "load_context was not called"
        frame = model_input.copy()
        if "date" in frame:
            frame["date"] = pd.to_datetime(frame["date"])
        scored = self.model.score(frame, explain="none")
        return pd.DataFrame(
            {
                "id": frame["id"].astype(str).to_numpy() if "id" in frame else None,
                "score": scored.score,
                "channel": scored.channel.astype(str),
                "raw_score": scored.raw,
            }
        )
