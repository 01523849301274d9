"""The server under load: worker processes, the bulk pool and the bulk lanes' admission, the
in-flight limit and the drain at SIGTERM, each against a real `riskscore serve`.

A bulk request is held in progress by a client that starts reading a large streamed answer and
then stops: the server waits on the socket with the request's place in the lane still taken.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import MEMBER, MODEL, Server
from waiting import wait_for

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX processes and signals")


def upload(world) -> bytes:
    """Every stored clearance record as CSV: an answer of several MB with explain=all."""
    return world.clearance().to_csv(index=False).encode()


@contextmanager
def held_batch(server: Server, key: str, body: bytes) -> Iterator[dict]:
    """A /v1/score/batch request in progress: its answer has started, and is not read on."""
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=120) as client:
        request = client.build_request(
            "POST",
            "/v1/score/batch",
            params={"explain": "all"},
            content=body,
            headers={"Content-Type": "text/csv"},
        )
        response = client.send(request, stream=True)
        assert response.status_code == 200, response.read()
        lines = response.iter_lines()
        yield {"response": response, "lines": lines, "first": next(lines)}
        response.close()


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus exposition."""
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else " ")):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


POOL = {"RISKSCORE_BULK_PROCESSES": 1}
ALIAS = "two-workers"


def children(parent: int) -> dict[int, bytes]:
    """The child processes of `parent`, with their command lines (a child is listed under the
    thread that started it)."""
    tasks = Path(f"/proc/{parent}/task").glob("*/children")
    pids = [pid for task in tasks for pid in task.read_text().split()]
    found = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):
            found[int(pid)] = Path(f"/proc/{pid}/cmdline").read_bytes()
    return found


def worker_pids(parent: int) -> list[int]:
    """The worker processes uvicorn's supervisor started (not multiprocessing's helpers)."""
    return [pid for pid, cmdline in children(parent).items() if b"spawn_main" in cmdline]


def pool_pid(parent: int) -> int | None:
    """The bulk pool's process, when it runs."""
    found = [pid for pid, cmd in children(parent).items() if b"serving.bulk_pool" in cmd]
    return found[0] if found else None


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


@pytest.fixture(scope="module")
def two_workers(world) -> Iterator[Server]:
    """Two workers and a bulk pool, serving an alias of their own (the session's champion is
    left alone) that they check every second."""
    world.registry().set_registered_model_alias(MODEL, ALIAS, world.first_version)
    env = {"RISKSCORE_WORKERS": 2, "RISKSCORE_MODEL_ALIAS": ALIAS, "RISKSCORE_RELOAD_SECONDS": 1}
    running = Server(world, env | POOL, name="two-workers").start()
    yield running
    running.stop()
    world.registry().delete_registered_model_alias(MODEL, ALIAS)


