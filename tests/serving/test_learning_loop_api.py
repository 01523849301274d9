"""What the running server records for the learning loop: a selection record per declaration it
scores, and the drift of its traffic per model input on /metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families
from waiting import wait_for

from riskscore.models.selection_log import SelectionLog


def _psi(server) -> dict[str, dict]:
    """Family name -> {feature label (or "") -> value} of the drift series on /metrics."""
    text = httpx.get(server.url + "/metrics").text
    found: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (
                "riskscore_feature_psi",
                "riskscore_score_psi",
                "riskscore_drift_declarations",
            ):
                found.setdefault(sample.name, {})[sample.labels.get("feature", "")] = sample.value
    return found


def test_every_scored_declaration_gets_a_selection_record(api, world):
    records = world.records(120, start=400)
    # Other tests may have scored these declarations: only records written after now count.
    before = datetime.now(UTC).isoformat(timespec="milliseconds")
    results = api.post("/v1/score", json={"declarations": records}).json()["results"]
    selections = SelectionLog(world.settings.selections_db)
    try:
        ids = {r["id"] for r in results}

        def stored() -> pd.DataFrame:
            frame = selections.read()
            return frame[frame["declaration_id"].isin(ids) & (frame["scored_at"] >= before)]

        wait_for(lambda: len(stored()) == len(ids), "the selection records of 120 declarations")
        frame = stored().set_index("declaration_id")
    finally:
        selections.close()
    share = api.get("/v1/model").json()["thresholds"]["random_share"]
    version = api.get("/v1/model").json()["version"]
    for answer in results:
        row = frame.loc[answer["id"]]
        assert row["channel"] == answer["channel"] and row["model_version"] == version
        assert row["raw_score"] == answer["raw_score"] and row["member"] == "GB"
        expected = {"red": 1.0, "yellow": 1.0, "random": share, "green": 0.0}[answer["channel"]]
        assert row["selection"] == answer["channel"] and row["propensity"] == expected
        assert row["source"] == "/v1/score"
    draws = frame["draw_share"].dropna()
    assert (draws == share).all()
    assert len(draws) == frame["selection"].isin(["green", "random"]).sum()


def test_metrics_carry_drift_per_feature_after_traffic(api, server, world):
    for start in (0, 100, 200):
        batch = {"declarations": world.records(100, start=start)}
        assert api.post("/v1/score", json=batch).status_code == 200
    found = _psi(server)
    features = {f["name"] for f in api.get("/v1/model").json()["features"]}
    assert set(found["riskscore_feature_psi"]) == features
    assert found["riskscore_drift_declarations"][""] >= 300
    assert all(v >= 0 for v in found["riskscore_feature_psi"].values())
    assert found["riskscore_score_psi"][""] >= 0
