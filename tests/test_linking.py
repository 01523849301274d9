"""Seizure-to-clearance linking: document and trader/route steps, windows, ambiguity, report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscore.features import linking
from riskscore.features.linking import (
    LinkConfig,
    labels_from_links,
    link_seizures,
    normalise_document,
    resolve_outcomes,
)

SEIZURE_COLUMNS = {
    "id": None,
    "date": None,
    "reporting_country": "GB",
    "destination_country": "GB",
    "hs_code": "85171300",
    "transport_document": None,
    "origin_country": "CN",
    "departure_country": None,
    "trader": None,
    "consignee": None,
}
CLEARANCE_COLUMNS = {
    "id": None,
    "date": None,
    "reporting_country": "GB",
    "hs_code": "85171200",
    "origin_country": "CN",
    "departure_country": "HK",
    "transport_document": None,
    "importer_id": "IMP-1",
    "exporter_id": "EXP-1",
}


def _frame(defaults: dict[str, str | None], rows: list[dict]) -> pd.DataFrame:
    """A frame in stored contract form: string columns, datetime `date`, derived hs4."""
    data = {col: [row.get(col, default) for row in rows] for col, default in defaults.items()}
    frame = pd.DataFrame({col: pd.Series(values, dtype="string") for col, values in data.items()})
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["hs4"] = frame["hs_code"].str.slice(0, 4)
    return frame


def seizures(*rows: dict) -> pd.DataFrame:
    return _frame(SEIZURE_COLUMNS, list(rows))


def clearance(*rows: dict) -> pd.DataFrame:
    return _frame(CLEARANCE_COLUMNS, list(rows))


def status_of(result, seizure_id: str) -> pd.Series:
    return result.seizures.set_index("seizure_id").loc[seizure_id]


# --- transport document ------------------------------------------------------------------------


def test_document_link_records_method_and_days():
    s = seizures({"id": "S1", "date": "2024-05-10", "transport_document": "MSKU1234565"})
    c = clearance(
        {"id": "C1", "date": "2024-05-02", "transport_document": "MSKU1234565"},
        {"id": "C2", "date": "2024-05-02", "transport_document": "MSKU7654321"},
    )
    result = link_seizures(s, c)
    assert result.links[["seizure_id", "clearance_id", "method"]].values.tolist() == [
        ["S1", "C1", "transport_document"]
    ]
    assert result.links["days_apart"].tolist() == [8]  # seizure date - clearance date
    row = status_of(result, "S1")
    assert row["status"] == "linked_document" and row["clearance_id"] == "C1"
    assert row["candidates"] == 1


def test_document_numbers_are_normalised():
    s = seizures(
        {"id": "S1", "date": "2024-05-10", "transport_document": " msku-123 456.5 "},
        {"id": "S2", "date": "2024-05-10", "transport_document": "176/1234 5678"},
    )
    c = clearance(
        {"id": "C1", "date": "2024-05-08", "transport_document": "MSKU1234565"},
        {"id": "C2", "date": "2024-05-08", "transport_document": "176-12345678"},
    )
    links = link_seizures(s, c).links.set_index("seizure_id")
    assert links.loc["S1", "clearance_id"] == "C1"
    assert links.loc["S2", "clearance_id"] == "C2"
    clean = normalise_document(pd.Series([" ab-1/2.3 ", "", "  ", None], dtype="string"))
    assert clean.iloc[0] == "AB123"
    assert clean.iloc[1:].isna().all()


def test_reused_container_links_to_the_shipment_close_in_time():
    s = seizures({"id": "S1", "date": "2025-03-10", "transport_document": "TGHU1234567"})
    old = {"id": "OLD", "date": "2024-03-01", "transport_document": "TGHU1234567"}
    new = {"id": "NEW", "date": "2025-03-01", "transport_document": "TGHU1234567"}
    assert link_seizures(s, clearance(old, new)).links["clearance_id"].tolist() == ["NEW"]

    # With only last year's shipment (and another trader), the seizure says nothing about it.
    alone = link_seizures(s, clearance({**old, "importer_id": "OTHER", "exporter_id": "X"}))
    row = status_of(alone, "S1")
    assert alone.links.empty and row["status"] == "unlinked"
    assert "matches 1 clearance record(s), none within 90 days" in row["reason"]


def test_document_window_edges_are_inclusive():
    s = seizures(
        {"id": "IN", "date": "2024-06-30", "transport_document": "DOC1"},
        {"id": "OUT", "date": "2024-07-01", "transport_document": "DOC2"},
    )
    c = clearance(
        {"id": "C1", "date": "2024-04-01", "transport_document": "DOC1"},  # 90 days
        {"id": "C2", "date": "2024-04-01", "transport_document": "DOC2"},  # 91 days
    )
    result = link_seizures(s, c, LinkConfig(document_window_days=90))
    assert result.links["seizure_id"].tolist() == ["IN"]


def test_document_link_needs_no_eligible_country():
    # A seizure abroad that carries our record's document is direct evidence.
    s = seizures(
        {
            "id": "S1",
            "date": "2024-05-10",
            "reporting_country": "NL",
            "destination_country": "DE",
            "transport_document": "DOC1",
        }
    )
    c = clearance({"id": "C1", "date": "2024-05-01", "transport_document": "DOC1"})
    assert status_of(link_seizures(s, c), "S1")["status"] == "linked_document"


def test_document_beats_trader_route():
    s = seizures(
        {"id": "S1", "date": "2024-05-10", "transport_document": "DOC1", "trader": "IMP-1"}
    )
    c = clearance(
        {"id": "BY-DOC", "date": "2024-03-01", "transport_document": "DOC1", "importer_id": "Z"},
        {"id": "BY-TRADER", "date": "2024-05-09", "transport_document": "DOC9"},
    )
    assert link_seizures(s, c).links["clearance_id"].tolist() == ["BY-DOC"]


# --- trader + HS heading + route --------------------------------------------------------------


def test_trader_hs4_route_link_on_trader_or_consignee():
    s = seizures(
        {"id": "S1", "date": "2024-05-10", "trader": " imp-1 "},  # importer, after strip + upper
        {"id": "S2", "date": "2024-05-10", "consignee": "EXP-2"},  # consignee is the exporter
    )
    c = clearance(
        {"id": "C1", "date": "2024-05-01"},
        {"id": "C2", "date": "2024-05-03", "importer_id": "I9", "exporter_id": "EXP-2"},
    )
    result = link_seizures(s, c)
    links = result.links.set_index("seizure_id")
    assert links.loc["S1", "clearance_id"] == "C1" and links.loc["S2", "clearance_id"] == "C2"
    assert set(links["method"]) == {"trader_hs4_route"}
    assert status_of(result, "S1")["status"] == "linked_trader_route"


def test_wrong_hs_heading_does_not_link():
    s = seizures({"id": "S1", "date": "2024-05-10", "trader": "IMP-1", "hs_code": "2402"})
    c = clearance({"id": "C1", "date": "2024-05-01"})  # 8517
    result = link_seizures(s, c)
    row = status_of(result, "S1")
    assert result.links.empty and row["status"] == "unlinked"
    assert "never with HS heading 2402" in row["reason"]


def test_seizure_without_hs_code_cannot_link_by_trader():
    s = seizures({"id": "S1", "date": "2024-05-10", "trader": "IMP-1", "hs_code": None})
    row = status_of(link_seizures(s, clearance({"id": "C1", "date": "2024-05-01"})), "S1")
    assert row["status"] == "unlinked" and "no HS code" in row["reason"]


def test_route_must_agree_where_both_sides_know_it():
    c = clearance({"id": "C1", "date": "2024-05-01"})  # origin CN, departure HK
    other_origin = seizures(
        {"id": "S1", "date": "2024-05-10", "trader": "IMP-1", "origin_country": "VN"}
    )
    row = status_of(link_seizures(other_origin, c), "S1")
    assert row["status"] == "unlinked" and "origin or departure country differs" in row["reason"]
    other_departure = seizures(
        {"id": "S1", "date": "2024-05-10", "trader": "IMP-1", "departure_country": "SG"}
    )
    assert status_of(link_seizures(other_departure, c), "S1")["status"] == "unlinked"
    unknown = seizures(
        {"id": "S1", "date": "2024-05-10", "trader": "IMP-1", "origin_country": None}
    )
    assert status_of(link_seizures(unknown, c), "S1")["status"] == "linked_trader_route"


@pytest.mark.parametrize(
    ("clearance_date", "linked"),
    [
        ("2024-04-25", False),  # 46 days before the seizure
        ("2024-04-26", True),  # 45 days before: inclusive
        ("2024-06-17", True),  # 7 days after (pre-arrival seizure): inclusive
        ("2024-06-18", False),  # 8 days after
    ],
)
def test_trader_window_edges(clearance_date: str, linked: bool):
    s = seizures({"id": "S1", "date": "2024-06-10", "trader": "IMP-1"})
    result = link_seizures(s, clearance({"id": "C1", "date": clearance_date}), LinkConfig())
    assert (status_of(result, "S1")["status"] == "linked_trader_route") is linked
    if not linked:
        assert (
            "no clearance from 45 days before to 7 days after" in status_of(result, "S1")["reason"]
        )


def test_closest_candidate_wins():
    s = seizures({"id": "S1", "date": "2024-06-10", "trader": "IMP-1"})
    c = clearance(
        {"id": "FAR", "date": "2024-05-20"},
        {"id": "NEAR", "date": "2024-06-07"},
        {"id": "AFTER", "date": "2024-06-15"},
    )
    result = link_seizures(s, c)
    assert result.links["clearance_id"].tolist() == ["NEAR"]
    assert result.links["candidates"].tolist() == [3]
    assert result.links["days_apart"].tolist() == [3]


def test_ties_are_ambiguous_and_link_nothing():
    s = seizures(
        {"id": "TRADER", "date": "2024-06-10", "trader": "IMP-1"},
        {"id": "DOC", "date": "2024-06-10", "transport_document": "DOC1", "trader": "IMP-1"},
    )
    c = clearance(
        {"id": "A", "date": "2024-06-07"},  # 3 days before
        {"id": "B", "date": "2024-06-13"},  # 3 days after
        {"id": "C", "date": "2024-06-01", "transport_document": "DOC1"},
        {"id": "D", "date": "2024-06-01", "transport_document": "DOC1"},
    )
    result = link_seizures(s, c)
    assert result.links.empty
    trader, doc = status_of(result, "TRADER"), status_of(result, "DOC")
    assert trader["status"] == "ambiguous" and trader["candidates"] == 4  # C and D too (9 days)
    assert trader["tied_clearance_ids"] == "A;B"
    # A document tie settles the seizure: it does not fall back to the weaker trader step.
    assert doc["status"] == "ambiguous" and doc["tied_clearance_ids"] == "C;D"
    assert "transport document matches 2" in doc["reason"]
    assert result.counts()["ambiguous"] == 2


# --- eligibility, completeness, report --------------------------------------------------------


def test_seizure_in_a_country_without_clearance_data_is_not_eligible():
    s = seizures(
        {
            "id": "S1",
            "date": "2024-05-10",
            "reporting_country": "FR",
            "destination_country": "DE",
            "trader": "IMP-1",
        },
        # Reported abroad but bound for GB: eligible, and links.
        {"id": "S2", "date": "2024-05-10", "reporting_country": "FR", "trader": "IMP-1"},
    )
    result = link_seizures(s, clearance({"id": "C1", "date": "2024-05-01"}))
    row = status_of(result, "S1")
    assert row["status"] == "not_eligible"
    assert "neither reporting country FR nor destination country DE" in row["reason"]
    assert status_of(result, "S2")["status"] == "linked_trader_route"
    assert result.counts()["not_eligible"] == 1


def test_unlinked_seizures_are_counted_with_a_reason():
    s = seizures(
        {"id": "NO-TRADER", "date": "2024-05-10"},
        {"id": "UNKNOWN", "date": "2024-05-10", "trader": "NOBODY"},
        {"id": "NO-DOC-MATCH", "date": "2024-05-10", "transport_document": "ZZZ"},
    )
    result = link_seizures(s, clearance({"id": "C1", "date": "2024-05-01"}))
    reasons = result.seizures.set_index("seizure_id")["reason"]
    assert (result.seizures["status"] == "unlinked").all()
    assert "no trader or consignee" in reasons["NO-TRADER"]
    assert "not an importer or exporter" in reasons["UNKNOWN"]
    assert "transport document not in the clearance data" in reasons["NO-DOC-MATCH"]
    assert result.seizures["reason"].str.len().gt(0).all()
    assert result.counts()["unlinked"] == 3


def test_every_seizure_once_and_counts_sum_to_total():
    s = seizures(
        {"id": "DOC", "date": "2024-05-10", "transport_document": "DOC1"},
        {"id": "TRADER", "date": "2024-05-10", "trader": "IMP-1"},
        {"id": "TIE", "date": "2024-05-10", "trader": "IMP-2"},
        {"id": "NONE", "date": "2024-05-10"},
        {
            "id": "ABROAD",
            "date": "2024-05-10",
            "reporting_country": "FR",
            "destination_country": "FR",
        },
        {"id": "NO-DATE", "date": None, "trader": "IMP-1"},
    )
    c = clearance(
        {"id": "C1", "date": "2024-05-01", "transport_document": "DOC1"},
        {"id": "C2", "date": "2024-05-02"},
        {"id": "C3", "date": "2024-05-08", "importer_id": "IMP-2"},
        {"id": "C4", "date": "2024-05-08", "importer_id": "IMP-2"},
    )
    result = link_seizures(s, c)
    assert result.seizures["seizure_id"].tolist() == s["id"].tolist()
    counts = result.counts()
    assert counts == {
        "linked_document": 1,
        "linked_trader_route": 1,
        "ambiguous": 1,
        "unlinked": 2,
        "not_eligible": 1,
        "total": 6,
    }
    assert status_of(result, "NO-DATE")["reason"].startswith("seizure has no date")
    assert len(result.links) == counts["linked_document"] + counts["linked_trader_route"]


def test_input_index_does_not_matter():
    s = seizures(
        {"id": "S1", "date": "2024-05-10", "transport_document": "D-1"},
        {"id": "S2", "date": "2024-05-10", "trader": "IMP-1"},
    )
    c = clearance(
        {"id": "C1", "date": "2024-05-01", "transport_document": "D1", "importer_id": "Z"},
        {"id": "C2", "date": "2024-05-03"},
    )
    expected = {"S1": "C1", "S2": "C2"}
    for frame_s, frame_c in [
        (s, c),
        (s[::-1], c[::-1]),
        (s.set_axis(["a", "b"]), c.set_axis([9, 3])),
    ]:
        links = link_seizures(frame_s, frame_c).links
        assert dict(zip(links["seizure_id"], links["clearance_id"], strict=True)) == expected
    assert normalise_document(pd.Series(["a-1", "b 2"], index=[5, 2])).to_dict() == {
        5: "A1",
        2: "B2",
    }


def test_empty_inputs():
    empty = link_seizures(seizures(), clearance({"id": "C1", "date": "2024-05-01"}))
    assert empty.counts()["total"] == 0 and empty.links.empty
    no_clearance = link_seizures(seizures({"id": "S1", "date": "2024-05-10"}), clearance())
    assert no_clearance.counts() == {
        **dict.fromkeys(no_clearance.counts(), 0),
        "not_eligible": 1,
        "total": 1,
    }


def test_missing_required_column_is_a_clear_error():
    with pytest.raises(ValueError, match="clearance: required column.*reporting_country"):
        link_seizures(seizures(), clearance().drop(columns="reporting_country"))


def test_write_produces_the_report_files(tmp_path: Path):
    s = seizures(
        {"id": "DOC", "date": "2024-05-10", "transport_document": "DOC1"},
        {"id": "TIE", "date": "2024-05-10", "trader": "IMP-2"},
        {"id": "NONE-1", "date": "2024-05-10"},
        {"id": "NONE-2", "date": "2024-05-10", "trader": "X"},
        {
            "id": "ABROAD",
            "date": "2024-05-10",
            "reporting_country": "FR",
            "destination_country": "FR",
        },
    )
    c = clearance(
        {"id": "C1", "date": "2024-05-01", "transport_document": "DOC1"},
        {"id": "C3", "date": "2024-05-08", "importer_id": "IMP-2"},
        {"id": "C4", "date": "2024-05-08", "importer_id": "IMP-2"},
    )
    result = link_seizures(s, c)
    paths = result.write(tmp_path / "report")
    assert len(pd.read_parquet(paths["links"])) == 1
    every = pd.read_csv(paths["seizure_links"])
    assert len(every) == 5 and set(every["seizure_id"]) == set(s["id"])
    assert pd.read_csv(paths["unlinked"])["seizure_id"].tolist() == ["NONE-1", "NONE-2"]
    ambiguous = pd.read_csv(paths["ambiguous"])
    assert ambiguous["seizure_id"].tolist() == ["TIE"]
    assert ambiguous["tied_clearance_ids"].tolist() == ["C3;C4"]
    report = json.loads(Path(paths["report"]).read_text())
    assert report["counts"] == result.counts()
    assert report["config"]["window_before_days"] == 45


# --- against a row-by-row reference ----------------------------------------------------------


def _random_frames(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Small vocabularies, so that documents, traders and dates collide often."""
    rng = np.random.default_rng(seed)

    def pick(values: list, n: int, missing: float = 0.0) -> list:
        out = rng.choice(np.array(values, dtype=object), n)
        return [None if rng.random() < missing else v for v in out]

    def day(n: int) -> list:
        return [
            str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(d)))
            for d in rng.integers(0, 150, n)
        ]

    docs, parties = [f"doc-{i}" for i in range(25)], [f"t{i}" for i in range(12)]
    hs, countries = ["85171300", "24022000", "10063000"], ["GB", "IE", "FR"]
    n_s, n_c = 200, 600
    s = seizures(
        *[
            dict(zip(SEIZURE_COLUMNS, row, strict=True))
            for row in zip(
                [f"S{i}" for i in range(n_s)],
                [d if rng.random() > 0.02 else None for d in day(n_s)],
                pick(countries + ["DE"], n_s),
                pick(countries + ["DE"], n_s, 0.3),
                pick(hs, n_s, 0.1),
                pick(docs + ["NOT-THERE"], n_s, 0.5),
                pick(["CN", "VN"], n_s, 0.3),
                pick(["HK", "SG"], n_s, 0.6),
                pick(parties, n_s, 0.2),
                pick(parties, n_s, 0.6),
                strict=True,
            )
        ]
    )
    c = clearance(
        *[
            dict(zip(CLEARANCE_COLUMNS, row, strict=True))
            for row in zip(
                [f"C{i}" for i in range(n_c)],
                day(n_c),
                pick(countries[:2], n_c),
                pick(hs, n_c),
                pick(["CN", "VN"], n_c, 0.05),
                pick(["HK", "SG"], n_c, 0.3),
                pick(docs, n_c, 0.2),
                pick(parties, n_c, 0.1),
                pick(parties, n_c, 0.3),
                strict=True,
            )
        ]
    )
    return s, c


