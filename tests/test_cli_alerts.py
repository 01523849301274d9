"""The analysts' verbs as a user types them: keys with the analyst scope, watch lists, alerts
added, changed, listed, expired, and the errors bad input gets."""

from __future__ import annotations

import json


def test_alert_and_watch_list_verbs(invoke, tmp_path) -> None:
    created = invoke("keys", "create", "--member", "GB", "--analyst")
    assert created.exit_code == 0, created.output
    assert "analyst" in created.stderr and created.stdout.startswith("rsk_")
    keys = json.loads(invoke("keys", "list", "--json").stdout)
    assert [k["analyst"] for k in keys] == [True]

    (tmp_path / "docs.csv").write_text("document\nMSCU 123456-7\n\nTGHU9876543\n")
    loaded = invoke("watchlist", "load", "docs", str(tmp_path / "docs.csv"), "--kind", "document")
    assert loaded.exit_code == 0, loaded.output
    lists = json.loads(invoke("watchlist", "list", "--json").stdout)
    assert [(w["name"], w["kind"], w["entries"]) for w in lists] == [("docs", "document", 2)]

    added = invoke(
        "alerts", "add", "--document", "@docs", "--origin", "Colombia", "--message", "Case 114",
        "--author", "analyst.one", "--valid-until", "2099-12-31",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "alert A0001 (yellow at least): origin CO; document @docs" in added.stdout
    changed = invoke("alerts", "change", "A0001", "--channel", "red", "--author", "analyst.two")
    assert changed.exit_code == 0, changed.output
    table = invoke("alerts", "list").stdout
    assert "A0001" in table and "red" in table
    (listed,) = json.loads(invoke("alerts", "list", "--json").stdout)
    assert (listed["channel"], listed["author"]) == ("red", "analyst.one")
    assert listed["criteria_text"] == "origin CO; document @docs"

    nothing = invoke("alerts", "change", "A0001")
    assert nothing.exit_code != 0 and "nothing to change" in nothing.stderr
    unknown = invoke("alerts", "expire", "A0999")
    assert unknown.exit_code != 0 and "no alert 'A0999'" in unknown.stderr
    assert "Traceback" not in unknown.output
    bad = invoke("alerts", "add", "--hs", "7701", "--message", "x")
    assert bad.exit_code != 0 and "hs: not an HS prefix" in bad.stderr

    assert invoke("alerts", "expire", "A0001", "--author", "analyst.two").exit_code == 0
    assert "A0001" not in invoke("alerts", "list").stdout
    assert "A0001" in invoke("alerts", "list", "--all").stdout
    (expired,) = json.loads(invoke("alerts", "list", "--all", "--json").stdout)
    assert expired["active"] is False and expired["expired_at"]
    history = json.loads(invoke("alerts", "history", "A0001", "--json").stdout)
    assert [(h["action"], h["who"]) for h in history] == [
        ("add", "analyst.one"),
        ("change", "analyst.two"),
        ("expire", "analyst.two"),
    ]
