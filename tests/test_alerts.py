"""Analyst alerts and watch lists: criteria, matching, channels, watch-list files, the book."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
from datetime import date

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskscore.features.errors import BadInputError
from riskscore.files import StorageError
from riskscore.models.alert_book import AlertBook
from riskscore.models.alerts import (
    Alert,
    AlertError,
    Matcher,
    WatchList,
    alert_reason,
    apply_alerts,
    load_watchlist,
)

DECLARATION = {
    "id": "CLR-1",
    "date": "2025-06-15",
    "hs_code": "10063000",
    "origin_country": "EC",
    "departure_country": "PA",
    "transit_countries": "CO;PA",
    "transport_mode": "sea",
    "importer_id": "IMP-00042",
    "exporter_id": "EXP-00917",
    "declarant_id": "DEC-007",
    "transport_document": "MSCU 123456-7",
}


def alert(criteria: dict, channel: str = "red", id: str = "A0001", **kw) -> Alert:
    return Alert(id, criteria, channel, "check the rice", "ana", **kw)


def columns(*rows: dict) -> dict[str, list]:
    names = sorted({k for r in rows for k in r})
    return {k: [r.get(k) for r in rows] for k in names}


def matched(a: Alert, *rows: dict, lists: dict | None = None) -> list[bool]:
    found = Matcher.build([a], lists or {}).match(columns(*rows))
    return [a in f for f in found]


def variant(**changes) -> dict:
    return {**DECLARATION, **changes}


# ---- criteria -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "kw", "words"),
    [
        ({"colour": "red"}, {}, ["unknown criterion 'colour'"]),
        ({"origin": []}, {}, ["origin", "no value"]),
        ({}, {}, ["at least one criterion"]),
        ({"hs": "1"}, {}, ["hs", "'1'", "HS prefix"]),
        ({"hs": "10063000001"}, {}, ["hs", "'10063000001'"]),
        ({"hs": "9901"}, {}, ["hs", "'9901'"]),
        ({"hs": "10a6"}, {}, ["hs", "'10a6'"]),
        ({"origin": "Atlantis"}, {}, ["origin", "unknown country", "'Atlantis'"]),
        ({"transit": ["CO", "Narnia"]}, {}, ["transit", "'Narnia'"]),
        ({"mode": "teleport"}, {}, ["mode", "unknown mode", "'teleport'"]),
        ({"document": " - / "}, {}, ["document", "' - / '"]),
        ({"origin": "@bad"}, {}, ["origin", "'@bad'", "watch list"]),
        ({"importer": "@no spaces"}, {}, ["'no spaces'"]),
        ({"origin": "CO"}, {"valid_from": "2025-13-01"}, ["valid_from", "'2025-13-01'"]),
        (
            {"origin": "CO"},
            {"valid_from": "2025-06-01", "valid_until": "2025-05-31"},
            ["valid_until", "2025-05-31", "before", "2025-06-01"],
        ),
    ],
)
def test_invalid_criteria_are_refused_naming_criterion_and_value(criteria, kw, words):
    with pytest.raises(AlertError) as raised:
        alert(criteria, **kw)
    for word in words:
        assert word in str(raised.value)


def test_unknown_channel_is_refused():
    with pytest.raises(AlertError, match="channel: 'green'"):
        alert({"origin": "CO"}, channel="green")


def test_values_are_normalised_on_creation():
    a = alert(
        {
            "origin": ["Colombia", "co", "ecuador"],
            "hs": ["1006.30"],
            "mode": "Maritime",
            "importer": [" imp-1 "],
            "document": ["mscu 123456-7"],
        },
        channel="RED",
        valid_until=date(2025, 12, 31),
    )
    assert a.criteria == {
        "origin": ("CO", "EC"),
        "hs": ("100630",),
        "mode": ("sea",),
        "importer": ("IMP-1",),
        "document": ("MSCU1234567",),
    }
    assert (a.channel, a.valid_until) == ("red", "2025-12-31")
    assert Alert.from_dict(a.to_dict()) == a


# ---- matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "hit", "miss"),
    [
        ({"hs": "1006"}, {}, {"hs_code": "10070000"}),
        ({"hs": "100630"}, {"hs_code": "1006.30.00"}, {"hs_code": "10064000"}),
        ({"hs": "10"}, {}, {"hs_code": "11010000"}),
        ({"origin": "Ecuador"}, {}, {"origin_country": "CO"}),
        ({"departure": "PA"}, {}, {"departure_country": "EC"}),
        ({"transit": "CO"}, {"transit_countries": "PA;CO"}, {"transit_countries": "PA;US"}),
        ({"transit": "PA"}, {}, {"transit_countries": None}),
        ({"mode": "sea"}, {}, {"transport_mode": "air"}),
        ({"importer": "imp-00042"}, {"importer_id": " imp-00042 "}, {"importer_id": "IMP-00043"}),
        ({"exporter": "EXP-00917"}, {}, {"exporter_id": "IMP-00042"}),
        ({"declarant": "DEC-007"}, {}, {"declarant_id": None}),
        ({"trader": "DEC-007"}, {}, {"declarant_id": "DEC-008"}),
        ({"trader": "EXP-00917"}, {}, {"exporter_id": "X"}),
        ({"document": "mscu1234567"}, {}, {"transport_document": "MSCU1234568"}),
        ({"document": "MSCU/123456 7"}, {}, {"transport_document": None}),
        ({"container": "MSCU-1234567"}, {}, {"transport_document": "BL-1"}),
        (
            {"container": "TGHU 765432-1"},
            {"transport_document": "BL-1", "x_container": "tghu7654321"},
            {"x_container": "TGHU7654329"},
        ),
        ({"origin": ["CO", "EC"]}, {}, {"origin_country": "PE"}),  # OR within a criterion
        ({"origin": "EC", "mode": "sea", "hs": "1006"}, {}, {"transport_mode": "air"}),  # AND
    ],
)
def test_each_criterion_matches_and_misses(criteria, hit, miss):
    a = alert(criteria)
    assert matched(a, variant(**hit), variant(**miss)) == [True, False]


def test_watch_lists_match_traders_documents_and_containers():
    lists = {
        "traders": WatchList("traders", "trader", frozenset({" exp-00917 "})),
        "bls": WatchList("bls", "document", frozenset({"MSCU-123456/7"})),
        "boxes": WatchList("boxes", "container", frozenset({"TGHU7654321"})),
    }
    assert lists["traders"].entries == {"EXP-00917"}
    trader = alert({"trader": ["IMP-1", "@traders"]})
    assert matched(trader, DECLARATION, variant(exporter_id="EXP-1"), lists=lists) == [True, False]
    exporter = alert({"exporter": "@traders"})
    assert matched(exporter, DECLARATION, variant(exporter_id="EXP-1"), lists=lists) == [
        True,
        False,
    ]
    bl = alert({"document": "@bls"})
    assert matched(bl, DECLARATION, variant(transport_document="X"), lists=lists) == [True, False]
    box = alert({"container": "@boxes"})
    rows = (variant(x_container="tghu 765432 1"), DECLARATION)
    assert matched(box, *rows, lists=lists) == [True, False]


def test_a_watch_list_that_is_missing_or_of_the_wrong_kind_is_refused():
    with pytest.raises(AlertError, match="no watch list named 'nope'"):
        Matcher.build([alert({"importer": "@nope"})], {})
    docs = {"docs": WatchList("docs", "document", frozenset({"BL1"}))}
    with pytest.raises(AlertError, match="importer: watch list 'docs' holds document"):
        Matcher.build([alert({"importer": "@docs"})], docs)


def test_validity_dates_are_checked_against_each_declaration_date():
    a = alert({"origin": "EC"}, valid_from="2025-06-01", valid_until="2025-06-30")
    days = ["2025-05-31", "2025-06-01", "2025-06-30", "2025-07-01"]
    rows = [variant(date=d) for d in days]
    assert matched(a, *rows) == [False, True, True, False]
    # dates as datetime64 (a stored frame) and as date objects give the same answer
    matcher = Matcher.build([a], {})
    frame = pd.DataFrame(rows).assign(date=pd.to_datetime(days))
    assert [bool(f) for f in matcher.match(frame)] == [False, True, True, False]
    as_dates = [date.fromisoformat(d) for d in days]
    assert [bool(f) for f in matcher.match(columns(*rows), as_dates)] == [False, True, True, False]
    # a declaration without a date is taken as of `today`
    undated = columns(variant(date=None))
    assert Matcher.build([a], {}, today="2025-06-10").match(undated) == [[a]]
    assert Matcher.build([a], {}, today="2025-07-10").match(undated) == [[]]


def test_expired_alerts_match_nothing_and_no_alerts_match_nothing():
    a = alert({"origin": "EC"}, expired_at="2025-01-01T00:00:00+00:00")
    assert matched(a, DECLARATION) == [False]
    assert Matcher.build([], {}).match(columns(DECLARATION, DECLARATION)) == [[], []]


def test_several_alerts_are_returned_in_the_order_given():
    alerts = [
        alert({"mode": "sea"}, id="A0001"),
        alert({"hs": "10"}, id="A0002", channel="yellow"),
        alert({"importer": "IMP-00042", "origin": "CO"}, id="A0003"),
        alert({"importer": "IMP-00042"}, id="A0004"),
    ]
    found = Matcher.build(alerts, {}).match(columns(DECLARATION))
    assert [a.id for a in found[0]] == ["A0001", "A0002", "A0004"]


def test_apply_alerts_raises_channels_and_never_lowers_them():
    red, yellow = alert({"mode": "sea"}), alert({"mode": "sea"}, channel="yellow")
    channel = np.array(["green", "random", "yellow", "red", "green", "red"], dtype=object)
    matches = [[yellow], [yellow], [red], [yellow], [], [yellow, red]]
    out = apply_alerts(channel, matches)
    assert out.tolist() == ["yellow", "yellow", "red", "red", "green", "red"]
    assert channel.tolist()[0] == "green"  # the input is left alone
    with pytest.raises(ValueError, match="2 channels but 1"):
        apply_alerts(channel[:2], matches[:1])


def test_alert_reason_reads_like_a_model_reason():
    a = alert({"origin": "EC"}, valid_until="2025-12-31")
    reason = alert_reason(a)
    assert reason == {
        "feature": "alert:A0001",
        "criterion": "alert",
        "value": "A0001",
        "contribution": None,
        "sentence": "Analyst alert A0001 (by ana, valid until 2025-12-31): check the rice",
        "alert_id": "A0001",
        "message": "check the rice",
    }
    assert "valid until no end" in alert_reason(alert({"origin": "EC"}))["sentence"]


# ---- the property: the index gives what a loop over every alert gives ---------------------

HS = ["1006", "10", "100630", "0901", "2402"]
COUNTRIES = ["CO", "EC", "PA", "NL"]
TRADERS = ["IMP-1", "IMP-2", "EXP-1", "DEC-1"]
DOCS = ["MSCU1234567", "BL-1", "TGHU7654321"]
LISTS = {
    "t": WatchList("t", "trader", frozenset({"IMP-2", "DEC-1"})),
    "d": WatchList("d", "document", frozenset({"BL1"})),
}
VALUES = {
    "hs": st.sampled_from(HS),
    "origin": st.sampled_from(COUNTRIES),
    "departure": st.sampled_from(COUNTRIES),
    "transit": st.sampled_from(COUNTRIES),
    "mode": st.sampled_from(["sea", "air"]),
    "importer": st.sampled_from([*TRADERS, "@t"]),
    "exporter": st.sampled_from([*TRADERS, "@t"]),
    "declarant": st.sampled_from([*TRADERS, "@t"]),
    "trader": st.sampled_from([*TRADERS, "@t"]),
    "document": st.sampled_from([*DOCS, "@d"]),
    "container": st.sampled_from([*DOCS, "@d"]),
}
DAYS = ["2025-01-01", "2025-02-01", "2025-03-01", None]


@st.composite
def alerts(draw) -> Alert:
    names = draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=3, unique=True))
    criteria = {n: draw(st.lists(VALUES[n], min_size=1, max_size=2)) for n in names}
    start, end = sorted(draw(st.lists(st.sampled_from(DAYS[:3]), min_size=2, max_size=2)))
    return Alert(
        "A",
        criteria,
        draw(st.sampled_from(["red", "yellow"])),
        "m",
        "a",
        valid_from=start if draw(st.booleans()) else None,
        valid_until=end if draw(st.booleans()) else None,
    )


def maybe(values: list[str]) -> st.SearchStrategy:
    return st.one_of(st.none(), st.sampled_from(values))


declarations = st.fixed_dictionaries(
    {
        "hs_code": maybe(["10063000", "10064000", "09011100", "24021000", "1006"]),
        "origin_country": maybe(COUNTRIES),
        "departure_country": maybe(COUNTRIES),
        "transit_countries": maybe(["", "CO", "PA;NL", "EC;CO;PA"]),
        "transport_mode": maybe(["sea", "air", "road"]),
        "importer_id": maybe([*TRADERS, "imp-2 "]),
        "exporter_id": maybe(TRADERS),
        "declarant_id": maybe(TRADERS),
        "transport_document": maybe([*DOCS, "bl 1", "MSCU 123456-7"]),
        "x_container": maybe(DOCS),
        "date": st.sampled_from(DAYS),
    }
)


def naive_holds(a: Alert, d: dict, today: str) -> bool:
    """The specification, one alert and one declaration at a time."""

    def compact(v: str | None) -> str | None:
        return "".join(c for c in v if c not in " -/").upper() if v else None

    def up(v: str | None) -> str | None:
        return v.strip().upper() if v else None

    def one(criterion: str, value: str) -> bool:
        entries = LISTS[value[1:]].entries if value.startswith("@") else {value}
        traders = [up(d[f]) for f in ("importer_id", "exporter_id", "declarant_id")]
        match criterion:
            case "hs":
                return bool(d["hs_code"]) and d["hs_code"].startswith(value)
            case "origin" | "departure" | "mode":
                field = {"mode": "transport_mode"}.get(criterion, f"{criterion}_country")
                return d[field] == value
            case "transit":
                return value in (d["transit_countries"] or "").split(";")
            case "importer" | "exporter" | "declarant":
                return up(d[f"{criterion}_id"]) in entries
            case "trader":
                return any(t in entries for t in traders)
            case "document":
                return compact(d["transport_document"]) in entries
            case "container":
                return bool({compact(d["transport_document"]), compact(d["x_container"])} & entries)
        raise AssertionError(criterion)

    day = d["date"] or today
    if a.valid_from and day < a.valid_from or a.valid_until and day > a.valid_until:
        return False
    return all(any(one(c, v) for v in values) for c, values in a.criteria.items())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(alerts(), max_size=25), st.lists(declarations, min_size=1, max_size=8))
def test_matcher_equals_a_loop_over_every_alert(drawn, rows):
    found = Matcher.build(drawn, LISTS, today="2025-02-01").match(columns(*rows))
    expected = [[a for a in drawn if naive_holds(a, d, "2025-02-01")] for d in rows]
    assert [[id(a) for a in f] for f in found] == [[id(a) for a in e] for e in expected]


# ---- watch-list files ---------------------------------------------------------------------


def test_load_watchlist_from_csv_reports_rejected_rows(tmp_path):
    path = tmp_path / "traders.csv"
    text = "note,trader\nfirst,imp-1\nsecond,\n\n,\nthird, IMP-2 \nfourth,IMP-1\nfifth,a,b\n"
    path.write_text(text)
    watch, rejected = load_watchlist(path, "suspects", "trader", column="trader", author="ana")
    assert watch.entries == {"IMP-1", "IMP-2"}
    assert (watch.name, watch.kind, watch.source_file, watch.author) == (
        "suspects",
        "trader",
        str(path),
        "ana",
    )
    assert rejected == [  # rows 4 and 5 are blank: skipped
        {"row": 3, "reason": "empty trader", "value": ""},
        {"row": 8, "reason": "row: has 3 fields, the header has 2", "value": "fifth,a,b"},
    ]


def test_load_watchlist_from_xlsx_first_column(tmp_path):
    path = tmp_path / "containers.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["container", "remark"], ["MSCU 123456-7", "x"], [None, None], ["--", "y"]):
        sheet.append(row)
    sheet.append(["tghu/7654321", None])
    book.save(path)
    watch, rejected = load_watchlist(path, "boxes", "container")
    assert watch.entries == {"MSCU1234567", "TGHU7654321"}
    assert rejected == [{"row": 4, "reason": "blank after normalisation", "value": "--"}]


def test_load_watchlist_refuses_bad_files(tmp_path):
    with pytest.raises(BadInputError, match="missing.csv: file not found"):
        load_watchlist(tmp_path / "missing.csv", "x", "trader")
    header_only = tmp_path / "empty.csv"
    header_only.write_text("trader\n")
    with pytest.raises(BadInputError, match="empty.csv: no trader entry"):
        load_watchlist(header_only, "x", "trader")
    path = tmp_path / "t.csv"
    path.write_text("trader\nIMP-1\n")
    with pytest.raises(BadInputError, match="t.csv: no column 'id'; columns are: trader"):
        load_watchlist(path, "x", "trader", column="id")
    with pytest.raises(AlertError, match="kind 'ship'"):
        load_watchlist(path, "x", "ship")


# ---- the book -----------------------------------------------------------------------------


@pytest.fixture
def book(tmp_path):
    opened = AlertBook(tmp_path / "var" / "alerts.sqlite")
    yield opened
    opened.close()


def test_book_round_trip_and_history(book, tmp_path):
    first = book.add({"origin": "Colombia", "hs": "1006"}, "yellow", "rice", author="ana")
    second = book.add({"mode": "air"}, "red", "air parcels", author="bo", valid_until="2099-01-01")
    assert (first.id, second.id) == ("A0001", "A0002")
    assert first.criteria == {"origin": ("CO",), "hs": ("1006",)}
    changed = book.change("A0001", "carl", channel="red", message="rice, all of it")
    expired = book.expire("A0002", "dee", when="2025-03-01T10:00:00+00:00")
    assert expired.expired_at == "2025-03-01T10:00:00+00:00"

    again = AlertBook(tmp_path / "var" / "alerts.sqlite")
    assert again.list() == [changed, expired]
    assert again.list(active_only=True) == [changed]
    history = again.history()
    assert [(h["alert_id"], h["action"], h["who"]) for h in history] == [
        ("A0001", "add", "ana"),
        ("A0002", "add", "bo"),
        ("A0001", "change", "carl"),
        ("A0002", "expire", "dee"),
    ]
    assert history[2]["alert"]["channel"] == "red"
    assert [h["action"] for h in again.history("A0001")] == ["add", "change"]
    again.close()
    for name in ("alerts.sqlite", "alerts.sqlite-wal"):
        assert stat.S_IMODE((tmp_path / "var" / name).stat().st_mode) == 0o600


def test_book_refuses_bad_changes(book):
    book.add({"origin": "EC"}, "red", "m", author="ana")
    with pytest.raises(AlertError, match="no alert 'A0009'"):
        book.expire("A0009", "ana")
    with pytest.raises(AlertError, match="cannot change criteria"):
        book.change("A0001", "ana", criteria={"origin": ("CO",)})
    with pytest.raises(AlertError, match="channel: 'green'"):
        book.change("A0001", "ana", channel="green")
    with pytest.raises(AlertError, match="no watch list named 'gone'"):
        book.add({"importer": "@gone"}, "red", "m", author="ana")
    book.expire("A0001", "ana")
    with pytest.raises(AlertError, match="expired"):
        book.change("A0001", "ana", message="again")
    assert [a.id for a in book.list()] == ["A0001"]  # the refused add stored nothing
    assert [h["action"] for h in book.history()] == ["add", "expire"]


def test_active_only_drops_alerts_that_ended(book):
    book.add({"origin": "EC"}, "red", "m", author="a", valid_until="2025-06-30")
    book.add({"origin": "EC"}, "red", "m", author="a", valid_from="2025-08-01")
    assert [a.id for a in book.list(active_only=True, today="2025-06-30")] == ["A0001", "A0002"]
    assert [a.id for a in book.list(active_only=True, today="2025-07-01")] == ["A0002"]


def test_revision_moves_on_every_change(book):
    seen = [book.revision()]
    book.add({"origin": "EC"}, "red", "m", author="a")
    seen.append(book.revision())
    book.change("A0001", "a", message="n")
    seen.append(book.revision())
    book.save_watchlist(WatchList("t", "trader", frozenset({"IMP-1"})), "a")
    seen.append(book.revision())
    book.expire("A0001", "a")
    seen.append(book.revision())
    assert seen == sorted(set(seen)) and len(seen) == 5
    book.record_selections([{"alert_id": "A0001", "declaration_id": "D1", "member": "GB"}])
    assert book.revision() == seen[-1]  # selections change no alert


def test_watchlists_are_stored_replaced_and_kept_in_history(book, tmp_path):
    book.save_watchlist(WatchList("t", "trader", frozenset({"IMP-1"}), "a.csv"), "ana")
    book.add({"trader": "@t"}, "red", "m", author="ana")
    book.save_watchlist(WatchList("t", "trader", frozenset({"IMP-2", "IMP-3"}), "b.csv"), "bo")
    stored = book.watchlists()["t"]
    assert (stored.entries, stored.source_file, stored.author) == (
        {"IMP-2", "IMP-3"},
        "b.csv",
        "bo",
    )
    assert [(h["action"], h["who"], h["size"]) for h in book.watchlist_history("t")] == [
        ("create", "ana", 1),
        ("replace", "bo", 2),
    ]
    with pytest.raises(AlertError, match="alert A0001: trader: watch list 't' holds document"):
        book.save_watchlist(WatchList("t", "document", frozenset({"BL1"})), "carl")
    matcher = Matcher.build(book.list(active_only=True), book.watchlists())
    hits = matcher.match(columns(variant(importer_id="imp-3"), variant(importer_id="IMP-1")))
    assert [len(h) for h in hits] == [1, 0]


def test_selections_are_stored_once(book):
    book.add({"origin": "EC"}, "red", "m", author="a")
    row = {
        "alert_id": "A0001",
        "declaration_id": "D1",
        "member": "GB",
        "declaration_date": date(2025, 6, 1),
        "channel": "red",
        "model_version": "3",
    }
    assert book.record_selections([row, {**row, "member": "FR"}]) == 2
    assert book.record_selections([{**row, "channel": "red", "model_version": "4"}]) == 0
    stamped = {**row, "declaration_id": "D2", "declaration_date": pd.Timestamp("2025-06-02")}
    assert book.record_selections([stamped]) == 1
    frame = book.selections("A0001").sort_values(["declaration_id", "member"])
    assert frame["member"].tolist() == ["FR", "GB", "GB"]
    assert frame["declaration_date"].tolist() == ["2025-06-01", "2025-06-01", "2025-06-02"]
    assert frame["model_version"].tolist() == ["3", "3", "3"]
    assert book.selections("A0002").empty
    with pytest.raises(AlertError, match="without declaration_id"):
        book.record_selections([{"alert_id": "A0001"}])


def test_hit_rates(book):
    for _ in range(3):
        book.add({"origin": "EC"}, "red", "m", author="a")
    rows = [("A0001", "D1", "GB"), ("A0001", "D2", "GB"), ("A0001", "D3", "GB")]
    rows += [("A0002", "D1", "GB"), ("A0002", "D1", "FR")]
    keys = ("alert_id", "declaration_id", "member")
    book.record_selections([dict(zip(keys, r, strict=True)) for r in rows])
    outcomes = pd.DataFrame(
        {
            "declaration_id": ["D1", "D2", "D1", "D9"],
            "member": ["GB", "GB", "FR", "GB"],
            "illicit": [1, 0, 0, 1],
        }
    )
    table = book.hit_rates(outcomes).set_index("alert_id")
    assert table.loc["A0001", ["selections", "outcomes_known", "hits"]].tolist() == [3, 2, 1]
    assert table.loc["A0001", "hit_rate"] == 0.5
    assert table.loc["A0002", ["selections", "outcomes_known", "hits"]].tolist() == [2, 2, 1]
    assert table.loc["A0003", ["selections", "outcomes_known", "hits"]].tolist() == [0, 0, 0]
    assert np.isnan(table.loc["A0003", "hit_rate"])


def test_two_books_on_one_file_see_each_other(tmp_path):
    path = tmp_path / "alerts.sqlite"
    cli, server = AlertBook(path), AlertBook(path)
    seen = server.revision()
    cli.add({"origin": "EC"}, "red", "m", author="ana")
    assert server.revision() > seen
    assert [a.id for a in server.list()] == ["A0001"]
    server.save_watchlist(WatchList("t", "trader", frozenset({"IMP-1"})), "srv")
    assert set(cli.watchlists()) == {"t"}
    # both adding at once never gives two alerts the same id
    errors: list[Exception] = []

    def add_many(b: AlertBook) -> None:
        try:
            for _ in range(20):
                b.add({"mode": "sea"}, "yellow", "m", author="x")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add_many, args=(b,)) for b in (cli, server)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [a.id for a in cli.list()]
    assert len(ids) == len(set(ids)) == 41
    cli.close()
    server.close()


ADD_MANY = """
import sys
from riskscore.models.alert_book import AlertBook
book = AlertBook(sys.argv[1])
for _ in range(30):
    book.add({"mode": "air"}, "red", "from the other process", author="cli")
