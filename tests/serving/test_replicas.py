"""Two replicas of the service on one shared PostgreSQL database (RISKSCORE_DATABASE_URL): each
has a state dir of its own (model cache) and shares keys, outcomes, the audit trail and the
selection records with the other."""

from __future__ import annotations

import threading

import httpx
import pytest
import sqlalchemy
from waiting import wait_for

from riskscore.database import SharedDatabase, engine_url

RELOAD_SECONDS = 1


def rows(url: str, sql: str) -> list[tuple]:
    """Rows of the shared database, read past the service."""
    engine = sqlalchemy.create_engine(engine_url(SharedDatabase(url)))
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def replicas(world, start_server, postgres_url, tmp_path):
    """Two `riskscore serve` on one database, each with a state dir of its own."""
    shared = {"RISKSCORE_DATABASE_URL": postgres_url, "RISKSCORE_RELOAD_SECONDS": RELOAD_SECONDS}
    return [
        start_server(name, RISKSCORE_STATE_DIR=tmp_path / name, **shared)
        for name in ("replica-a", "replica-b")
    ]


def both(servers, method: str, path: str, key: str, bodies: list[dict | None]):
    """The same kind of request to each server at once (one body each); their answers."""
    answers: list[httpx.Response | None] = [None] * len(servers)
    start = threading.Barrier(len(servers))

    def send(i: int) -> None:
        with servers[i].client(key) as client:
            start.wait()
            answers[i] = client.request(method, path, json=bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(a is not None for a in answers)
    return answers


def test_two_replicas_share_keys_outcomes_audit_and_selections(
    world, replicas, postgres_url, tmp_path
):
    env = {"RISKSCORE_DATABASE_URL": postgres_url, "RISKSCORE_STATE_DIR": tmp_path / "cli"}
    created = world.cli("keys", "create", "--member", "GB", **env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    key_id = key.split("_")[1]

    # A key made against the database works on both servers (read within RELOAD_SECONDS).
    for server in replicas:
        with server.client(key) as client:
            wait_for(lambda c=client: c.get("/v1/model").status_code == 200, "the new key", 15)

    # Each scores declarations of its own and one in common; both answers are audited and
    # every declaration scored gets its selection record, all in the shared tables.
    records = world.records(5, start=900)
    bodies = [{"declarations": records[:3]}, {"declarations": records[2:]}]
    scored = both(replicas, "POST", "/v1/score", key, bodies)
    assert [a.status_code for a in scored] == [200, 200], [a.text for a in scored]
    request_ids = {a.json()["request_id"] for a in scored}
    audited = rows(postgres_url, "SELECT request_id, key_id, route FROM audit_log")
    assert {r[0] for r in audited} >= request_ids
    assert {(r[1], r[2]) for r in audited if r[0] in request_ids} == {(key_id, "/v1/score")}
    ids = {r["id"] for r in records}

    def selected() -> set[str]:  # the table is made by the first write, after a short linger
        try:
            return {r[0] for r in rows(postgres_url, "SELECT declaration_id FROM selections")}
        except sqlalchemy.exc.ProgrammingError:
            return set()

    wait_for(lambda: selected() >= ids, "the selection records of both servers' declarations")

    # The same outcomes posted to both servers at once are stored once.
    outcomes = {
        "outcomes": [
            {"declaration_id": r["id"], "reporting_country": "GB", "illicit": 1,
             "revenue_recovered": 12.5, "inspection_date": "2025-03-01"}
            for r in records
        ]
    }  # fmt: skip
    posted = both(replicas, "POST", "/v1/outcomes", key, [outcomes, outcomes])
    assert [a.status_code for a in posted] == [200, 200], [a.text for a in posted]
    assert sum(a.json()["stored"] for a in posted) == 5
    assert sum(a.json()["duplicates"] for a in posted) == 5
    stored = rows(postgres_url, "SELECT member, declaration_id, illicit FROM outcomes")
    assert sorted(stored) == sorted(("GB", r["id"], 1) for r in records)
    with replicas[1].client(key) as client:
        changed = {"outcomes": [outcomes["outcomes"][0] | {"illicit": 0}]}
        assert client.post("/v1/outcomes", json=changed).status_code == 409

    # Revoked through the CLI: refused by both servers within RELOAD_SECONDS.
    revoked = world.cli("keys", "revoke", key_id, **env)
    assert revoked.returncode == 0, revoked.stderr
    for server in replicas:
        with server.client(key) as client:
            wait_for(lambda c=client: c.get("/v1/model").status_code == 401, "the revocation", 15)
    listed = world.cli("keys", "list", "--json", **env)
    assert listed.returncode == 0 and '"revoked_at": null' not in listed.stdout
    # Nothing of the shared state went to the servers' own state dirs.
    for server in replicas:
        state = tmp_path / server.name
        assert not [p.name for p in state.iterdir() if p.name != "model-cache"]
