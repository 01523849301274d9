"""Alerts' hit rates from real outcome stores, and the report section that marks weak alerts."""

from __future__ import annotations

import math

from riskscore.features.outcomes import Outcome, OutcomeStore
from riskscore.models.alert_book import AlertBook
from riskscore.reports.alerts import alert_table
from riskscore.reports.sections.alerts import MIN_OUTCOMES, alerts_section


def test_hit_rates_join_selections_with_outcomes_and_the_report_marks_weak_alerts(tmp_path):
    book = AlertBook(tmp_path / "alerts.sqlite")
    strong = book.add({"hs": ["1006"]}, "red", "rice", author="a")
    weak = book.add({"origin": ["CO"]}, "yellow", "all of Colombia", author="b")
    quiet = book.add({"importer": ["NOBODY"]}, "yellow", "never seen", author="c")
    n = MIN_OUTCOMES + 5
    book.record_selections(
        [{"alert_id": strong.id, "declaration_id": f"S{i}", "member": "GB"} for i in range(n)]
        + [{"alert_id": weak.id, "declaration_id": f"W{i}", "member": "GB"} for i in range(n)]
        # Another member's declaration with the same id is another declaration.
        + [{"alert_id": weak.id, "declaration_id": "W0", "member": "FR"}]
    )
    outcomes = OutcomeStore(tmp_path / "outcomes.sqlite")
    outcomes.add(
        [Outcome(f"S{i}", "GB", int(i < 20), None, "2026-01-01") for i in range(n)]
        + [Outcome(f"W{i}", "GB", int(i < 2), None, "2026-01-01") for i in range(n)]
    )
    outcomes.close()

    table = alert_table(book, None, tmp_path / "outcomes.sqlite").set_index("id")
    assert table.loc[strong.id, ["selections", "outcomes_known", "hits"]].tolist() == [n, n, 20]
    assert table.loc[weak.id, ["selections", "outcomes_known", "hits"]].tolist() == [n + 1, n, 2]
    assert math.isclose(table.loc[weak.id, "hit_rate"], 2 / n)
    assert table.loc[quiet.id, "selections"] == 0 and math.isnan(table.loc[quiet.id, "hit_rate"])

    html = alerts_section(table.reset_index(), precision=0.3)
    rows = html.split("<tr")
    weak_row = next(r for r in rows if f">{weak.id}<" in r)
    strong_row = next(r for r in rows if f">{strong.id}<" in r)
    assert 'class="flagged"' in weak_row and "retire?" in weak_row
    assert "retire?" not in strong_row
    assert "No analyst alerts" in alerts_section(None, 0.3)
