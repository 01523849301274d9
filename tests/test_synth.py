"""Tests of the seeded demo-data generator (riskscore.synth).

The planted-pattern tests need a few hundred inspected shipments per pattern, so they share one
30k-shipment data set (about a second to generate); the other tests use 2k shipments.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry
import pytest
from openpyxl import load_workbook

from riskscore import synth
from riskscore.features import vocab
from riskscore.features.contracts import CLEARANCE, DECLARATIONS, SEIZURES, Contract, Kind
from riskscore.synth import generator, patterns
from riskscore.synth.catalogue_goods import COVER_DESCRIPTIONS
from riskscore.synth.catalogue_places import COUNTRY_SPELLINGS
from riskscore.synth.catalogue_seizures import REGION_REPORTERS

SOUTH_AMERICA = list(patterns.RICE_ORIGINS)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> synth.SynthSummary:
    return synth.generate(tmp_path_factory.mktemp("big"), declarations=30_000, seed=7)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> synth.SynthSummary:
    return synth.generate(tmp_path_factory.mktemp("small"), declarations=2_000, seed=3)


def _load(s: synth.SynthSummary) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    clearance = pd.read_parquet(s.clearance_path)
    declarations = pd.read_parquet(s.declarations_path)
    seizures = pd.read_csv(s.seizures_csv_path, dtype=str, keep_default_na=False)
    return clearance, declarations, seizures


def _workbook_rows(path: Path) -> tuple[list[str], list[tuple[object, ...]]]:
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == ["Seizures"]
    rows = list(wb["Seizures"].iter_rows(values_only=True))
    wb.close()
    width = len(rows[0])  # trailing empty cells are not stored: pad them back
    return list(rows[0]), [tuple(r) + (None,) * (width - len(r)) for r in rows[1:]]


def _as_contract_frame(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """What the normaliser would hand to the contract schema: typed columns plus HS levels."""
    out = pd.DataFrame(index=df.index)
    for f in contract.fields:
        col = df[f.name]
        if f.kind is Kind.DATE:
            out[f.name] = pd.to_datetime(col, format="%Y-%m-%d")
        elif f.kind is Kind.NUMBER:
            out[f.name] = pd.to_numeric(col).astype("float64")
        elif f.kind is Kind.FLAG:
            out[f.name] = col.astype("Int8")
        else:
            out[f.name] = col.astype("string").replace("", pd.NA)
    for level, width in (("hs2", 2), ("hs4", 4), ("hs6", 6)):
        out[level] = out["hs_code"].str[:width].where(out["hs_code"].str.len() >= width)
    return out


# --------------------------------------------------------------------------------------------
# Files and contracts


def test_files_have_exactly_the_contract_columns(small: synth.SynthSummary) -> None:
    clearance, declarations, seizures = _load(small)
    assert list(clearance.columns) == CLEARANCE.field_names
    assert list(declarations.columns) == DECLARATIONS.field_names
    assert list(seizures.columns) == SEIZURES.field_names + ["x_linked_clearance_id", "x_pattern"]
    header, _ = _workbook_rows(small.seizures_xlsx_path)
    assert header == SEIZURES.field_names


def test_outputs_pass_the_contract_schemas(small: synth.SynthSummary) -> None:
    clearance, declarations, seizures = _load(small)
    CLEARANCE.schema().validate(_as_contract_frame(clearance, CLEARANCE), lazy=True)
    DECLARATIONS.schema().validate(_as_contract_frame(declarations, DECLARATIONS), lazy=True)
    SEIZURES.schema().validate(_as_contract_frame(seizures, SEIZURES), lazy=True)


def test_clearance_values_are_clean_and_normalised(small: synth.SynthSummary) -> None:
    clearance, _, _ = _load(small)
    assert len(clearance) == small.clearance_rows == 2_000
    assert clearance["id"].is_unique
    assert clearance["id"].str.fullmatch(r"CLR-\d{9}").all()
    assert clearance["hs_code"].str.fullmatch(r"\d{6}|\d{8}").all()
    assert clearance["hs_code"].str.startswith("0").any()  # leading zeros kept
    assert clearance["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert clearance["date"].min() >= "2024-01-01" and clearance["date"].max() <= "2025-12-31"
    # the period is covered whatever today's date is
    assert clearance["date"].min() < "2024-01-15" and clearance["date"].max() > "2025-12-15"
    iso = {c.alpha_2 for c in pycountry.countries}
    for col in ("origin_country", "departure_country"):
        assert clearance[col].isin(iso).all()
    routes = clearance["transit_countries"]
    assert routes.str.fullmatch(r"([A-Z]{2}(;[A-Z]{2})*)?").all()
    assert (routes == "").any() and (routes != "").any()
    assert set(clearance["transport_mode"]) <= set(vocab.TRANSPORT_MODES)
    assert set(clearance["quantity_unit"]) <= set(vocab.UNITS)
    assert set(clearance["currency"]) == {"USD"}
    assert set(clearance["reporting_country"]) == {synth.MEMBER_COUNTRY}
    assert (clearance[["quantity", "gross_weight_kg", "declared_value"]] > 0).all().all()
    assert "illicit" not in clearance.columns


def test_declarations_are_the_inspected_subset(small: synth.SynthSummary) -> None:
    clearance, declarations, _ = _load(small)
    assert declarations["id"].is_unique
    assert 0.28 < len(declarations) / len(clearance) < 0.42
    same = clearance.set_index("id").loc[declarations["id"], CLEARANCE.field_names[1:]]
    pd.testing.assert_frame_equal(
        same.reset_index(drop=True),
        declarations[CLEARANCE.field_names[1:]].reset_index(drop=True),
    )
    assert set(declarations["illicit"]) <= {0, 1}
    assert 0.03 <= declarations["illicit"].mean() <= 0.10
    revenue = declarations["revenue_recovered"] > 0
    assert revenue.any()
    assert (declarations.loc[revenue, "illicit"] == 1).all()
    assert declarations.loc[revenue, "hs_code"].str[:4].isin(patterns.UNDERVALUED_HEADINGS).all()


def test_same_seed_gives_identical_files(small: synth.SynthSummary, tmp_path: Path) -> None:
    again = synth.generate(tmp_path / "again", declarations=2_000, seed=3)
    for name in ("clearance.parquet", "declarations.parquet", "seizures.csv"):
        assert (small.out_dir / name).read_bytes() == (again.out_dir / name).read_bytes(), name
    assert _workbook_rows(small.seizures_xlsx_path) == _workbook_rows(again.seizures_xlsx_path)
    other = synth.generate(tmp_path / "other", declarations=2_000, seed=4)
    assert other.clearance_path.read_bytes() != small.clearance_path.read_bytes()


def test_chunks_join_seamlessly_and_report_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "CHUNK_ROWS", 700)
    seen: list[int] = []
    summary = synth.generate(tmp_path, declarations=2_000, seed=3, progress=seen.append)
    assert seen == [700, 1_400, 2_000]
    clearance = pd.read_parquet(summary.clearance_path)
    assert list(clearance["id"]) == [f"CLR-{i:09d}" for i in range(1, 2_001)]
    assert clearance["date"].is_monotonic_increasing
    assert len(set(clearance["transport_document"])) == len(clearance)


def test_summary_counts_match_the_files(small: synth.SynthSummary) -> None:
    _, declarations, seizures = _load(small)
    d = json.loads(json.dumps(small.to_dict()))
    assert d["declarations_rows"] == len(declarations)
    assert d["illicit_declarations"] == declarations["illicit"].sum()
    assert d["seizures"] == len(seizures)
    linked = seizures["x_linked_clearance_id"] != ""
    assert d["linked_seizures"] == linked.sum() > 0
    assert d["regional_seizures"] == (~linked).sum() > 0
    assert d["clearance_path"] == str(small.clearance_path)


def test_tiny_and_invalid_sizes(tmp_path: Path) -> None:
    summary = synth.generate(tmp_path, declarations=50, seed=1)
    assert summary.clearance_rows == 50 and summary.seizures > 0
    with pytest.raises(ValueError, match="declarations"):
        synth.generate(tmp_path, declarations=0)
    with pytest.raises(ValueError, match="seed"):
        synth.generate(tmp_path, declarations=10, seed=-1)


# --------------------------------------------------------------------------------------------
# Planted patterns: each must raise the illicit rate in declarations.parquet


def _rate(df: pd.DataFrame, mask: pd.Series) -> float:
    assert mask.sum() >= 50, "too few rows to measure the pattern"
    return float(df.loc[mask, "illicit"].mean())


@pytest.fixture(scope="module")
def labelled(big: synth.SynthSummary) -> pd.DataFrame:
    clearance, declarations, _ = _load(big)
    d = declarations.copy()
    d["hs4"] = d["hs_code"].str[:4]
    first_seen = clearance.groupby("importer_id")["date"].min()
    d["first_seen"] = d["importer_id"].map(first_seen)
    d["trader_age"] = (pd.to_datetime(d["date"]) - pd.to_datetime(d["first_seen"])).dt.days
    c = clearance.assign(hs4=clearance["hs_code"].str[:4])
    unit_price = c["declared_value"] / c["gross_weight_kg"]
    usual = unit_price.groupby([c["hs4"], c["transport_mode"]]).median()
    key = pd.MultiIndex.from_arrays([d["hs4"], d["transport_mode"]])
    d["price_ratio"] = d["declared_value"] / d["gross_weight_kg"] / usual.reindex(key).to_numpy()
    pairs = c.groupby(["hs4", "goods_description"]).size()
    pair_share = pairs / pairs.groupby(level=0).transform("sum")
    key = pd.MultiIndex.from_arrays([d["hs4"], d["goods_description"]])
    d["description_share"] = pair_share.reindex(key).to_numpy()
    return d


def test_overall_rate_is_realistic(labelled: pd.DataFrame) -> None:
    assert 0.03 <= labelled["illicit"].mean() <= 0.08


def _assert_pattern(d: pd.DataFrame, hit: pd.Series, scope: pd.Series, factor: float) -> None:
    inside, rest = _rate(d, hit & scope), _rate(d, ~hit & scope)
    assert inside > factor * rest, (inside, rest)
    assert inside > 2 * d["illicit"].mean()


def test_rice_from_south_america_by_sea(labelled: pd.DataFrame) -> None:
    d = labelled
    hit = d["origin_country"].isin(SOUTH_AMERICA) & (d["transport_mode"] == "sea")
    _assert_pattern(d, hit, d["hs4"] == "1006", 4)


def test_cigarettes_shipped_from_a_hub(labelled: pd.DataFrame) -> None:
    d = labelled
    hit = (d["departure_country"] != d["origin_country"]) & d["departure_country"].isin(
        patterns.CIGARETTE_HUBS
    )
    _assert_pattern(d, hit, d["hs4"] == "2402", 4)


def test_undervaluation_and_revenue(labelled: pd.DataFrame) -> None:
    d = labelled
    scope = d["hs4"].isin(patterns.UNDERVALUED_HEADINGS)
    hit = d["price_ratio"] < 0.3
    _assert_pattern(d, hit, scope, 5)
    found = hit & scope & (d["illicit"] == 1)
    assert (d.loc[found, "revenue_recovered"] > 0).mean() > 0.9
    # duty and VAT on the undervalued part: a fraction of what the goods should have declared
    usual_value = d["declared_value"] / d["price_ratio"]
    share = d.loc[found, "revenue_recovered"] / usual_value[found]
    assert share.between(0.05, 0.6).mean() > 0.8


def test_repeat_offenders_keep_offending(labelled: pd.DataFrame) -> None:
    d = labelled
    first = d[d["date"] < "2025-01-01"].groupby("importer_id")["illicit"].agg(["mean", "count"])
    record = first[(first["count"] >= 4) & (first["mean"] >= 0.2)].index
    scope = d["date"] >= "2025-01-01"
    _assert_pattern(d, d["importer_id"].isin(record), scope, 2)


def test_new_traders(labelled: pd.DataFrame) -> None:
    d = labelled
    hit = (d["first_seen"] >= "2024-04-01") & (d["trader_age"] < patterns.NEW_TRADER_DAYS)
    _assert_pattern(d, hit, d["first_seen"] < "2025-06-01", 1.5)


def test_drugs_in_small_parcels(labelled: pd.DataFrame) -> None:
    d = labelled
    scope = d["transport_mode"].isin(["postal", "courier"])
    hit = d["origin_country"].isin(patterns.PARCEL_DRUG_ORIGINS) & (
        d["gross_weight_kg"] < patterns.PARCEL_DRUG_MAX_KG
    )
    _assert_pattern(d, hit, scope, 2)


def test_description_not_matching_the_hs_code(labelled: pd.DataFrame) -> None:
    d = labelled
    hit = d["description_share"] < 0.02  # a description almost never seen under this heading
    _assert_pattern(d, hit, d["hs4"].notna(), 3)
    assert d.loc[hit, "goods_description"].isin(COVER_DESCRIPTIONS).any()


def test_timber_origin(labelled: pd.DataFrame) -> None:
    d = labelled
    hit = d["origin_country"] == patterns.TIMBER_ORIGIN
    _assert_pattern(d, hit, d["hs_code"].str[:2] == patterns.TIMBER_CHAPTER, 3)


# --------------------------------------------------------------------------------------------
# Seizures


def test_linked_seizures_point_at_illicit_shipments(big: synth.SynthSummary) -> None:
    clearance, declarations, seizures = _load(big)
    linked = seizures[seizures["x_linked_clearance_id"] != ""]
    ship = clearance.set_index("id").loc[linked["x_linked_clearance_id"]].reset_index()
    linked = linked.reset_index(drop=True)
    assert (linked["reporting_country"] == synth.MEMBER_COUNTRY).all()
    with_doc = linked["transport_document"] != ""
    assert 0.5 < with_doc.mean() < 0.8
    assert (
        linked.loc[with_doc, "transport_document"] == ship.loc[with_doc, "transport_document"]
    ).all()
    # without a document: trader, heading, route and a date a few days after the shipment
    no_doc = ~with_doc
    assert (linked.loc[no_doc, "trader"] == ship.loc[no_doc, "importer_id"]).all()
    assert (linked.loc[no_doc, "departure_country"] == ship.loc[no_doc, "departure_country"]).all()
    lag = (pd.to_datetime(linked["date"]) - pd.to_datetime(ship["date"])).dt.days
    assert lag.between(0, 4)[no_doc].all() and lag.between(0, 40).all()
    codes = linked["hs_code"]
    assert (codes.str.len() >= 4).all()
    assert all(s.startswith(c) for c, s in zip(codes, ship["hs_code"], strict=True))
    assert (linked["origin_country"] == ship["origin_country"]).all()
    # a linked shipment that was inspected is an illicit declaration
    inspected = declarations.set_index("id")["illicit"]
    found = linked["x_linked_clearance_id"].map(inspected).dropna()
    assert len(found) > 0.7 * len(linked) and (found == 1).all()


def test_regional_seizures_share_the_patterns_but_never_link(big: synth.SynthSummary) -> None:
    clearance, _, seizures = _load(big)
    regional = seizures[seizures["x_linked_clearance_id"] == ""]
    assert (regional["reporting_country"] != synth.MEMBER_COUNTRY).all()
    assert set(regional["reporting_country"]) <= set(REGION_REPORTERS)
    docs = set(clearance["transport_document"])
    assert not (set(regional["transport_document"]) - {""}) & docs
    assert not set(regional["trader"]) & set(clearance["importer_id"])
    rice = regional["hs_code"].str.startswith("1006") & regional["origin_country"].isin(
        SOUTH_AMERICA
    )
    assert (regional.loc[rice, "commodity_category"] == "drugs").sum() >= 5
    assert (regional["commodity_category"] == "tobacco").any()
    assert set(seizures["commodity_category"]) <= set(vocab.COMMODITY_CATEGORIES)
    assert set(seizures["place_type"]) <= set(vocab.PLACE_TYPES)


def test_workbook_is_messy_with_a_few_bad_rows(big: synth.SynthSummary) -> None:
    header, rows = _workbook_rows(big.seizures_xlsx_path)
    clean = pd.read_csv(big.seizures_csv_path, dtype=str, keep_default_na=False)
    col = {name: i for i, name in enumerate(header)}
    assert len(rows) == len(clean) + big.bad_seizure_rows
    assert 2 <= big.bad_seizure_rows <= max(5, 0.01 * len(rows))

    def values(name: str) -> list[object]:
        return [r[col[name]] for r in rows]

    assert "9999" in values("hs_code")
    assert "Atlantis" in values("origin_country")
    assert any(isinstance(q, int | float) and q < 0 for q in values("quantity"))
    assert "31/02/2024" in values("date")
    assert values("id").count(None) >= 1
    # the valid rows are the clean CSV, in order
    good = [i for i in values("id") if i is not None]
    assert set(clean["id"]) <= set(good)

    dates = values("date")
    assert any(isinstance(v, dt.datetime) for v in dates)
    assert any(isinstance(v, str) and re.fullmatch(r"\d{2}/\d{2}/\d{4}", v) for v in dates)
    hs = [v for v in values("hs_code") if v is not None]
    assert any(isinstance(v, str) and re.fullmatch(r"\d{4}\.\d{2}(\.\d{2})?", v) for v in hs)
    modes = {v for v in values("transport_mode") if v is not None}
    assert modes & {"Maritime", "Air cargo", "Post", "Express courier"}
    assert modes & set(vocab.REC19_MODES)
    countries = set(values("origin_country")) | set(values("reporting_country"))
    assert countries & {"UK", "United Kingdom", "Viet Nam", "Republic of Korea", "Türkiye"}
    assert countries & {"COL", "ECU", "CHN", "GBR"}
    transit = [v for v in values("transit_countries") if isinstance(v, str)]
    assert any("," in v for v in transit) and any(";" in v for v in transit)
    assert any(v is None for v in values("place")) and any(v is None for v in values("trader"))


def test_messy_spellings_are_known_to_the_vocabularies(big: synth.SynthSummary) -> None:
    """Every spelling in the workbook can be mapped back by vocab, pycountry or the catalogue."""
    header, rows = _workbook_rows(big.seizures_xlsx_path)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    bad = frame["id"].isna() | (frame["origin_country"] == "Atlantis")

    def known(name: str, canonical: tuple[str, ...], aliases: dict[str, str]) -> None:
        for v in frame.loc[~bad, name].dropna():
            text = str(v)
            assert text in canonical or vocab.simplify(text) in aliases, (name, v)

    known("quantity_unit", vocab.UNITS, vocab.UNIT_ALIASES)
    known("place_type", vocab.PLACE_TYPES, vocab.PLACE_TYPE_ALIASES)
    known("commodity_category", vocab.COMMODITY_CATEGORIES, vocab.COMMODITY_ALIASES)
    known("transport_mode", tuple(vocab.REC19_MODES), vocab.MODE_ALIASES)
    spelled = {s for names in COUNTRY_SPELLINGS.values() for s in names}

    def country(v: str) -> bool:
        return bool(v in spelled or pycountry.countries.get(alpha_2=v) or _lookup(v))

    countries = ("reporting_country", "origin_country", "departure_country", "destination_country")
    for name in countries:
        for v in frame.loc[~bad, name].dropna():
            assert country(v), (name, v)
    routes = frame.loc[~bad, "transit_countries"].dropna()
    assert len(routes) > 0
    for v in routes:
        # ";" always separates countries; "," too, unless part of a name ("Hong Kong, China").
        for part in (p.strip() for p in str(v).split(";")):
            names = [part] if country(part) else [p.strip() for p in part.split(",")]
            for transit in names:
                assert country(transit), ("transit_countries", v, transit)


def _lookup(name: str) -> bool:
    try:
        pycountry.countries.lookup(name)
    except LookupError:
        return False
    return True


def test_clearance_transport_documents_look_real(small: synth.SynthSummary) -> None:
    clearance, _, _ = _load(small)
    docs = clearance.set_index("transport_mode")["transport_document"]
    assert docs.loc["sea"].str.fullmatch(r"[A-Z]{4}\d{7}").all()  # B/L, e.g. MSCU1234567
    awb = docs.loc["air"]
    assert awb.str.fullmatch(r"\d{3}-\d{8}").all()
    serial = awb.str[4:11].astype(np.int64)
    assert (serial % 7 == awb.str[11].astype(int)).all()  # IATA mod-7 check digit
    assert docs.loc["postal"].str.fullmatch(r"[A-Z]{2}\d{9}[A-Z]{2}").all()  # UPU S10
