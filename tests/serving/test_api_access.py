"""Keys, scope, audit, outcomes, and the read-only routes of the real server."""

from __future__ import annotations

import json
import re
import sqlite3

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

MEMBER = "GB"  # as in conftest
V1_ROUTES = [
    ("POST", "/v1/score"),
    ("POST", "/v1/score/batch"),
    ("POST", "/v1/outcomes"),
    ("GET", "/v1/model"),
    ("GET", "/v1/model/importance"),
]


def outcome(declaration_id: str, **change) -> dict:
    return {
        "declaration_id": declaration_id,
        "reporting_country": MEMBER,
        "illicit": 1,
        "revenue_recovered": 120.5,
        "inspection_date": "2025-03-01",
    } | change


def request(client: httpx.Client, method: str, path: str, world) -> httpx.Response:
    if path == "/v1/score":
        return client.post(path, json={"declarations": world.records(1)})
    if path == "/v1/score/batch":
        csv = b"id,date,reporting_country,hs_code,origin_country\nAUTH-1,2025-01-02,GB,100630,EC\n"
        return client.post(path, content=csv, headers={"Content-Type": "text/csv"})
    if path == "/v1/outcomes":
        return client.post(path, json={"outcomes": [outcome("AUTH-CHECK")]})
    return client.request(method, path)


def metric_samples(server) -> dict[tuple[str, frozenset], float]:
    text = httpx.get(server.url + "/metrics").text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# -- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), V1_ROUTES)
def test_every_v1_route_needs_a_valid_key(server, world, method, path):
    good = world.keys[MEMBER]
    forged = "rsk_" + good.split("_")[1] + "_" + "A" * 43  # a real key id, a wrong secret
    for headers in (
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "not-a-key"},
        {"X-API-Key": forged},
        {"X-API-Key": "rsk_"},
        {"Authorization": "Basic " + good},
        {"Authorization": "Bearer " + forged},
    ):
        with httpx.Client(base_url=server.url, headers=headers) as client:
            response = request(client, method, path, world)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {good}"}) as client:
        assert request(client, method, path, world).status_code < 400