def _reference(s: pd.DataFrame, c: pd.DataFrame, cfg: LinkConfig) -> list[tuple]:
    """The rules of docs/labels.md, one seizure and one record at a time."""

    def norm(v):
        return None if pd.isna(v) else "".join(ch for ch in str(v).upper() if ch not in " -/.")

    def same(a, b):
        return pd.isna(a) or pd.isna(b) or a == b

    def pick(cands):
        if not cands:
            return None
        best = min(abs(d) for d, _ in cands)
        tied = [cid for d, cid in cands if abs(d) == best]
        return (len(tied) == 1, tied[0], len(cands))

    out = []
    records = c.to_dict("records")
    covered = set(c["reporting_country"])
    for z in s.to_dict("records"):
        if pd.isna(z["date"]):
            out.append(("unlinked", None, 0))
            continue
        days = [(z["date"] - r["date"]).days for r in records]
        doc = norm(z["transport_document"])
        cands = [
            (d, r["id"])
            for d, r in zip(days, records, strict=True)
            if doc and norm(r["transport_document"]) == doc and abs(d) <= cfg.document_window_days
        ]
        method = "linked_document"
        if not cands:
            method = "linked_trader_route"
            parties = {norm(p) for p in (z["trader"], z["consignee"]) if not pd.isna(p)}
            cands = [
                (d, r["id"])
                for d, r in zip(days, records, strict=True)
                if parties & {norm(r["importer_id"]), norm(r["exporter_id"])}
                and not pd.isna(z["hs4"])
                and z["hs4"] == r["hs4"]
                and r["reporting_country"] in (z["reporting_country"], z["destination_country"])
                and same(z["origin_country"], r["origin_country"])
                and same(z["departure_country"], r["departure_country"])
                and -cfg.window_after_days <= d <= cfg.window_before_days
            ]
        picked = pick(cands)
        if picked is None:
            eligible = {z["reporting_country"], z["destination_country"]} & covered
            out.append(("unlinked" if eligible else "not_eligible", None, 0))
        elif picked[0]:
            out.append((method, picked[1], picked[2]))
        else:
            out.append(("ambiguous", None, picked[2]))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_row_by_row_reference(seed: int, monkeypatch: pytest.MonkeyPatch):
    s, c = _random_frames(seed)
    cfg = LinkConfig(document_window_days=30, window_before_days=20, window_after_days=5)
    expected = _reference(s, c, cfg)

    def observed() -> list[tuple]:
        frame = link_seizures(s, c, cfg).seizures
        ids = frame["clearance_id"].astype(object).where(frame["clearance_id"].notna(), None)
        return list(zip(frame["status"], ids, frame["candidates"].astype(int), strict=True))

    assert observed() == expected
    assert len({status for status, _, _ in expected}) == 5  # every status occurs
    # Small chunks and the unpacked sort give the same answer.
    monkeypatch.setattr(linking, "MAX_PAIRS", 7)
    monkeypatch.setattr(linking, "_PACK_LIMIT", 0)
    assert observed() == expected


