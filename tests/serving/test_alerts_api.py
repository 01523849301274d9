"""Analysts' alerts reach the running server within reload_seconds, through the CLI or the API,
raise channels without touching the model's score, and report their selections and hit rates.

Every alert here matches only declarations with ids or traders of this module's own making, and
is expired at the end, so the other tests' answers never change.
"""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
from waiting import wait_for

from riskscore.models.alert_book import AlertBook
from riskscore.serving.keys import KeyStore

MEMBER = "GB"  # as in conftest


def declaration(world, n: int, **changes: object) -> dict:
    """A stored clearance record, as the API takes it, under a new id and with `changes`."""
    record = world.records(1, start=n)[0] | {"id": f"ALERT-TEST-{n}"}
    return record | changes


def score(api, record: dict) -> dict:
    answer = api.post("/v1/score", json={"declarations": [record]})
    assert answer.status_code == 200, answer.text
    return answer.json()["results"][0]


def test_an_alert_added_on_the_cli_reaches_the_running_server(world, api) -> None:
    record = declaration(world, 101, importer_id="IMP-ALERT-CLI-1")
    before = score(api, record)
    assert "alerts" not in before
    added = world.cli(
        "alerts", "add", "--importer", "imp-alert-cli-1", "--hs", record["hs_code"][:4],
        "--channel", "red", "--message", "Cocaine in rice: RILO WE alert 12/2026",
        "--author", "analyst.one", "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    alert = json.loads(added.stdout)

    after = wait_for(lambda: (r := score(api, record)).get("alerts") and r, "the alert")
    assert after["alerts"] == [alert["id"]]
    active = AlertBook(world.settings.alerts_db).list(active_only=True)
    assert alert["id"] in [a.id for a in active]
    assert f"riskscore_alerts_active {len(active)}.0" in api.get("/metrics").text
    assert after["channel"] == "red"
    assert after["model_channel"] == before["channel"]
    assert after["score"] == before["score"]  # the model's score is the model's alone
    first = after["reasons"][0]
    assert first["criterion"] == "alert" and first["alert_id"] == alert["id"]
    assert "Cocaine in rice" in first["sentence"] and "analyst.one" in first["sentence"]
    assert first["contribution"] is None
    assert [r for r in after["reasons"][1:] if r["criterion"] == "alert"] == []
    # Another importer with the same goods is not selected.
    assert "alerts" not in score(api, record | {"importer_id": "IMP-OTHER"})

    expired = world.cli("alerts", "expire", alert["id"], "--author", "analyst.one")
    assert expired.returncode == 0, expired.stderr
    assert (
        wait_for(lambda: "alerts" not in (r := score(api, record)) and r, "the expiry")["channel"]
        == (before["channel"])
    )
    history = json.loads(world.cli("alerts", "history", alert["id"], "--json").stdout)
    assert [(h["action"], h["who"]) for h in history] == [
        ("add", "analyst.one"),
        ("expire", "analyst.one"),
    ]


def test_alerts_over_http_need_the_analyst_scope_and_report_hit_rates(world, server, api) -> None:
    _, analyst_key = KeyStore(world.settings.keys_file).create("*", analyst=True)
    body = {
        "criteria": {"importer": ["IMP-ALERT-API-1"]},
        "channel": "yellow",
        "message": "Importer under investigation",
        "author": "analyst.two",
    }
    refused = api.post("/v1/alerts", json=body)
    assert refused.status_code == 403 and "analyst" in refused.json()["detail"]

    with server.client(analyst_key) as analyst:
        bad = analyst.post("/v1/alerts", json=body | {"criteria": {"colour": ["red"]}})
        assert bad.status_code == 422 and "unknown criterion 'colour'" in bad.json()["detail"]
        bad = analyst.post("/v1/alerts", json=body | {"criteria": {"origin": ["Atlantis"]}})
        assert bad.status_code == 422 and "Atlantis" in bad.json()["detail"]
        added = analyst.post("/v1/alerts", json=body)
        assert added.status_code == 201, added.text
        alert = added.json()
        assert alert["author"].startswith("analyst.two (key ")
        listed = analyst.get("/v1/alerts").json()
        assert alert["id"] in [a["id"] for a in listed]

        hit = declaration(world, 102, importer_id="IMP-ALERT-API-1")
        miss = declaration(world, 103, importer_id="IMP-ALERT-API-1")
        for record in (hit, miss):  # at once: this server made the change
            assert score(api, record)["alerts"] == [alert["id"]]
        for record, illicit in ((hit, 1), (miss, 0)):
            posted = api.post(
                "/v1/outcomes",
                json={"outcomes": [{"declaration_id": record["id"], "illicit": illicit,
                                    "reporting_country": MEMBER,
                                    "inspection_date": record["date"]}]},
            )  # fmt: skip
            assert posted.status_code == 200, posted.text

        expired = analyst.post(f"/v1/alerts/{alert['id']}/expire", json={"author": "a.two"})
        assert expired.status_code == 200 and expired.json()["active"] is False
        missing = analyst.post("/v1/alerts/A9999/expire", json={"author": "a.two"})
        assert missing.status_code == 404

    listed = world.cli("alerts", "list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    row = next(r for r in json.loads(listed.stdout) if r["id"] == alert["id"])
    assert (row["selections"], row["outcomes_known"], row["hits"]) == (2, 2, 1)
    assert row["hit_rate"] == 0.5
    audit = [
        json.loads(line)
        for f in sorted(world.settings.audit_dir.glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    assert any(
        d.get("alerts") == [alert["id"]] and d["id"] == hit["id"]
        for entry in audit
        for d in entry["declarations"]
    )


def test_watch_lists_from_excel_in_alerts_and_batch_scoring(world, api, tmp_path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["trader", "note"])
    sheet.append(["exp-watch-1", "seen in a RILO bulletin"])
    sheet.append([None, "blank row"])
    sheet.append(["EXP-WATCH-2", ""])
    path = tmp_path / "suspects.xlsx"
    workbook.save(path)
    loaded = world.cli("watchlist", "load", "suspects-test", str(path), "--kind", "trader")
    assert loaded.returncode == 0, loaded.stderr
    assert "2 trader entries" in loaded.stdout
    assert "1 rows rejected" in loaded.stderr
    added = world.cli(
        "alerts", "add", "--trader", "@suspects-test", "--message", "Watched exporter",
        "--author", "analyst.three", "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    alert = json.loads(added.stdout)
    try:
        record = declaration(world, 104, exporter_id="EXP-WATCH-2")
        assert wait_for(lambda: score(api, record).get("alerts"), "the alert") == [alert["id"]]

        rows = pd.DataFrame([record, declaration(world, 105)])
        rows.to_csv(tmp_path / "in.csv", index=False)
        out = tmp_path / "out.csv"
        scored = world.cli("score", "--input", str(tmp_path / "in.csv"), "--out", str(out))
        assert scored.returncode == 0, scored.stderr
        assert f"analyst alerts matched: {alert['id']} 1" in scored.stdout
        table = pd.read_csv(out).set_index("id")
        assert table.loc[record["id"], "alerts"] == alert["id"]
        assert table.loc[record["id"], "channel"] in ("yellow", "red")
        assert pd.isna(table.loc["ALERT-TEST-105", "alerts"])
        assert (
            table.loc["ALERT-TEST-105", "channel"] == table.loc["ALERT-TEST-105", "model_channel"]
        )
    finally:
        world.cli("alerts", "expire", alert["id"], "--author", "analyst.three")