def test_open_routes_need_no_key(server):
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["source"] == "registry"
    assert body["registry_reachable"] is True
    assert httpx.get(server.url + "/metrics").status_code == 200
    schema = httpx.get(server.url + "/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"
    assert "security" in schema["paths"]["/v1/score"]["post"]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_the_schema_documents_every_json_answer(server):
    schema = httpx.get(server.url + "/openapi.json").json()
    for path, method, model in (
        ("/v1/score", "post", "ScoreResponse"),
        ("/v1/outcomes", "post", "OutcomesResponse"),
        ("/v1/model", "get", "ModelResponse"),
        ("/v1/model/importance", "get", "ImportanceResponse"),
        ("/healthz", "get", "HealthResponse"),
    ):
        ok = schema["paths"][path][method]["responses"]["200"]
        assert ok["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }, path
    top_k = schema["components"]["schemas"]["ScoreRequest"]["properties"]["top_k"]
    assert "RISKSCORE_TOP_K" in top_k["description"]


def test_a_key_acts_for_its_member_only(server, world):
    gb_rows = world.records(2)
    fr_rows = [r | {"id": r["id"] + "-FR", "reporting_country": "France"} for r in gb_rows]
    with server.client(world.keys[MEMBER]) as gb, server.client(world.keys["FR"]) as fr:
        assert gb.post("/v1/score", json={"declarations": gb_rows}).status_code == 200
        mixed = gb.post("/v1/score", json={"declarations": gb_rows + fr_rows})
        assert mixed.status_code == 403
        assert "FR" in mixed.json()["detail"]
        assert fr.post("/v1/score", json={"declarations": fr_rows}).status_code == 200
        assert fr.post("/v1/score", json={"declarations": gb_rows}).status_code == 403
        other = {"outcomes": [outcome("SCOPE-1", reporting_country="FR")]}
        assert gb.post("/v1/outcomes", json=other).status_code == 403
    with server.client(world.keys["*"]) as rilo:  # a regional office acts for every member
        assert rilo.post("/v1/score", json={"declarations": gb_rows + fr_rows}).status_code == 200


def test_keys_are_shown_once_and_stored_as_hashes(world):
    key = world.keys[MEMBER]
    assert world.cli_output.count(key) == 1
    stored = world.settings.keys_file.read_text()
    for secret in world.keys.values():
        assert secret not in stored
        assert secret.split("_", 2)[2] not in stored
    listed = world.cli("keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {r["key_id"] for r in rows} >= set(world.key_ids.values())
    assert all(set(r) == {"key_id", "member", "analyst", "created_at", "revoked_at"} for r in rows)
    assert not any(secret in listed.stdout for secret in world.keys.values())


def test_a_revoked_key_is_refused_at_once(server, world):
    created = world.cli("keys", "create", "--member", "gb")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    key_id = key.split("_")[1]
    with server.client(key) as client:
        assert client.get("/v1/model").status_code == 200
        revoked = world.cli("keys", "revoke", key_id)
        assert revoked.returncode == 0, revoked.stderr
        assert key not in revoked.stdout + revoked.stderr
        assert client.get("/v1/model").status_code == 401  # no restart, no wait
    again = world.cli("keys", "revoke", "nosuchid")
    assert again.returncode != 0 and "nosuchid" in again.stderr


# -- audit ---------------------------------------------------------------------------------------


def test_scoring_is_audited_without_secrets(api, server, world):
    records = world.records(3, start=50)
    body = api.post("/v1/score", json={"declarations": records}).json()
    csv = "\n".join(
        ["id,date,reporting_country,hs_code,origin_country"]
        + [f"AUD-{i},2025-01-0{i + 1},GB,10063000,EC" for i in range(2)]
    )
    batch = api.post("/v1/score/batch", content=csv.encode(), headers={"Content-Type": "text/csv"})
    batch_id = json.loads(batch.text.splitlines()[-1])["request_id"]

    files = sorted(world.settings.audit_dir.glob("*.jsonl"))
    assert files, "an audit file per day"
    entries = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    by_request = {e["request_id"]: e for e in entries}
    entry = by_request[body["request_id"]]
    assert entry["member"] == MEMBER
    assert entry["key_id"] == world.key_ids[MEMBER]
    assert entry["route"] == "/v1/score"
    assert entry["time"].startswith("20")
    served = body["model"]
    assert entry["model"] == {
        "name": served["name"],
        "version": served["version"],
        "state_version": served["state_version"],
    }
    assert entry["declarations"] == [
        {"id": r["id"], "score": r["score"], "channel": r["channel"]} for r in body["results"]
    ]
    assert [d["id"] for d in by_request[batch_id]["declarations"]] == ["AUD-0", "AUD-1"]

    audit_text = "".join(f.read_text() for f in files)
    logs = server.logs()
    for secret in world.keys.values():
        assert secret not in audit_text
        assert secret not in logs


# -- outcomes ------------------------------------------------------------------------------------


def test_outcomes_are_stored_once_and_conflicts_refused(api, world):
    first = api.post("/v1/outcomes", json={"outcomes": [outcome("OUT-1"), outcome("OUT-2")]})
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": 2, "duplicates": 0, "received": 2}
    again = api.post("/v1/outcomes", json={"outcomes": [outcome("OUT-1")]})
    assert again.json() == {"stored": 0, "duplicates": 1, "received": 1}
    conflict = api.post("/v1/outcomes", json={"outcomes": [outcome("OUT-1", illicit=0)]})
    assert conflict.status_code == 409 and "OUT-1" in conflict.json()["detail"]
    # All or none: a conflict anywhere stores nothing.
    mixed = api.post(
        "/v1/outcomes", json={"outcomes": [outcome("OUT-3"), outcome("OUT-2", revenue_recovered=1)]}
    )
    assert mixed.status_code == 409
    with sqlite3.connect(world.settings.outcomes_db) as db:
        rows = dict(db.execute("SELECT declaration_id, illicit FROM outcomes").fetchall())
    assert rows["OUT-1"] == 1 and "OUT-2" in rows and "OUT-3" not in rows
    # The same outcome, spelled differently, is the same outcome.
    spelled = outcome("OUT-1", reporting_country="United Kingdom", revenue_recovered=120.50)
    assert api.post("/v1/outcomes", json={"outcomes": [spelled]}).json()["duplicates"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"illicit": 2}, "illicit"),
        ({"revenue_recovered": -1}, "revenue_recovered"),
        ({"inspection_date": "soon"}, "inspection_date"),
        ({"reporting_country": "Narnia"}, "reporting_country"),
        ({"declaration_id": ""}, "declaration_id"),
    ],
)
def test_bad_outcomes_are_422(api, change, field):
    response = api.post("/v1/outcomes", json={"outcomes": [outcome("BAD-1") | change]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "outcomes", 0, field]


# -- model, importance, metrics ------------------------------------------------------------------


def test_model_describes_what_is_served(api):
    body = api.get("/v1/model").json()
    assert body["name"] == "customs-risk" and body["alias"] == "champion"
    assert body["source"] == "registry" and body["registry_reachable"] is True
    thresholds = body["thresholds"]
    assert thresholds["red_above_raw_score"] > thresholds["yellow_above_raw_score"]
    assert 0 < thresholds["random_share"] < 0.1
    assert body["features"] and all(
        set(f) == {"name", "criterion", "categorical", "description"} for f in body["features"]
    )
    assert "precision_at_5pct" in body["info"]["metrics"]
    explainer = body["explainer"]
    assert explainer["kind"] == "treeshap-tables" and explainer["fallback_reason"] is None
    assert explainer["table_bytes"] > 0 and explainer["trees"] > 0
    assert re.fullmatch(r"(tables|polynomials), \d+ threads?", explainer["few_rows"])
    assert "random_salt" not in json.dumps(body) and "example" not in body["info"]


def test_importance_by_feature_and_criterion(api):
    body = api.get("/v1/model/importance").json()
    features = {f["name"] for f in api.get("/v1/model").json()["features"]}
    assert {row["feature"] for row in body["by_feature"]} == features
    totals = [c["mean_abs_shap"] for c in body["by_criterion"]]
    assert totals == sorted(totals, reverse=True)
    assert sum(totals) == pytest.approx(sum(r["mean_abs_shap"] for r in body["by_feature"]))


def test_metrics_count_requests_scores_and_channels(api, server, world):
    before = metric_samples(server)
    key = ("riskscore_requests_total", frozenset({"route": "/v1/score", "status": "200"}.items()))
    n = 3
    for _ in range(n):
        api.post("/v1/score", json={"declarations": world.records(2)})
    api.get("/v1/no-such-route-7f3a")
    after = metric_samples(server)
    assert after[key] - before.get(key, 0) == n
    assert (
        after[("riskscore_score_count", frozenset())]
        - before.get(("riskscore_score_count", frozenset()), 0)
        == 2 * n
    )
    channels = {dict(k[1])["channel"] for k in after if k[0] == "riskscore_channel_total"}
    assert channels and channels <= {"red", "yellow", "green", "random"}
    assert any(
        name == "riskscore_request_seconds_bucket" and dict(labels).get("route") == "/v1/score"
        for name, labels in after
    )
    served = [dict(k[1]) for k, v in after.items() if k[0] == "riskscore_model_version" and v == 1]
    version = api.get("/v1/model").json()["version"]
    assert served == [
        {"name": "customs-risk", "version": version, "alias": "champion", "source": "registry"}
    ]
    routes = {dict(k[1]).get("route") for k in after if k[0] == "riskscore_requests_total"}
    assert "other" in routes and not any("no-such-route" in str(r) for r in routes)


def test_model_report_is_the_one_logged_for_the_served_version(api, world):
    from riskscore.reports.build import log_report

    assert httpx.get(api.base_url.join("/v1/model/report")).status_code == 401  # no key
    version = api.get("/v1/model").json()["version"]
    missing = api.get("/v1/model/report")
    assert missing.status_code == 404
    assert f"riskscore report --model models:/customs-risk/{version}" in missing.json()["detail"]

    run_id = world.registry().get_model_version("customs-risk", version).run_id
    log_report(run_id, f"<html><body><h1>report of version {version}</h1></body></html>")
    found = api.get("/v1/model/report")
    assert found.status_code == 200
    assert found.headers["content-type"].startswith("text/html")
    assert f"report of version {version}" in found.text
