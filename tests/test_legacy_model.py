"""Model versions registered by earlier releases still load and answer the same.

`data/legacy_model/` was saved by `mlflow.pyfunc.save_model` with the code of commit af9c388
(before the reports/ and models/registry.py moves): a small model trained on demo data, a
sample of declarations and the scores and channels that code gave them. The pickles inside
name classes by module path (riskscore.models.pyfunc.RiskPyfunc,
riskscore.models.risk_model.RiskModel, riskscore.features.pipeline.FeaturePipeline,
riskscore.features.pit.Snapshot); moving any of them breaks every registered version.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd

from riskscore.models.registry import load_model
from riskscore.models.risk_model import RiskModel

LEGACY = Path(__file__).parent / "data" / "legacy_model"


def test_a_model_saved_by_an_earlier_release_loads_and_scores_the_same():
    pyfunc = mlflow.pyfunc.load_model(str(LEGACY / "model"))
    model = pyfunc.unwrap_python_model().model
    assert isinstance(model, RiskModel)
    sample = pd.read_parquet(LEGACY / "sample.parquet")
    expected = pd.read_csv(LEGACY / "expected.csv", dtype={"id": "string"})
    scored = model.score(sample, explain="all")
    np.testing.assert_allclose(scored.score, expected["score"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(scored.raw, expected["raw"], rtol=0, atol=1e-12)
    assert list(scored.channel.astype(str)) == list(expected["channel"])
    # With every row explained the raw score is the sum of the contributions, LightGBM is not
    # called: the same raw scores, scores and channels as LightGBM's own prediction.
    assert scored.contributions is not None
    plain = model.score(sample, explain="none")
    lightgbm = model.raw_score(model.matrix(plain.features))
    np.testing.assert_allclose(plain.raw, lightgbm, rtol=0, atol=0)
    np.testing.assert_allclose(scored.raw, lightgbm, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scored.score, plain.score, rtol=0, atol=1e-12)
    assert list(scored.channel) == list(plain.channel)


def test_the_registry_loader_takes_a_legacy_model():
    model = load_model(str(LEGACY / "model"))
    assert isinstance(model, RiskModel)


def test_every_class_a_legacy_pickle_names_is_importable_where_it_names_it():
    named: set[tuple[str, str]] = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            named.add((module, name))
            return super().find_class(module, name)

    for pickle_file in sorted((LEGACY / "model").rglob("*.pkl")):
        with pickle_file.open("rb") as fh:
            Recording(fh).load()
    ours = {pair for pair in named if pair[0].startswith("riskscore.")}
    assert ("riskscore.models.risk_model", "RiskModel") in ours
    assert ("riskscore.models.pyfunc", "RiskPyfunc") in ours
