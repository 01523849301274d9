"""`riskscore refresh`: seizures ingested after training reach the running server and `riskscore
score` without retraining, with the same features as history, and a bad state never serves.

Each test registers the session's model under a name of its own and works on a copy of the
store, so the other tests keep their model, state and data.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from riskscore.features.contracts import declaration_records
from riskscore.features.dataset import build_feature_table, load_history
from riskscore.features.outcomes import Outcome, OutcomeStore, read_outcomes
from riskscore.features.store import Store
from riskscore.models import registry, state
from riskscore.synth.intelligence import cell_seizures, quiet_cell
from riskscore.training.refresh import RefreshError, refresh

SEIZURES = 40
MEMBER = "GB"  # as in conftest
MODEL = "customs-risk"


def own_model(world, name: str, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The session's model registered again as `name` (its champion), a copy of the store,
    and the environment that points the CLI and a server at both."""
    client = world.registry()
    source = client.get_model_version(MODEL, world.first_version)
    registry.register(source.source, name, source.run_id)
    store = tmp_path / "store"
    shutil.copytree(world.settings.store_dir, store)
    env = {"RISKSCORE_MODEL_NAME": name, "RISKSCORE_STORE_DIR": str(store)}
    return env, store


def api_scores(client, rows: pd.DataFrame) -> dict:
    answer = client.post("/v1/score", json={"declarations": declaration_records(rows)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for_state(client, version: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/v1/model").json()
        if body["state_version"] == version:
            return body
        time.sleep(0.2)
    raise AssertionError(f"the server did not take state {version} within {timeout} s: {body}")


def test_new_seizures_reach_the_running_server_and_batch_scoring(
    world, start_server, tmp_path
) -> None:
    env, store = own_model(world, "refresh-demo", tmp_path)
    rows = quiet_cell(store)
    server = start_server("refresh", RISKSCORE_RELOAD_SECONDS=0.5, **env)
    batch_in = tmp_path / "cell.csv"
    rows.to_csv(batch_in, index=False)

    with server.client(world.keys[MEMBER]) as client:
        before = api_scores(client, rows)
        assert before["model"]["state_version"] == state.TRAINED
        scored = world.cli("score", "--input", str(batch_in), "--out", "before.csv", **env)
        assert scored.returncode == 0, scored.stderr

        ingested = world.cli(
            "ingest", "seizures", str(cell_seizures(rows, tmp_path / "new.csv", SEIZURES)), **env
        )
        assert ingested.returncode == 0, ingested.stderr
        done = world.cli("refresh", "--json", **env)
        assert done.returncode == 0, done.stderr
        published = json.loads(done.stdout)["state"]

        body = wait_for_state(client, published["version"])
        assert body["state_as_of"] == published["as_of"]
        assert 0 <= body["state_age_seconds"] < 600
        after = api_scores(client, rows)
        assert after["model"]["state_version"] == published["version"]
        metrics = client.get("/metrics").text
        assert f'riskscore_feature_state{{as_of="{published["as_of"]}"' in metrics
        assert "riskscore_feature_state_age_seconds " in metrics

    mean = lambda answer: np.mean([r["score"] for r in answer["results"]])  # noqa: E731
    assert mean(after) >= 2 * mean(before), (mean(before), mean(after))
    criteria = {reason["criterion"] for r in after["results"] for reason in r.get("reasons") or []}
    assert "seizure_intelligence" in criteria

    scored = world.cli("score", "--input", str(batch_in), "--out", "after.csv", **env)
    assert scored.returncode == 0, scored.stderr
    file_before = pd.read_csv(world.root / "before.csv")
    file_after = pd.read_csv(world.root / "after.csv")
    assert set(file_after["state_version"]) == {published["version"]}
    assert set(file_before["state_version"]) == {state.TRAINED}
    assert file_after["score"].mean() >= 2 * file_before["score"].mean()
    # The file and the API give each declaration the same score with the same state.
    by_id = {r["id"]: r["score"] for r in after["results"]}
    assert np.allclose(file_after["score"], [by_id[str(i)] for i in file_after["id"]])

    # Refreshing again with nothing new publishes nothing; more seizures are folded in.
    again = json.loads(world.cli("refresh", "--json", **env).stdout)
    assert again["mode"] == "unchanged" and again["state"]["version"] == published["version"]
    more = cell_seizures(rows, tmp_path / "more.csv", 5, seed=1)
    assert world.cli("ingest", "seizures", str(more), **env).returncode == 0
    folded = json.loads(world.cli("refresh", "--json", **env).stdout)
    assert folded["mode"] == "incremental", folded
    assert folded["records"]["new_seizures"] == 5
    scored = world.cli("score", "--input", str(batch_in), "--out", "folded.csv", **env)
    assert scored.returncode == 0, scored.stderr
    file_folded = pd.read_csv(world.root / "folded.csv")
    assert set(file_folded["state_version"]) == {folded["state"]["version"]}
    assert file_folded["score"].mean() >= file_after["score"].mean()


def test_served_features_after_a_refresh_equal_the_historical_ones(world, tmp_path) -> None:
    env, store = own_model(world, "refresh-skew", tmp_path)
    # A state dir of its own, with one outcome fed back through the API: it labels a record
    # that had no outcome, for the refresh and for `features build` alike.
    settings = world.settings.model_copy(
        update={"model_name": "refresh-skew", "state_dir": tmp_path / "var"}
    )
    history = load_history(Store(store))
    dates = history.declarations["date"]
    day = dates.max().normalize() - pd.Timedelta(days=20)  # the state: records before `day`
    unlabelled = history.declarations[
        (history.declarations["label_source"] == "none") & (dates < day - pd.Timedelta(days=45))
    ].iloc[-1]
    fed = OutcomeStore(settings.outcomes_db)
    fed.add([Outcome(unlabelled["id"], MEMBER, 1, None, str(unlabelled["date"].date()))])
    fed.close()
    done = world.cli(
        "refresh", "--as-of", str(day.date()), RISKSCORE_STATE_DIR=settings.state_dir, **env
    )
    assert done.returncode == 0, done.stderr
    assert f"records before {day.date()}: full" in done.stdout
    outcomes = read_outcomes(settings.outcomes_db)
    history = load_history(Store(store), outcomes=outcomes)
    assert history.label_counts["api_outcomes_applied"] == 1
    dates = history.declarations["date"]

    model = registry.load_model("models:/refresh-skew@champion", published_state=True)
    assert state.state_of(model).as_of == str(day.date())
    rows = history.declarations[dates.dt.normalize() == day]
    assert len(rows) >= 3
    served = model.pipeline.transform(rows.reset_index(drop=True))
    built = build_feature_table(store, tmp_path / "features.parquet", outcomes)
    table = pd.read_parquet(built["out"])
    historical = table.set_index("id").loc[rows["id"].astype(str)].reset_index(drop=True)
    for column in served.columns:
        left, right = served[column], historical[column]
        if pd.api.types.is_numeric_dtype(left):
            assert np.allclose(left, right, equal_nan=True, rtol=1e-9), column
        else:
            assert (
                left.astype(object).where(left.notna(), None).tolist()
                == right.astype(object).where(right.notna(), None).tolist()
            ), column


def test_a_state_that_fails_leaves_the_served_state(world, start_server, tmp_path) -> None:
    env, store = own_model(world, "refresh-bad", tmp_path)
    settings = world.settings.model_copy(update={"model_name": "refresh-bad"})
    good = refresh(store, settings).state
    server = start_server("refresh-bad", RISKSCORE_RELOAD_SECONDS=0.5, **env)
    version = registry.version_for_alias("refresh-bad", "champion")

    def publish(ref: state.StateRef) -> None:
        MlflowClient().set_model_version_tag(
            "refresh-bad", version, state.STATE_TAG, json.dumps(ref.to_dict())
        )

    def error_with(client, text: str) -> dict:  # noqa: ANN001
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = client.get("/v1/model").json()
            if text in (body["last_error"] or ""):
                return body
            time.sleep(0.2)
        raise AssertionError(f"no {text!r} in last_error within 30 s: {body}")

    with server.client(world.keys[MEMBER]) as client:
        wait_for_state(client, good.version)
        # An artifact that cannot be fetched: not refused, tried again on every check.
        publish(state.StateRef("20991230T000000000000Z", "2099-12-30", good.created_at,
                               good.sha256, "feature_state/missing.pkl"))  # fmt: skip
        body = error_with(client, "state 20991230T000000000000Z not loaded yet")
        assert body["state_version"] == good.version
        # An artifact that does not match its checksum: refused for good.
        publish(state.StateRef("20991231T000000000000Z", "2099-12-31", good.created_at,
                               "0" * 64, good.path))  # fmt: skip
        body = error_with(client, "state 20991231T000000000000Z refused")
        assert "checksum" in body["last_error"]
        assert body["state_version"] == good.version
        answer = client.post("/v1/score", json={"declarations": world.records(2)})
        assert answer.json()["model"]["state_version"] == good.version
    with pytest.raises(state.StateError, match="checksum"):
        registry.load_model("models:/refresh-bad@champion", published_state=True)


def test_refresh_errors_name_the_problem(world, tmp_path) -> None:
    bad_day = world.cli("refresh", "--as-of", "last tuesday")
    assert bad_day.returncode != 0 and "--as-of" in bad_day.stderr
    missing = world.cli("refresh", "--store", str(tmp_path / "nowhere"))
    assert missing.returncode != 0
    assert "no such store" in missing.stderr and "Traceback" not in missing.stderr
    settings = world.settings.model_copy(update={"model_name": "never-registered"})
    with pytest.raises(RefreshError, match="no version of never-registered"):
        refresh(world.settings.store_dir, settings)