"""


def test_two_processes_write_one_book(tmp_path):
    path = tmp_path / "alerts.sqlite"
    server = AlertBook(path)
    other = subprocess.Popen([sys.executable, "-c", ADD_MANY, str(path)])
    added = 0
    while other.poll() is None or added < 30:  # keep writing while the other process does
        server.add({"mode": "sea"}, "yellow", "from this process", author="srv")
        added += 1
    assert other.returncode == 0
    alerts = server.list()
    assert len({a.id for a in alerts}) == len(alerts) == 30 + added
    assert [a.author for a in alerts].count("cli") == 30
    assert server.revision() == len(alerts)
    server.close()


def test_a_full_disk_is_a_storage_error_naming_the_file(book):
    book.add({"origin": "EC"}, "red", "m", author="a")
    # SQLite answers SQLITE_FULL, as on a full disk, once the file may not grow
    pages = book._db.execute("PRAGMA page_count").fetchone()[0]
    book._db.execute(f"PRAGMA max_page_count = {pages}")
    rows = [{"alert_id": "A0001", "declaration_id": f"D{i}" * 20} for i in range(2000)]
    with pytest.raises(StorageError) as caught:
        book.record_selections(rows)
    assert str(caught.value) == (
        f"cannot record selections in {book.path}: database or disk is full; nothing was stored"
    )
    assert book.selections().empty
    book._db.execute("PRAGMA max_page_count = 1073741823")
    assert book.record_selections(rows) == len(rows)
