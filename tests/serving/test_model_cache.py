"""The local model cache and the registry's answers (issue 10, items 3, 6, 7, 11).

- A cache whose bytes changed is refused before it is unpickled, and /readyz names it.
- The cache serves only when the registry cannot be reached: an alias the registry says is gone
  (withdrawn champion) stops serving, at start and while serving.
- Tracking credentials never appear in /readyz, 503 answers or the logs.
- A 503 names the actual cause, never "train one" for a corrupt cache.

Unit tests drive a ModelHolder in this process; the end-to-end ones start the real server.
"""

from __future__ import annotations

import json
import logging
import pickle
import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from riskscore.models import registry
from riskscore.serving import model_holder
from riskscore.serving.model_holder import CACHE_MAGIC, CacheError, ModelCache, ModelHolder

MODEL, MEMBER = "customs-risk", "GB"  # as in conftest
SECRET = "secretpw"


def closed_port_url(userinfo: str = "") -> str:
    """An http URL nothing listens on (the socket is closed once bound)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://{userinfo}127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def fail_fast(monkeypatch) -> Iterator[None]:
    """An unreachable registry fails at once, as in `riskscore serve` (no retries)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    yield


def holder_for(world, state: Path, **settings: object) -> ModelHolder:
    """A holder on the session's registry (or `tracking_uri=`) keeping its cache in `state`."""
    update = {"state_dir": state, "reload_seconds": 0, **settings}
    current = world.settings.model_copy(update=update)
    registry.configure(current)
    return ModelHolder(current)


def cache_from_registry(world, state: Path, alias: str = "champion") -> Path:
    """Load `alias` from the session registry as serving does, which writes the cache; its path."""
    holder = holder_for(world, state, model_alias=alias)
    loaded = holder.load_initial()
    assert loaded is not None and loaded.source == "registry", holder.status
    pickled = state / "model-cache" / f"{MODEL}.pkl"
    assert pickled.is_file()
    return pickled


def flip_a_leaf_value(path: Path) -> None:
    """Change one digit of one tree leaf: the pickle still loads, the model scores differently."""
    data = bytearray(path.read_bytes())
    at = data.index(b"leaf_value=") + len(b"leaf_value=")
    while not chr(data[at]).isdigit():
        at += 1
    data[at] = ord("7") if data[at] != ord("7") else ord("3")
    path.write_bytes(bytes(data))


