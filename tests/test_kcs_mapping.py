"""The public KCS benchmark (valid split) through riskscore/mappings/kcs.yaml as declarations."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import riskscore
from riskscore.features import vocab
from riskscore.features.ingest import ingest
from riskscore.features.store import Store

KCS_DIR = Path(__file__).parents[2] / "shared" / "data" / "kcs"
VALID = KCS_DIR / "valid.csv"
MAPPING = Path(riskscore.__file__).parent / "mappings" / "kcs.yaml"

pytestmark = pytest.mark.skipif(
    not VALID.is_file(), reason=f"KCS benchmark not found at {VALID} (../shared/data/kcs)"
)

# KCS mode codes (UN/ECE Rec. 19 by their first digit) and what they must become.
KCS_MODES = {"10": "sea", "20": "rail", "30": "road", "40": "air", "50": "postal", "90": "unknown"}


@pytest.fixture(scope="module")
def kcs(tmp_path_factory):
    """(report, stored declarations indexed by id, raw CSV as text indexed by id, store dir)."""
    store = tmp_path_factory.mktemp("kcs") / "store"
    report = ingest("declarations", VALID, store, mapping=MAPPING)
    data = Store(store).read("declarations").set_index("id")
    raw = pd.read_csv(VALID, dtype=str, keep_default_na=False).set_index("Declaration ID")
    return report, data, raw, store


def test_row_accounting(kcs):
    report, data, raw, _ = kcs
    assert report.rows_in == len(raw) == 8134
    assert report.rows_in == report.rows_accepted + report.rows_quarantined
    assert len(data) == report.rows_new == report.rows_accepted


def test_almost_everything_is_accepted(kcs):
    report, *_ = kcs
    quarantined = pd.DataFrame()
    if report.quarantine_file:
        quarantined = pd.read_csv(report.quarantine_file, dtype=str, keep_default_na=False)
        print("KCS quarantine reasons:\n", quarantined["reasons"].value_counts().to_string())
    assert len(quarantined) == report.rows_quarantined
    # a public benchmark of clean, fully labelled declarations: at most 0.5 % may be refused
    assert report.rows_quarantined / report.rows_in <= 0.005, report.reasons_by_field


def test_declared_unknown_country_zz_is_kept(kcs):
    _, data, raw, _ = kcs
    zz = raw.index[(raw["Country of Origin"] == "ZZ") | (raw["Country of Departure"] == "ZZ")]
    assert len(zz) == 12  # KCS writes ZZ for an unknown or unspecified country
    assert set(zz) <= set(data.index)
    origin = data.loc[zz, "origin_country"]
    assert (origin == raw.loc[zz, "Country of Origin"]).all()


def test_transport_modes_follow_the_kcs_codes(kcs):
    _, data, raw, _ = kcs
    assert set(data["transport_mode"]) <= set(vocab.TRANSPORT_MODES)
    expected = raw.loc[data.index, "Mode of Transport"].map(KCS_MODES)
    assert expected.notna().all()
    assert (data["transport_mode"].astype(str) == expected).all()
    assert data["transport_mode"].value_counts().to_dict() == {
        mode: int((raw["Mode of Transport"] == code).sum())
        for code, mode in KCS_MODES.items()
        if (raw["Mode of Transport"] == code).any()
    }


def test_illicit_rate(kcs):
    _, data, raw, _ = kcs
    assert str(data["illicit"].dtype) == "Int8"
    assert set(data["illicit"].unique()) == {0, 1}
    assert data["illicit"].mean() == pytest.approx(0.209, abs=0.002)
    assert data["illicit"].sum() == raw.loc[data.index, "Fraud"].astype(int).sum()


def test_critical_fraud_is_not_stored(kcs):
    report, data, _, store = kcs
    assert report.columns_ignored == ["Critical Fraud"]
    assert not [c for c in data.columns if "critical" in c.lower()]
    parts = Store(store).parts("declarations")
    assert not [n for p in parts for n in pq.read_schema(p).names if "critical" in n.lower()]


def test_extra_columns_are_kept_as_x_columns(kcs):
    _, data, raw, _ = kcs
    expected = {
        "x_office_id": "Office ID",
        "x_process_type": "Process Type",
        "x_import_type": "Import Type",
        "x_import_use": "Import Use",
        "x_payment_type": "Payment Type",
        "x_courier_id": "Courier ID",
        "x_tax_type": "Tax Type",
        "x_country_of_origin_indicator": "Country of Origin Indicator",
    }
    for column, source in expected.items():
        assert column in data.columns
        # empty cells are stored as missing; every other value as its text
        got = data[column].fillna("").astype(str).tolist()
        assert got == raw.loc[data.index, source].tolist(), column
    assert "x_tax_rate" in data.columns
    tax = pd.to_numeric(raw.loc[data.index, "Tax Rate"])
    assert (data["x_tax_rate"].astype(float).to_numpy() == tax.to_numpy()).all()


def test_mapped_fields_and_constants(kcs):
    _, data, raw, _ = kcs
    src = raw.loc[data.index]
    assert set(data["reporting_country"]) == {"KR"}
    assert set(data["flow"]) == {"import"}
    assert set(data["currency"]) == {"KRW"}
    assert (data["hs_code"] == src["HS6 Code"]).all()
    assert (data["hs4"] == src["HS6 Code"].str[:4]).all()
    assert (data["declarant_id"] == src["Declarant ID"]).all()
    assert (data["importer_id"] == src["Importer ID"]).all()
    assert data["gross_weight_kg"].to_numpy() == pytest.approx(src["Net Mass"].astype(float))
    assert data["declared_value"].to_numpy() == pytest.approx(src["Item Price"].astype(float))
    assert data["date"].min() == pd.Timestamp("2021-01-01")
    assert data["date"].max() == pd.Timestamp("2021-03-31")
    assert (data["date"].dt.strftime("%Y-%m-%d") == src["Date"]).all()


def test_reingesting_the_benchmark_adds_nothing(kcs):
    report, _, _, store = kcs
    again = ingest("declarations", VALID, store, mapping=MAPPING)
    assert (again.rows_new, again.rows_already_present) == (0, report.rows_accepted)
    assert len(Store(store).parts("declarations")) == 1