# --- labels -----------------------------------------------------------------------------------


def test_labels_from_links_document_beats_trader_route():
    links = pd.DataFrame(
        {
            "seizure_id": ["S2", "S1", "S3"],
            "clearance_id": ["C1", "C1", "C2"],
            "method": ["trader_hs4_route", "transport_document", "trader_hs4_route"],
            "days_apart": [3, 5, 1],
            "candidates": [1, 1, 2],
            "seizure_date": pd.to_datetime(["2024-05-03", "2024-05-09", "2024-06-01"]),
        }
    )
    labels = labels_from_links(links).set_index("clearance_id")
    assert labels.loc["C1", "link_method"] == "transport_document"
    assert labels.loc["C1", "seizure_ids"] == "S1;S2"
    assert labels.loc["C1", "n_seizures"] == 2
    assert labels.loc["C1", "known_from"] == pd.Timestamp("2024-05-03")
    assert labels.loc["C2", "link_method"] == "trader_hs4_route"
    assert (labels["label"] == 1).all() and len(labels) == 2


def test_several_seizures_on_one_record_make_one_positive():
    s = seizures(
        {"id": "S1", "date": "2024-05-10", "transport_document": "DOC1"},
        {"id": "S2", "date": "2024-05-12", "trader": "IMP-1"},
    )
    c = clearance({"id": "C1", "date": "2024-05-01", "transport_document": "DOC1"})
    labels = labels_from_links(link_seizures(s, c).links)
    assert labels[["clearance_id", "link_method", "seizure_ids"]].values.tolist() == [
        ["C1", "transport_document", "S1;S2"]
    ]


