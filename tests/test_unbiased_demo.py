"""The learning loop measured on demo data, where the truth of every shipment is known.

A model trained on the first 18 months scores the last six as `riskscore score` does, which
writes a selection record per declaration; only the declarations it selected (red, yellow and
the random draw) reveal their outcome, fed back as /v1/outcomes stores them. The unbiased
estimates must then cover the truth of all shipments, where the figures on inspected
declarations alone are far off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscore.features.dataset import load_history
from riskscore.features.ingest import ingest
from riskscore.features.outcomes import Outcome, OutcomeStore, read_outcomes
from riskscore.features.store import Store
from riskscore.models.batch import score_file
from riskscore.models.selection_log import SelectionLog
from riskscore.synth import generate
from riskscore.training.config import TrainConfig
from riskscore.training.evaluate import evaluate
from riskscore.training.train import train

CUT = "2025-07-01"
RANDOM_SHARE = 0.05  # the TFA random stream of this deployment


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("loop")
    data = generate(root / "data", declarations=30_000, seed=11, truth=True)
    store = root / "store"
    early = root / "early"
    early.mkdir()
    clearance = pd.read_parquet(data.clearance_path)
    for name in ("clearance.parquet", "declarations.parquet"):
        frame = pd.read_parquet(data.out_dir / name)
        frame[frame["date"] < CUT].to_parquet(early / name, index=False)
    ingest("seizures", data.seizures_csv_path, store)
    ingest("clearance", early / "clearance.parquet", store)
    ingest("declarations", early / "declarations.parquet", store)
    config = TrainConfig(shape_search=False, random_share=RANDOM_SHARE)
    model = train(load_history(Store(store)), config).model

    live = clearance[clearance["date"] >= CUT]
    live_file = root / "live.parquet"
    live.to_parquet(live_file, index=False)
    log = SelectionLog(root / "selections.sqlite")
    score_file(model, live_file, root / "scores.parquet", version="1", selection_log=log)
    scores = pd.read_parquet(root / "scores.parquet")

    # The shipments the policy selected are inspected: their outcome is revealed, no other.
    truth = pd.read_parquet(data.truth_path).set_index("id")
    inspected = scores[scores["selection"] != "green"]
    outcomes = root / "outcomes.sqlite"
    OutcomeStore(outcomes).add(
        [
            Outcome(i, "GB", int(truth.loc[i, "illicit"]), None, "2025-12-31")
            for i in inspected["id"]
        ]
    )
    ingest("clearance", live_file, store)  # the store now knows every declaration scored
    evaluation = evaluate(
        model,
        store,
        pd.Timestamp(CUT),
        outcomes=read_outcomes(outcomes),
        selections=log.read(),
        capacity=0.05,
    )
    scores["illicit"] = truth.loc[scores["id"], "illicit"].to_numpy()
    return {
        "evaluation": evaluation,
        "scores": scores,
        "log": log,
        "model": model,
        "live": live_file,
    }


def test_every_scored_declaration_has_a_selection_record(loop):
    scores, records = loop["scores"], loop["log"].read()
    assert len(records) == len(scores)
    merged = scores.merge(records, left_on="id", right_on="declaration_id", suffixes=("", "_log"))
    assert (merged["selection"] == merged["selection_log"]).all()
    expected = merged["selection"].map({"red": 1.0, "yellow": 1.0, "green": 0.0})
    expected = expected.fillna(RANDOM_SHARE)  # random
    assert np.allclose(merged["propensity_log"], expected)
    drawn = merged["selection"] == "random"
    assert drawn.any() and (merged.loc[drawn, "model_channel"] == "random").all()
    green_by_score = merged["selection"].isin(["random", "green"])
    assert abs(drawn.sum() / green_by_score.sum() - RANDOM_SHARE) < 0.015


def test_unbiased_estimates_cover_the_truth_of_all_shipments(loop):
    found = loop["evaluation"].unbiased
    scores = loop["scores"]
    e = found.estimates
    assert found.in_store == found.scored == len(scores)
    assert e.enough, e.note
    y = scores["illicit"].to_numpy()
    left = scores["selection"].isin(["random", "green"]).to_numpy()
    top = np.zeros(len(scores), dtype=bool)
    top[np.argsort(-scores["raw_score"].to_numpy(), kind="stable")[: round(len(scores) * 0.05)]] = 1
    truth = {
        "offence rate": (e.offence_rate, y.mean()),
        "uninspected offence rate": (e.green_offence_rate, y[left].mean()),
        "precision at 5 %": (e.at_capacity["model"]["precision"], y[top].mean()),
        "recall at 5 %": (e.at_capacity["model"]["recall"], y[top].sum() / y.sum()),
    }
    for name, (estimate, value) in truth.items():
        assert estimate.covers(value), f"{name}: {estimate} does not cover the truth {value:.4f}"
    # What the inspected declarations alone say is biased: far outside the interval.
    naive = e.inspected["offence_rate"]
    assert not e.offence_rate.covers(naive)
    assert naive > 2 * y.mean()


def test_too_few_random_outcomes_are_said(loop):
    from riskscore.models.selection_estimates import estimate
    from riskscore.models.selection_log import with_outcomes

    records = loop["log"].read()
    scores = loop["scores"]
    outcomes = pd.DataFrame(
        {"member": "GB", "declaration_id": scores["id"], "illicit": scores["illicit"]}
    )
    only_rule = outcomes[scores["selection"].isin(["red", "yellow"]).to_numpy()]
    found = estimate(with_outcomes(records, only_rule))
    assert not found.enough and "too few random outcomes" in found.note
    assert np.isnan(found.offence_rate.value)
    # Outcomes of declarations the policy left green come from outside it: never weighted.
    everything = estimate(with_outcomes(records, outcomes))
    assert everything.outside_policy == int((scores["selection"] == "green").sum())


def test_scores_are_written_when_the_selection_log_cannot_be(loop, tmp_path):
    from riskscore.files import StorageError

    class FullDisk(SelectionLog):
        def record(self, rows):
            raise StorageError(f"cannot record selections in {self.path}: database or disk is full")

    out = tmp_path / "scores.csv"
    report = score_file(
        loop["model"], loop["live"], out, selection_log=FullDisk(tmp_path / "s.sqlite")
    )
    assert out.exists() and report.rows_scored == len(loop["scores"])
    assert "database or disk is full" in report.selection_error
