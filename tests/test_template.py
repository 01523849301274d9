"""The Excel bulk-upload template: written by the CLI, filled in by hand, ingested back."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from riskscore.features import vocab
from riskscore.features.contracts import CONTRACTS, SEIZURES
from riskscore.features.ingest import ingest
from riskscore.features.readers import ALLOWED_VALUES_SHEET, GUIDE_SHEET
from riskscore.features.store import Store
from riskscore.features.template import write_template

TODAY = date(2024, 6, 1)


def header(sheet) -> list[str]:
    return [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]


def column(sheet, name: str) -> list[str]:
    """The values under `name` in a sheet whose first row is a header."""
    index = header(sheet).index(name) + 1
    return [
        r[0] for r in sheet.iter_rows(min_row=2, min_col=index, max_col=index, values_only=True)
    ]


def fill(path: Path, rows: list[dict[str, object]]) -> Path:
    """Type rows into the template's data sheet, by field name, as a user would."""
    book = openpyxl.load_workbook(path)
    sheet = book["Seizures"]
    names = header(sheet)
    for r, row in enumerate(rows, start=2):
        for name, value in row.items():
            sheet.cell(row=r, column=names.index(name) + 1, value=value)
    book.save(path)
    return path


@pytest.fixture(scope="module")
def cli_template(cli, tmp_path_factory) -> Path:
    """The seizures template, written once by the installed CLI (a real subprocess)."""
    folder = tmp_path_factory.mktemp("template")
    result = cli("template", "seizures", "--out", "upload.xlsx", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "wrote upload.xlsx"
    assert result.stderr == ""
    return folder / "upload.xlsx"


@pytest.fixture
def template(cli_template, tmp_path) -> Path:
    """A fresh copy of the CLI-written template for one test to fill in."""
    copy = tmp_path / "upload.xlsx"
    shutil.copyfile(cli_template, copy)
    return copy


def test_cli_template_has_the_contract_header_and_allowed_values(template):
    book = openpyxl.load_workbook(template)
    assert book.sheetnames == ["Seizures", ALLOWED_VALUES_SHEET, GUIDE_SHEET]
    assert header(book["Seizures"]) == SEIZURES.field_names
    assert book["Seizures"].max_row == 1  # blank: header only

    allowed = book[ALLOWED_VALUES_SHEET]
    assert header(allowed) == [
        "place_type",
        "commodity_category",
        "quantity_unit",
        "transport_mode",
    ]
    listed = {name: [v for v in column(allowed, name) if v is not None] for name in header(allowed)}
    assert listed == {
        "place_type": list(vocab.PLACE_TYPES),
        "commodity_category": list(vocab.COMMODITY_CATEGORIES),
        "quantity_unit": list(vocab.UNITS),
        "transport_mode": list(vocab.TRANSPORT_MODES),
    }

    guide = book[GUIDE_SHEET]
    assert column(guide, "field") == SEIZURES.field_names
    flags = dict(zip(column(guide, "field"), column(guide, "required"), strict=True))
    assert [f for f, flag in flags.items() if flag == "yes"] == SEIZURES.required


def test_template_drop_down_lists_point_at_allowed_values(template):
    sheet = openpyxl.load_workbook(template)["Seizures"]
    mode_col = openpyxl.utils.get_column_letter(SEIZURES.field_names.index("transport_mode") + 1)
    by_range = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    check = by_range[f"{mode_col}2:{mode_col}100000"]
    assert check.type == "list"
    assert check.formula1 == "'Allowed values'!$D$2:$D$10"
    assert check.errorStyle == "warning"  # messy spellings must still be accepted on ingest


@pytest.mark.parametrize("kind", list(CONTRACTS))
def test_every_kind_has_a_template(tmp_path, kind):
    path = write_template(CONTRACTS[kind], tmp_path / "nested" / f"{kind}.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == kind.capitalize()
    assert header(book.worksheets[0]) == CONTRACTS[kind].field_names


def test_blank_template_ingests_no_rows(template, tmp_path):
    report = ingest("seizures", template, tmp_path / "store", today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (0, 0, 0)


ROWS = [
    {  # messy but valid spellings, a real Excel date cell
        "id": "T1",
        "date": datetime(2024, 2, 5),
        "reporting_country": "Viet Nam",
        "place_type": "Sea port",
        "commodity_category": "Narcotics",
        "hs_code": "1006.30",
        "quantity": 12.5,
        "quantity_unit": "KGM",
        "transport_mode": "Maritime",
        "origin_country": "Hong Kong, China",
        "transit_countries": "Panama; NL",
        "destination_country": "Korea",
    },
    {  # day-first text date, Rec. 19 code typed as a number, Excel date with a time of day
        "id": "T2",
        "date": "06/02/2024",
        "reporting_country": "KR",
        "commodity_category": "cigarettes",
        "hs_code": "2402.20.90",
        "quantity": "1,000",
        "quantity_unit": "sticks",
        "transport_mode": 4,
        "departure_country": "Türkiye",
    },
    {
        "id": "T3",
        "date": datetime(2024, 2, 7, 15, 45),
        "reporting_country": "NA",
        "commodity_category": "wildlife",
        "transport_mode": "Express courier",
    },
    {  # bad: unknown country and a date in the future
        "id": "T4",
        "date": datetime(2024, 12, 1),
        "reporting_country": "Atlantis",
        "commodity_category": "drugs",
    },
]


def test_filled_template_round_trip(template, tmp_path):
    fill(template, ROWS)
    report = ingest("seizures", template, tmp_path / "store", today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (4, 3, 1)

    q = pd.read_csv(report.quarantine_file, dtype=str, keep_default_na=False)
    assert q["source_row"].tolist() == ["5"]
    assert q["reasons"].tolist() == [
        "date: date in the future '2024-12-01 00:00:00'; "
        "reporting_country: unknown country 'Atlantis'"
    ]

    data = Store(tmp_path / "store").read("seizures").set_index("id")
    t1, t2, t3 = data.loc["T1"], data.loc["T2"], data.loc["T3"]
    assert t1["date"] == pd.Timestamp("2024-02-05")
    assert (t1["reporting_country"], t1["origin_country"], t1["destination_country"]) == (
        "VN",
        "HK",
        "KR",
    )
    assert (t1["place_type"], t1["commodity_category"]) == ("seaport", "drugs")
    assert (t1["hs_code"], t1["hs4"], t1["hs6"]) == ("100630", "1006", "100630")
    assert (t1["quantity"], t1["quantity_unit"], t1["transport_mode"]) == (12.5, "kg", "sea")
    assert t1["transit_countries"] == "PA;NL"

    assert t2["date"] == pd.Timestamp("2024-02-06")
    assert (t2["commodity_category"], t2["hs_code"], t2["hs6"]) == ("tobacco", "24022090", "240220")
    assert (t2["quantity"], t2["quantity_unit"], t2["transport_mode"]) == (1000.0, "unit", "air")
    assert t2["departure_country"] == "TR"

    assert t3["date"] == pd.Timestamp("2024-02-07")
    assert (t3["reporting_country"], t3["transport_mode"]) == ("NA", "courier")
    assert pd.isna(t3["hs_code"]) and pd.isna(t3["quantity"])


def test_filled_template_through_the_cli(template, tmp_path, run_cli):
    fill(template, ROWS[:3])
    result = run_cli("ingest", "seizures", "upload.xlsx", "--store", "store", "--json")
    assert result.returncode == 0, result.stderr
    assert '"rows_accepted": 3' in result.stdout
    assert '"rows_quarantined": 0' in result.stdout


def test_hs_code_typed_as_a_number_in_excel(template, tmp_path):
    row = {"id": "N1", "date": datetime(2024, 2, 5), "reporting_country": "KR"}
    fill(template, [{**row, "commodity_category": "drugs", "hs_code": 1006.30}])
    report = ingest("seizures", template, tmp_path / "store", today=TODAY)
    if report.rows_accepted:  # either read correctly, or quarantined - never a different code
        assert Store(tmp_path / "store").read("seizures")["hs_code"].tolist() == ["100630"]


def test_installed_cli_refuses_a_wrong_extension(tmp_path, run_cli):
    result = run_cli("template", "seizures", "--out", "template.csv")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: template.csv: the template is an Excel workbook, name it *.xlsx"
    ]
    assert not (tmp_path / "template.csv").exists()


@pytest.mark.parametrize("kind", list(CONTRACTS))
@pytest.mark.parametrize("name", ["template.xls", "template"])
def test_cli_refuses_a_wrong_extension_for_every_kind(tmp_path, invoke, kind, name):
    result = invoke("template", kind, "--out", name)
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"error: {name}: the template is an Excel workbook, name it *.xlsx"
    )
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("kind", list(CONTRACTS))
def test_cli_template_for_every_kind(tmp_path, invoke, kind):
    result = invoke("template", kind, "--out", f"sub/{kind}.xlsx")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "sub" / f"{kind}.xlsx")
    assert header(book.worksheets[0]) == CONTRACTS[kind].field_names
