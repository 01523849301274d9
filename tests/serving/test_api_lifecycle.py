"""Model lifecycle on the real server: hot swap under load, refused versions, registry down.

These tests move the `champion` alias of the session's registry; each leaves a good version
served (the registry-down ones start servers of their own).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import lightgbm as lgb
import mlflow
import mlflow.pyfunc
import pytest
from waiting import wait_for

from riskscore.models import registry
from riskscore.models.pyfunc import ARTIFACT, RiskPyfunc, save_risk_model
from riskscore.models.risk_model import RiskModel
from riskscore.training import tracking

MODEL, MEMBER = "customs-risk", "GB"  # as in conftest
LOAD_THREADS = 3
LOAD_SECONDS = 10  # at most


def served(client: httpx.Client) -> dict:
    response = client.get("/v1/model")
    assert response.status_code == 200, response.text
    return response.json()


def register_artifact(world, artifact: Path) -> str:
    """Log `artifact` as the model of a new run and register it (challenger); its version."""
    registry.configure(world.settings)
    experiment = tracking.ensure_experiment(world.settings, "serving-tests")
    with mlflow.start_run(experiment_id=experiment) as run:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskPyfunc(),
            artifacts={ARTIFACT: str(artifact)},
            pip_requirements=["riskscore"],
        )
    return registry.register(info.model_uri, MODEL, run.info.run_id, alias="challenger").version


@pytest.fixture(scope="module")
def second_version(world, tmp_path_factory) -> str:
    """Another model, registered as challenger and not served yet: the first one with half its
    trees, so that it answers differently (and no second training is needed)."""
    first = world.load_model(world.first_version)
    trees = first.booster.current_iteration()
    assert trees >= 2
    half = lgb.Booster(model_str=first.booster.model_to_string(num_iteration=trees // 2))
    path = tmp_path_factory.mktemp("second") / "risk_model.pkl"
    return register_artifact(world, save_risk_model(dataclasses.replace(first, booster=half), path))


def test_hot_swap_under_load_fails_no_request(server, world, second_version):
    body = {"declarations": world.records(2, start=4321), "top_k": 5}
    runs: list[list[tuple[int, dict | str]]] = [[] for _ in range(LOAD_THREADS)]
    stop = threading.Event()

    def fire(answers: list) -> None:
        with server.client(world.keys[MEMBER]) as client:
            while not stop.is_set():
                try:
                    r = client.post("/v1/score", json=body)
                except httpx.HTTPError as exc:  # a refused or dropped connection fails the test
                    answers.append((0, repr(exc)))
                    continue
                answers.append((r.status_code, r.json() if r.status_code == 200 else r.text))

    with server.client(world.keys[MEMBER]) as client:
        before = client.post("/v1/score", json=body).json()
        old = before["model"]["version"]
        assert old != second_version
        threads = [threading.Thread(target=fire, args=(run,)) for run in runs]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: all(len(run) >= 3 for run in runs), "the load to start")
            registry.configure(world.settings)
            registry.promote(MODEL, second_version)
            wait_for(
                lambda: any(
                    a[0] == 200 and a[1]["model"]["version"] == second_version
                    for run in runs
                    for a in run[-5:]
                ),
                "answers from the new version",
                timeout=LOAD_SECONDS,
            )
            time.sleep(0.3)  # a little more load on the new model
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        after = client.post("/v1/score", json=body).json()
        info = served(client)

    answers = [a for run in runs for a in run]
    failed = [a for a in answers if a[0] != 200]
    assert not failed, f"{len(failed)} of {len(answers)} requests failed: {failed[:3]}"
    assert after["model"]["version"] == second_version
    assert info["version"] == second_version and info["source"] == "registry"
    assert info["last_error"] is None and info["cache_error"] is None
    expected = {old: before["results"], second_version: after["results"]}
    assert expected[old] != expected[second_version], "the two models must answer differently"
    for run in runs:
        versions = [a[1]["model"]["version"] for a in run]
        assert set(versions) <= {old, second_version}
        # One way only: once a thread saw the new model it never saw the old one again.
        first_new = versions.index(second_version) if second_version in versions else len(versions)
        assert set(versions[first_new:]) <= {second_version}
        # Each answer comes whole from the model it names.
        for _, answer in run:
            assert answer["results"] == expected[answer["model"]["version"]]
    seen = {a[1]["model"]["version"] for a in answers}
    assert seen == {old, second_version}, "both versions answered during the load"
    metrics = httpx.get(server.url + "/metrics").text
    assert f'version="{second_version}"' in metrics and f'version="{old}"' not in metrics


def test_versions_that_cannot_serve_are_refused(server, world, tmp_path):
    with server.client(world.keys[MEMBER]) as client:
        good = served(client)["version"]
        corrupt = tmp_path / "corrupt.pkl"
        corrupt.write_bytes(b"\x80\x05 this is not a pickle")
        model: RiskModel = world.load_model(good)
        # Loads, but cannot score its own example: one feature short for the booster.
        broken = dataclasses.replace(model, feature_names=model.feature_names[:-1])
        unscoreable = save_risk_model(broken, tmp_path / "unscoreable.pkl")
        try:
            for artifact, words in ((corrupt, "unpickl"), (unscoreable, "feature")):
                version = register_artifact(world, artifact)
                registry.promote(MODEL, version)
                info = wait_for(
                    lambda v=version: (
                        (i := served(client))["last_error"]
                        and f"version {v} refused" in i["last_error"]
                        and i
                    ),
                    f"version {version} to be refused",
                )
                assert words in info["last_error"].lower(), info["last_error"]
                assert info["version"] == good and info["source"] == "registry"
                response = client.post("/v1/score", json={"declarations": world.records(1)})
                assert response.status_code == 200
                assert response.json()["model"]["version"] == good
                ready = httpx.get(server.url + "/readyz").json()
                assert ready["model"]["version"] == good and ready["last_error"]
        finally:
            registry.promote(MODEL, good)
        # Back on the served version: nothing is wrong any more.
        wait_for(lambda: served(client)["last_error"] is None, "last_error to clear")
        assert served(client)["version"] == good


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed


def test_registry_down_at_start_serves_the_cached_model(server, world, start_server, tmp_path):
    state = world.copy_state(tmp_path / "var", with_cache=True)
    cached = json.loads((state / "model-cache" / f"{MODEL}.json").read_text())
    down = start_server(
        "registry-down",
        RISKSCORE_STATE_DIR=state,
        RISKSCORE_TRACKING_URI=_closed_port_url(),
        RISKSCORE_RELOAD_SECONDS=0.5,
    )
    ready = httpx.get(down.url + "/readyz").json()
    assert ready["ready"] is True and ready["source"] == "cache"
    assert ready["registry_reachable"] is False and "registry" in ready["last_error"]
    assert ready["model"]["version"] == cached["version"]
    with down.client(world.keys[MEMBER]) as client:
        time.sleep(1.2)  # the background check keeps failing; the cache keeps serving
        info = served(client)
        assert info["source"] == "cache" and info["registry_reachable"] is False
        assert info["version"] == cached["version"]
        response = client.post("/v1/score", json={"declarations": world.records(3)})
        assert response.status_code == 200
        assert response.json()["model"]["version"] == cached["version"]
    metrics = httpx.get(down.url + "/metrics").text
    assert 'source="cache"' in metrics


@pytest.mark.parametrize("registry", ["down", "without the alias"])
def test_no_model_anywhere_is_not_ready(world, start_server, tmp_path, registry):
    state = world.copy_state(tmp_path / "var", with_cache=False)
    env = (
        {"RISKSCORE_TRACKING_URI": _closed_port_url()}
        if registry == "down"
        else {"RISKSCORE_MODEL_ALIAS": "nobody"}  # the session's registry, an alias never set
    )
    nothing = start_server("no-model", ready=False, RISKSCORE_STATE_DIR=state, **env)
    assert httpx.get(nothing.url + "/healthz").status_code == 200
    ready = httpx.get(nothing.url + "/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False and body["model"] is None
    # Down and reachable-but-empty are different troubles, and /readyz tells them apart.
    assert body["registry_reachable"] is (registry != "down")
    if registry != "down":
        assert "no version of customs-risk with alias nobody" in body["last_error"]
    with nothing.client(world.keys[MEMBER]) as client:
        response = client.post("/v1/score", json={"declarations": world.records(1)})
        assert response.status_code == 503 and "no model" in response.json()["detail"]
        assert client.get("/v1/model").status_code == 503
