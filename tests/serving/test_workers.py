"""The server under load: worker processes, the bulk lane's admission, the in-flight limit and
the drain at SIGTERM, each against a real `riskscore serve`.

A bulk request is held in progress by a client that starts reading a large streamed answer and
then stops: the server waits on the socket with the request's place in the lane still taken.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import MEMBER, Server
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


def worker_pids(parent: int) -> list[int]:
    """The worker processes uvicorn's supervisor started (not multiprocessing's helpers)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


@pytest.fixture(scope="module")
def two_workers(world) -> Iterator[Server]:
    running = Server(world, {"RISKSCORE_WORKERS": 2}, name="two-workers").start()
    yield running
    running.stop()


def test_two_workers_share_the_port_and_their_metrics_add_up(two_workers, world):
    assert len(worker_pids(two_workers.process.pid)) == 2
    body = {"declarations": world.records(1, start=100), "top_k": 3}
    headers = {"X-API-Key": world.keys[MEMBER]}
    sent = 40
    for _ in range(sent):  # a new connection each time: the kernel spreads them over workers
        answer = httpx.post(two_workers.url + "/v1/score", json=body, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text

    def scraped() -> str | None:
        text = httpx.get(two_workers.url + "/metrics", timeout=10).text
        rows = metric(text, "riskscore_drift_declarations")
        return text if rows == sent else None

    # Counters are summed at once; each worker's drift window is published every 5 s.
    text = wait_for(scraped, "the drift window of both workers", timeout=20)
    assert metric(text, "riskscore_requests_total", route="/v1/score", status="200") == sent
    assert metric(text, "riskscore_score_count") == sent
    served = answer.json()["model"]["version"]  # the champion now (other tests promote)
    assert metric(text, "riskscore_model_version", version=served) == 1
    assert metric(text, "riskscore_score_psi") is not None


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


def test_a_full_bulk_lane_answers_429_and_singles_still_pass(world):
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


def test_one_key_cannot_hold_the_whole_lane(world):
    server = Server(world, {"RISKSCORE_BULK_PER_KEY": 1}, name="bulk-per-key").start()
    try:
        large = {"declarations": world.records(200), "top_k": 0}
        with held_batch(server, world.keys[MEMBER], upload(world)):
            with server.client(world.keys[MEMBER]) as same:
                refused = same.post("/v1/score", json=large)
            assert refused.status_code == 429, refused.text
            assert "this key" in refused.json()["detail"]
            with server.client(world.keys["*"]) as other:
                assert other.post("/v1/score", json=large).status_code == 200
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


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_finishes_in_flight_and_audits(world, workers):
    env = {"RISKSCORE_WORKERS": workers, "RISKSCORE_DRAIN_SECONDS": 3}
    server = Server(world, env, name=f"drain-{workers}").start()
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
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/healthz", timeout=2)
    audited = "".join(p.read_text() for p in audit.glob("audit-*.jsonl"))
    # Every declaration answered was audited before the server exited.
    ours = [line for line in audited.splitlines() if request_id in line]
    assert sum(line.count('"id"') for line in ours) == len(world.clearance())