def test_inspection_outcome_wins_and_conflicts_are_counted():
    records = pd.DataFrame(
        {
            "id": ["D1", "D2", "D3", "D4"],
            "illicit": pd.array([0, 1, 0, pd.NA], dtype="Int8"),
        }
    )
    labels = pd.DataFrame(
        {
            "clearance_id": ["D1", "D2", "D4", "ELSEWHERE"],
            "label": 1,
            "link_method": ["trader_hs4_route", "transport_document", "transport_document", "x"],
            "seizure_ids": ["S1", "S2", "S4", "S9"],
        }
    )
    outcomes = resolve_outcomes(records, labels)
    frame = outcomes.frame.set_index("id")
    assert frame["label"].tolist() == [0, 1, 0, 1]  # D1 inspected clean: inspection wins
    assert frame["label_source"].tolist() == [
        "inspection",
        "inspection",
        "inspection",
        "seizure_link",
    ]
    assert outcomes.conflicts["id"].tolist() == ["D1"]
    counts = outcomes.counts()
    assert counts["conflicts"] == 1 and counts["confirmed"] == 1
    assert counts["labels_without_record"] == 1 and counts["total"] == 4


# --- demo data --------------------------------------------------------------------------------


def test_demo_data_links_by_document(tmp_path: Path):
    # Imported here so that only this test, not the whole module, depends on the demo generator.
    from riskscore.synth import generate

    generate(tmp_path, declarations=3000)
    c = pd.read_parquet(tmp_path / "clearance.parquet")
    c["date"] = pd.to_datetime(c["date"])
    c["hs4"] = c["hs_code"].str.slice(0, 4)
    s = pd.read_csv(tmp_path / "seizures.csv", dtype="string", keep_default_na=False)
    s["date"] = pd.to_datetime(s["date"])
    s["hs4"] = s["hs_code"].str.slice(0, 4)
    s = s.replace({"": pd.NA})

    result = link_seizures(s, c)
    status = result.seizures["status"]
    with_document = s["transport_document"].notna().to_numpy()
    assert result.counts()["total"] == len(s)

    # Of the seizures whose document is in the clearance data, nearly all link by it.
    known = with_document & s["transport_document"].isin(c["transport_document"]).to_numpy()
    assert known.sum() > 20
    assert (status[known] == "linked_document").mean() > 0.9
    # Links point to records that exist, and where the generator knows the truth, agree with it.
    assert result.links["clearance_id"].isin(c["id"]).all()
    truth = s.set_index("id")["x_linked_clearance_id"]
    linked = result.links.set_index("seizure_id")["clearance_id"]
    assert (truth.reindex(linked.index) == linked).mean() > 0.95