def test_two_workers_share_the_port_and_their_metrics_add_up(two_workers, world):
    assert len(worker_pids(two_workers.process.pid)) == 2
    assert pool_pid(two_workers.process.pid) is not None
    body = {"declarations": world.records(1, start=100), "top_k": 3}
    headers = {"X-API-Key": world.keys[MEMBER]}
    sent = 40
    for _ in range(sent):  # a new connection each time: the kernel spreads them over workers
        answer = httpx.post(two_workers.url + "/v1/score", json=body, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
    # One bulk request, scored by the pool: counted once, by the worker that relayed it.
    large = {"declarations": world.records(200), "top_k": 3}
    bulk = httpx.post(two_workers.url + "/v1/score", json=large, headers=headers, timeout=60)
    assert bulk.status_code == 200, bulk.text
    assert [r["id"] for r in bulk.json()["results"]] == [d["id"] for d in large["declarations"]]
    scored = sent + 200

    def scraped() -> str | None:
        text = httpx.get(two_workers.url + "/metrics", timeout=10).text
        rows = metric(text, "riskscore_drift_declarations")
        return text if rows == scored else None

    # Counters are summed at once; each process's drift window is published every 5 s.
    text = wait_for(scraped, "the drift window of the workers and the pool", timeout=20)
    assert metric(text, "riskscore_requests_total", route="/v1/score", status="200") == sent + 1
    assert metric(text, "riskscore_score_count") == scored
    served = answer.json()["model"]["version"]  # the champion now (other tests promote)
    assert metric(text, "riskscore_model_version", version=served) == 1
    assert metric(text, "riskscore_score_psi") is not None


def test_every_worker_and_the_pool_follow_the_alias(two_workers, world):
    client = world.registry()
    first = client.get_model_version(MODEL, world.first_version)
    moved = str(client.create_model_version(MODEL, first.source, run_id=first.run_id).version)
    client.set_registered_model_alias(MODEL, ALIAS, moved)

    def swapped() -> bool:
        text = httpx.get(two_workers.url + "/metrics", timeout=10).text
        # A gauge shows the maximum over the live processes: the old version is at 0 only when
        # both workers and the pool have swapped.
        return (
            metric(text, "riskscore_model_version", version=moved) == 1
            and metric(text, "riskscore_model_version", version=world.first_version) == 0
        )

    wait_for(swapped, "every process to serve the version the alias moved to", timeout=90)
    large = {"declarations": world.records(200), "top_k": 0}
    with two_workers.client(world.keys[MEMBER]) as scoring:
        assert scoring.post("/v1/score", json=large).json()["model"]["version"] == moved


def test_a_worker_that_dies_is_replaced(two_workers, world):
    before = worker_pids(two_workers.process.pid)
    os.kill(before[0], signal.SIGKILL)
    after = wait_for(
        lambda: (
            (pids := worker_pids(two_workers.process.pid))
            and len(pids) == 2
            and before[0] not in pids
            and pids
        ),
        "a new worker",
        timeout=60,
    )
    assert before[1] in after
    headers = {"X-API-Key": world.keys[MEMBER]}
    body = {"declarations": world.records(1), "top_k": 0}
    for _ in range(10):
        answer = httpx.post(two_workers.url + "/v1/score", json=body, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text


def test_a_bulk_pool_that_dies_is_replaced_while_singles_go_on(two_workers, world):
    parent = two_workers.process.pid
    before = pool_pid(parent)
    os.kill(before, signal.SIGKILL)
    large = {"declarations": world.records(200), "top_k": 0}
    single = {"declarations": world.records(1), "top_k": 5}
    with two_workers.client(world.keys[MEMBER]) as client:
        refused = client.post("/v1/score", json=large)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "2"
        assert "bulk pool" in refused.json()["detail"]
        assert client.post("/v1/score", json=single).status_code == 200
        wait_for(
            lambda: client.post("/v1/score", json=large).status_code == 200,
            "a new bulk pool",
            timeout=90,
        )
    assert pool_pid(parent) not in (None, before)


def test_the_pool_admits_bulk_requests_by_key_and_answers_429_when_full(world):
    # Two places in the pool's lane, one per key.
    limits = {"RISKSCORE_BULK_THREADS": 1, "RISKSCORE_BULK_QUEUE": 1, "RISKSCORE_BULK_PER_KEY": 1}
    server = Server(world, POOL | limits, name="pool-admission").start()
    try:
        body = upload(world)
        large = {"declarations": world.records(200), "top_k": 0}
        single = {"declarations": world.records(1), "top_k": 5}
        with held_batch(server, world.keys[MEMBER], body):
            with server.client(world.keys[MEMBER]) as same:
                refused = same.post("/v1/score", json=large)
                assert refused.status_code == 429, refused.text
                assert "this key" in refused.json()["detail"]
            with held_batch(server, world.keys["*"], body), server.client(world.keys["FR"]) as fr:
                csv = {"Content-Type": "text/csv"}
                full = fr.post("/v1/score/batch", content=body, headers=csv)
                assert full.status_code == 429, full.text
                assert int(full.headers["Retry-After"]) >= 1
                assert "as many bulk requests" in full.json()["detail"]
                assert fr.post("/v1/score", json=large).status_code == 429
                # A single declaration does not go to the pool at all.
                with server.client(world.keys[MEMBER]) as client:
                    assert client.post("/v1/score", json=single).status_code == 200
        # The held answers were abandoned: their places are given back.
        with server.client(world.keys[MEMBER]) as client:
            wait_for(
                lambda: client.post("/v1/score", json=large).status_code == 200,
                "the pool to take bulk requests again",
            )
        # Killed, `riskscore serve` cannot stop the pool: the pool stops by itself.
        pool = pool_pid(server.process.pid)
        server.process.kill()
        server.process.wait(timeout=15)
        wait_for(lambda: not alive(pool), "the orphaned pool to stop", timeout=30)
    finally:
        server.stop()


def test_without_a_pool_a_full_bulk_lane_answers_429_and_singles_still_pass(world):
    limits = {"RISKSCORE_BULK_THREADS": 1, "RISKSCORE_BULK_QUEUE": 0}
    server = Server(world, limits, name="bulk-full").start()
    try:
        body = upload(world)
        with held_batch(server, world.keys[MEMBER], body), server.client(world.keys["*"]) as client:
            refused = client.post(
                "/v1/score/batch", content=body, headers={"Content-Type": "text/csv"}
            )
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["Retry-After"]) >= 1
            assert "retry in" in refused.json()["detail"]
            # A /v1/score body past RISKSCORE_BULK_BYTES is bulk too...
            large = {"declarations": world.records(200), "top_k": 0}
            assert client.post("/v1/score", json=large).status_code == 429
            # ...while a single declaration does not need the lane at all.
            single = {"declarations": world.records(1), "top_k": 5}
            assert client.post("/v1/score", json=single).status_code == 200
        # The held answer was abandoned: its place is given back.
        with server.client(world.keys[MEMBER]) as client:
            wait_for(
                lambda: client.post("/v1/score", json=large).status_code == 200,
                "the lane to take bulk requests again",
            )
    finally:
        server.stop()


def test_requests_beyond_the_in_flight_limit_get_503_with_retry_after(world):
    server = Server(world, {"RISKSCORE_MAX_IN_FLIGHT": 1}, name="in-flight").start()
    try:
        held = held_batch(server, world.keys[MEMBER], upload(world))
        with held, server.client(world.keys[MEMBER]) as client:
            busy = client.post("/v1/score", json={"declarations": world.records(1)})
            assert busy.status_code == 503, busy.text
            assert busy.headers["Retry-After"] == "1"
            assert "busy" in busy.json()["detail"]
            # Probes are always answered: a busy server is not a dead one.
            assert client.get("/readyz").status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize("workers, pool", [(1, 0), (2, 1)])
def test_sigterm_drains_finishes_in_flight_and_audits(world, workers, pool):
    env = {"RISKSCORE_WORKERS": workers, "RISKSCORE_BULK_PROCESSES": pool}
    server = Server(world, env | {"RISKSCORE_DRAIN_SECONDS": 3}, name=f"drain-{workers}").start()
    pool_process = pool_pid(server.process.pid)
    assert (pool_process is not None) == bool(pool)
    audit = world.settings.state_dir / "audit"
    body = upload(world)
    with held_batch(server, world.keys[MEMBER], body) as held:
        server.process.send_signal(signal.SIGTERM)
        # Draining: still answering, and saying it is not ready.
        ready = wait_for(
            lambda: (r := httpx.get(server.url + "/readyz", timeout=5)).status_code == 503 and r,
            "readiness to turn 503",
            timeout=3,
        )
        assert ready.json()["reason"].startswith("draining")
        lines = [held["first"], *held["lines"]]
    summary = [line for line in lines if '"summary"' in line]
    assert len(summary) == 1, lines[-1][:300]
    request_id = re.search(r'"request_id":"(\w+)"', summary[0]).group(1)
    assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert pool_process is None or not alive(pool_process)  # the pool stopped after the workers
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/healthz", timeout=2)
    audited = "".join(p.read_text() for p in audit.glob("audit-*.jsonl"))
    # Every declaration answered was audited before the server exited.
    ours = [line for line in audited.splitlines() if request_id in line]
    assert sum(line.count('"id"') for line in ours) == len(world.clearance())