@pytest.fixture
def no_unpickling(monkeypatch) -> None:
    """Fail the test if the holder unpickles anything (unverified bytes must never be)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache was unpickled before it was verified")

    monkeypatch.setattr(model_holder.pickle, "load", refuse)
    monkeypatch.setattr(model_holder.pickle, "loads", refuse)


@pytest.fixture
def alias(world) -> Iterator[str]:
    """A throwaway alias on the first version (the session's champion is left alone)."""
    name = f"retired-{time.monotonic_ns()}"
    world.registry().set_registered_model_alias(MODEL, name, world.first_version)
    yield name
    client = world.registry()
    if registry.alias_version(MODEL, name) is not None:
        client.delete_registered_model_alias(MODEL, name)


def delete_alias(world, name: str) -> None:
    world.registry().delete_registered_model_alias(MODEL, name)


# -- unit: the cache ---------------------------------------------------------------------------


def test_flipped_byte_in_cache_is_refused_before_unpickling(world, tmp_path, request):
    state = tmp_path / "var"
    pickled = cache_from_registry(world, state)
    flip_a_leaf_value(pickled)
    request.getfixturevalue("no_unpickling")
    holder = holder_for(world, state, tracking_uri=closed_port_url())

    assert holder.load_initial() is None
    status = holder.status
    assert status.registry_reachable is False
    assert status.cache_error is not None
    assert f"{pickled} failed its checksum" in status.cache_error
    assert "expected" in status.cache_error and "got" in status.cache_error
    reason = holder.unavailable_reason()
    assert "checksum" in reason and "registry" in reason and "train one" not in reason


def test_any_flipped_bit_is_refused_or_harmless(world, tmp_path):
    """Every bit of the header and a sample of the pickle: the cache is refused, or (a flip in
    the unchecked time it was cached) still gives the version it names and nothing else."""
    pickled = cache_from_registry(world, tmp_path / "var")
    data = pickled.read_bytes()
    cache = ModelCache(tmp_path / "fuzz", MODEL)
    cache.path.parent.mkdir()
    header_end = data.index(b"\n", len(CACHE_MAGIC)) + 1
    payload = random.Random(7).sample(range(header_end, len(data)), 40)
    unchecked = range(data.index(b', "cached_at"'), header_end - 1)  # the last field
    loaded = set()
    for at in [*range(header_end + 1), *payload]:
        flipped = bytearray(data)
        flipped[at] ^= 1 << (at % 8)
        cache.path.write_bytes(bytes(flipped))
        try:
            version, _ = cache.load(MODEL, "champion")
        except CacheError:
            continue
        loaded.add(version)
        assert at in unchecked, f"byte {at} changed and the cache was not refused"
    assert loaded <= {json.loads(data[len(CACHE_MAGIC) : header_end])["version"]}


def test_cache_without_checksum_is_refused(world, tmp_path, request):
    """A cache written before this release (a bare pickle) is not trusted either."""
    state = tmp_path / "var"
    pickled = state / "model-cache" / f"{MODEL}.pkl"
    pickled.parent.mkdir(parents=True)
    meta = {"name": MODEL, "version": world.first_version, "alias": "champion"}
    with pickled.open("wb") as fh:
        pickle.dump((meta, world.load_model(world.first_version)), fh, pickle.HIGHEST_PROTOCOL)
    request.getfixturevalue("no_unpickling")
    holder = holder_for(world, state, tracking_uri=closed_port_url())

    assert holder.load_initial() is None
    assert "no checksum" in holder.status.cache_error
    assert "rewritten on the next successful registry load" in holder.status.cache_error


def test_intact_cache_serves_when_registry_down(world, tmp_path):
    state = tmp_path / "var"
    cache_from_registry(world, state)
    holder = holder_for(world, state, tracking_uri=closed_port_url())

    loaded = holder.load_initial()
    assert loaded is not None and loaded.source == "cache" and loaded.alias == "champion"
    assert holder.status.cache_error is None
    rows = world.clearance().head(50)
    expected = world.load_model(loaded.version).score(rows).raw
    assert (loaded.model.score(rows).raw == expected).all()


def test_cache_of_another_alias_is_not_served(world, tmp_path):
    state = tmp_path / "var"
    cache_from_registry(world, state)  # alias champion
    holder = holder_for(world, state, tracking_uri=closed_port_url(), model_alias="challenger")

    assert holder.load_initial() is None
    assert "alias champion" in holder.status.cache_error


# -- unit: a withdrawn alias -------------------------------------------------------------------


def test_alias_gone_at_start_does_not_serve_the_cache(world, tmp_path, alias):
    state = tmp_path / "var"
    cache_from_registry(world, state, alias=alias)
    delete_alias(world, alias)
    holder = holder_for(world, state, model_alias=alias)

    assert holder.load_initial() is None
    assert holder.status.registry_reachable is True
    assert f"no version of {MODEL} with alias {alias}" in holder.status.last_error
    assert not (state / "model-cache" / f"{MODEL}.pkl").exists(), "a withdrawn model stays gone"


def test_alias_removed_while_serving_stops_serving(world, tmp_path, alias):
    state = tmp_path / "var"
    holder = holder_for(world, state, model_alias=alias, reload_seconds=0.1)
    assert holder.load_initial() is not None
    holder.start()
    try:
        delete_alias(world, alias)
        deadline = time.monotonic() + 20
        while holder.current is not None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        holder.stop()
    assert holder.current is None, "a withdrawn champion must stop serving"
    assert f"alias {alias} removed" in holder.status.last_error
    assert f"alias {alias} removed" in holder.unavailable_reason()
    assert not (state / "model-cache" / f"{MODEL}.pkl").exists()


# -- unit: credentials -------------------------------------------------------------------------


def test_tracking_credentials_stay_out_of_status_and_logs(world, tmp_path, caplog):
    state = tmp_path / "var"
    cache_from_registry(world, state)
    flip_a_leaf_value(state / "model-cache" / f"{MODEL}.pkl")  # no model: every message shows
    holder = holder_for(world, state, tracking_uri=closed_port_url(f"user:{SECRET}@"))

    with caplog.at_level(logging.DEBUG):
        assert holder.load_initial() is None
    assert holder.status.last_error and "***@127.0.0.1" in holder.status.last_error
    for text in (holder.status.last_error, holder.unavailable_reason(), caplog.text):
        assert SECRET not in text


def test_refused_version_reason_is_redacted(world, tmp_path, monkeypatch):
    holder = holder_for(world, tmp_path / "var")

    def unreachable_artifacts(uri: str) -> None:
        raise registry.ModelNotFoundError(f"cannot load {uri}: https://u:{SECRET}@s3.example/x")

    monkeypatch.setattr(registry, "load_model", unreachable_artifacts)
    assert holder.load_initial() is None
    assert holder.status.refused_versions
    for reason in (*holder.status.refused_versions.values(), holder.status.last_error):
        assert SECRET not in reason and "***@s3.example" in reason


def test_a_version_that_could_not_be_fetched_is_tried_again_later(world, tmp_path, monkeypatch):
    """An artifact store down for a moment must not refuse a version until the next restart."""
    holder = holder_for(world, tmp_path / "var")
    real_load = registry.load_model
    down = {"now": True}

    def flaky(uri: str):  # noqa: ANN202
        if down["now"]:
            raise registry.ModelNotFoundError(f"cannot load {uri}: artifact store unreachable")
        return real_load(uri)

    monkeypatch.setattr(registry, "load_model", flaky)
    assert holder.load_initial() is None
    version = next(iter(holder.status.refused_versions))
    down["now"] = False
    holder.check()
    assert holder.current is None, "retried before its time"
    holder.status.retry_after[version] = 0.0  # as if the retry delay had passed
    holder.check()
    assert holder.current is not None and holder.current.version == version
    assert holder.status.last_error is None and not holder.status.refused_versions


def test_a_version_that_cannot_score_its_example_stays_refused(world, tmp_path, monkeypatch):
    holder = holder_for(world, tmp_path / "var")

    def cannot_score(model) -> None:  # noqa: ANN001
        raise ValueError("scores NaN")

    monkeypatch.setattr(ModelHolder, "_check", staticmethod(cannot_score))
    assert holder.load_initial() is None
    assert not holder.status.retry_after
    monkeypatch.setattr(ModelHolder, "_check", staticmethod(lambda model: None))
    holder.check()
    assert holder.current is None and "scores NaN" in holder.status.last_error


# -- end to end: the real server ---------------------------------------------------------------


def score_503(server, world) -> str:
    with server.client(world.keys[MEMBER]) as client:
        response = client.post("/v1/score", json={"declarations": world.records(1)})
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert "no model" in detail and "train one" not in detail
    return detail


def test_server_with_corrupt_cache_is_not_ready_and_names_it(world, start_server, tmp_path):
    state = world.copy_state(tmp_path / "var", with_cache=False)
    pickled = cache_from_registry(world, state)
    flip_a_leaf_value(pickled)
    down = start_server(
        "corrupt-cache",
        ready=False,
        RISKSCORE_STATE_DIR=state,
        RISKSCORE_TRACKING_URI=closed_port_url(),
    )
    ready = httpx.get(down.url + "/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False and body["registry_reachable"] is False
    assert f"model cache {pickled} failed its checksum" in body["cache_error"]
    assert "checksum" in body["reason"] and "registry" in body["reason"]
    assert "checksum" in score_503(down, world)


def test_restart_with_alias_deleted_is_not_ready(world, start_server, tmp_path, alias):
    state = world.copy_state(tmp_path / "var", with_cache=False)
    first = start_server(
        "alias-set",
        RISKSCORE_STATE_DIR=state,
        RISKSCORE_MODEL_ALIAS=alias,
        RISKSCORE_RELOAD_SECONDS=3600,  # the alias goes while it is down, not while it serves
    )
    assert httpx.get(first.url + "/readyz").json()["source"] == "registry"
    first.stop()
    assert (state / "model-cache" / f"{MODEL}.pkl").exists()
    delete_alias(world, alias)

    again = start_server(
        "alias-deleted", ready=False, RISKSCORE_STATE_DIR=state, RISKSCORE_MODEL_ALIAS=alias
    )
    ready = httpx.get(again.url + "/readyz")
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["ready"] is False and body["registry_reachable"] is True
    assert f"no version of {MODEL} with alias {alias}" in body["reason"]
    assert f"alias {alias}" in score_503(again, world)


def test_readyz_and_logs_hide_tracking_credentials(world, start_server, tmp_path):
    state = world.copy_state(tmp_path / "var", with_cache=False)
    down = start_server(
        "credentials",
        ready=False,
        RISKSCORE_STATE_DIR=state,
        RISKSCORE_TRACKING_URI="",  # MLFLOW_TRACKING_URI then names the registry
        MLFLOW_TRACKING_URI=closed_port_url(f"user:{SECRET}@"),
    )
    ready = httpx.get(down.url + "/readyz")
    assert ready.status_code == 503
    assert "***@127.0.0.1" in ready.json()["last_error"]
    detail = score_503(down, world)
    time.sleep(0.3)  # let the log lines reach the files
    for text in (ready.text, detail, down.logs()):
        assert SECRET not in text
