"""End-to-end ingestion: library call and the installed CLI, quarantine, idempotence, bad files."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from riskscore.features.errors import BadInputError
from riskscore.features.ingest import ingest
from riskscore.features.mapping import ColumnMapping
from riskscore.features.store import Store

TODAY = date(2024, 6, 1)

HEADER = (
    "id,date,reporting_country,commodity_category,hs_code,quantity,quantity_unit,"
    "transport_mode,origin_country,transit_countries"
)
# line 1 is the header; the comment after each row is its line number and fate
MIXED_ROWS = [
    'S1,2024-02-05,Viet Nam,drugs,1006.30,"1,234.5",kgs,Maritime,NA,"Panama; NL"',  # 2 ok
    "S2,05/02/2024,Atlantis,tobacco,9999,-5,kg,zeppelin,CN,",  # 3 four problems
    "S3,2024-02-06,KR,cigarettes,2402.20,100,sticks,4,CN,",  # 4 ok
    "S4,2024-02-07,KR,drugs,1211,1,kg,air,CN,,EXTRA",  # 5 too many fields
    "S5,,KR,,abc,1,kg,air,CN,",  # 6 three problems
    "S6,2024-02-08,KR,drugs,,,,,,",  # 7 ok, minimal
    "S3,2024-02-09,KR,drugs,,,,,,",  # 8 duplicate id of line 4
    "S7,2024-02-08,KR",  # 9 too few fields
]


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def read_quarantine(report) -> pd.DataFrame:
    """The quarantine CSV exactly as text ('NA' stays 'NA')."""
    return pd.read_csv(report.quarantine_file, dtype=str, keep_default_na=False)


def stored(store: Path, kind: str = "seizures") -> pd.DataFrame:
    return Store(store).read(kind).set_index("id")


@pytest.fixture
def mixed_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "mixed.csv", HEADER, MIXED_ROWS)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


# --- accounting and quarantine ----------------------------------------------------------------


def test_mixed_file_accounting(mixed_csv, store):
    report = ingest("seizures", mixed_csv, store, today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (8, 3, 5)
    assert report.rows_in == report.rows_accepted + report.rows_quarantined
    assert (report.rows_new, report.rows_already_present) == (3, 0)
    assert report.reasons_by_field == {
        "row": 2,
        "hs_code": 2,
        "reporting_country": 1,
        "quantity": 1,
        "transport_mode": 1,
        "date": 1,
        "commodity_category": 1,
        "id": 1,
    }
    assert (report.date_min, report.date_max) == ("2024-02-05", "2024-02-08")
    assert sorted(stored(store).index) == ["S1", "S3", "S6"]


def test_quarantine_lists_every_reason_with_field_and_value(mixed_csv, store):
    report = ingest("seizures", mixed_csv, store, today=TODAY)
    q = read_quarantine(report).set_index("source_row")
    assert list(q.index) == ["3", "5", "6", "8", "9"]  # the CSV line numbers, header = 1
    assert set(q["source_file"]) == {"mixed.csv"}

    assert q.loc["3", "reasons"].split("; ") == [
        "reporting_country: unknown country 'Atlantis'",
        "hs_code: invalid HS code '9999'",
        "quantity: negative value '-5'",
        "transport_mode: unknown transport mode 'zeppelin'",
    ]
    assert q.loc["6", "reasons"].split("; ") == [
        "date: missing required value",
        "commodity_category: missing required value",
        "hs_code: invalid HS code 'abc'",
    ]
    assert q.loc["8", "reasons"] == "id: duplicate of row 4 in this file"
    assert q.loc["5", "reasons"] == "row: has 11 fields, the header has 10"
    assert q.loc["5", "raw_text"] == MIXED_ROWS[3]
    assert q.loc["9", "reasons"] == "row: has 3 fields, the header has 10"


def test_quarantine_keeps_original_raw_values(mixed_csv, store):
    report = ingest("seizures", mixed_csv, store, today=TODAY)
    row = read_quarantine(report).set_index("source_row").loc["3"]
    assert row[["id", "date", "reporting_country", "hs_code", "quantity"]].tolist() == [
        "S2",
        "05/02/2024",
        "Atlantis",
        "9999",
        "-5",
    ]
    assert row["transport_mode"] == "zeppelin"


def test_accepted_rows_are_normalised_in_the_store(mixed_csv, store):
    ingest("seizures", mixed_csv, store, today=TODAY)
    s1 = stored(store).loc["S1"]
    assert s1["date"] == pd.Timestamp("2024-02-05")
    assert (s1["reporting_country"], s1["origin_country"]) == ("VN", "NA")  # NA is Namibia
    assert (s1["hs_code"], s1["hs2"], s1["hs4"], s1["hs6"]) == ("100630", "10", "1006", "100630")
    assert (s1["quantity"], s1["quantity_unit"]) == (1234.5, "kg")
    assert (s1["transport_mode"], s1["transit_countries"]) == ("sea", "PA;NL")
    s3 = stored(store).loc["S3"]
    assert (s3["commodity_category"], s3["quantity_unit"], s3["transport_mode"]) == (
        "tobacco",
        "unit",
        "air",
    )
    assert s3["_source_file"] == "mixed.csv"


def test_ingest_report_json_is_written(mixed_csv, store):
    report = ingest("seizures", mixed_csv, store, today=TODAY)
    latest = json.loads((store / "seizures" / "ingest-report.json").read_text())
    assert latest == report.to_dict()
    for key in ("rows_in", "rows_accepted", "rows_quarantined", "quarantine_file"):
        assert key in latest
    assert latest["rows_in"] == latest["rows_accepted"] + latest["rows_quarantined"]
    assert Path(latest["quarantine_file"]).is_file()
    assert Path(latest["part_file"]).is_file()
    assert len(list((store / "seizures" / "reports").glob("*.json"))) == 1


def test_clean_file_has_no_quarantine(tmp_path, store):
    path = write_csv(tmp_path / "ok.csv", HEADER, [MIXED_ROWS[0], MIXED_ROWS[2]])
    report = ingest("seizures", path, store, today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (2, 2, 0)
    assert report.quarantine_file is None
    assert not (store / "seizures" / "quarantine").exists()


def test_header_only_file_ingests_nothing(tmp_path, store):
    path = write_csv(tmp_path / "h.csv", HEADER, [])
    report = ingest("seizures", path, store, today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.part_file) == (0, 0, None)
    assert Store(store).parts("seizures") == []


def test_quarantine_source_row_is_an_integer_without_malformed_rows(tmp_path, store):
    path = write_csv(tmp_path / "bad.csv", HEADER, [MIXED_ROWS[0], MIXED_ROWS[1]])
    report = ingest("seizures", path, store, today=TODAY)
    assert read_quarantine(report)["source_row"].tolist() == ["3"]


def test_source_row_after_a_blank_line(tmp_path, store):
    path = write_csv(tmp_path / "gap.csv", HEADER, [MIXED_ROWS[0], "", MIXED_ROWS[1]])
    report = ingest("seizures", path, store, today=TODAY)
    assert read_quarantine(report)["source_row"].tolist() == ["4"]


# --- idempotence and conflicts ----------------------------------------------------------------


def test_reingest_is_idempotent(mixed_csv, store):
    first = ingest("seizures", mixed_csv, store, today=TODAY)
    parts = Store(store).parts("seizures")
    rows = len(Store(store).read("seizures"))

    second = ingest("seizures", mixed_csv, store, today=TODAY)
    assert second.rows_new == 0
    assert second.rows_already_present == first.rows_accepted == second.rows_accepted == 3
    assert second.rows_quarantined == first.rows_quarantined
    assert second.part_file is None
    assert Store(store).parts("seizures") == parts
    assert len(Store(store).read("seizures")) == rows == 3


def test_same_content_in_another_spelling_is_already_present(tmp_path, store):
    a = write_csv(tmp_path / "a.csv", HEADER, [MIXED_ROWS[0]])
    b = write_csv(
        tmp_path / "b.csv", HEADER, ["S1,05/02/2024,VN,Drugs,100630,1234.5,KGM,1,Namibia,PA;NL"]
    )
    ingest("seizures", a, store, today=TODAY)
    report = ingest("seizures", b, store, today=TODAY)
    assert (report.rows_new, report.rows_already_present, report.rows_quarantined) == (0, 1, 0)


def test_same_id_with_different_content_is_a_conflict(tmp_path, store):
    a = write_csv(tmp_path / "a.csv", HEADER, [MIXED_ROWS[0], MIXED_ROWS[2]])
    changed = MIXED_ROWS[0].replace('"1,234.5"', "999")
    b = write_csv(
        tmp_path / "b.csv", HEADER, [changed, MIXED_ROWS[2], "S9,2024-03-01,KR,ipr,,,,,,"]
    )
    ingest("seizures", a, store, today=TODAY)

    report = ingest("seizures", b, store, today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (3, 2, 1)
    assert (report.rows_new, report.rows_already_present) == (1, 1)
    q = read_quarantine(report)
    assert q["source_row"].tolist() == ["2"]
    assert q["reasons"].tolist() == ["id: already stored with different content (from a.csv)"]
    assert q["quantity"].tolist() == ["999"]
    # the stored record is not overwritten
    data = stored(store)
    assert sorted(data.index) == ["S1", "S3", "S9"]
    assert data.loc["S1", "quantity"] == 1234.5


# --- formats and headers ----------------------------------------------------------------------

RECORDS = [
    ["R1", "2024-02-05", "Viet Nam", "drugs", "1006.30", "12.5", "Maritime"],
    ["R2", "2024-02-06", "Atlantis", "drugs", "2402", "1", "air"],  # bad country
    ["R3", "2024-02-07", "KR", "ipr", "0101 21", "3", "road"],
]
COLUMNS = ["id", "date", "reporting_country", "commodity_category", "hs_code", "quantity"]
COLUMNS += ["transport_mode"]


def write_records(path: Path) -> Path:
    frame = pd.DataFrame(RECORDS, columns=COLUMNS)
    match path.suffix:
        case ".csv":
            frame.to_csv(path, index=False)
        case ".parquet":
            frame.to_parquet(path, index=False)
        case ".xlsx":
            write_xlsx(path, {"Seizures": [COLUMNS, *RECORDS]})
    return path


@pytest.mark.parametrize(
    ("suffix", "bad_row"), [(".csv", 3), (".xlsx", 3), (".parquet", 2)], ids=["csv", "xlsx", "pq"]
)
def test_each_format_ingests_the_same_records(tmp_path, store, suffix, bad_row):
    report = ingest("seizures", write_records(tmp_path / f"in{suffix}"), store, today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (3, 2, 1)
    q = read_quarantine(report)
    assert q["source_row"].tolist() == [str(bad_row)]  # parquet: record number
    assert q["reporting_country"].tolist() == ["Atlantis"]
    data = stored(store)
    assert data.loc["R1", ["reporting_country", "hs_code", "transport_mode"]].tolist() == [
        "VN",
        "100630",
        "sea",
    ]
    assert data.loc["R3", "hs_code"] == "010121"
    assert data["quantity"].tolist() == [12.5, 3.0]


def test_typed_parquet_columns_are_read_as_values(tmp_path, store):
    frame = pd.DataFrame(
        {
            "id": ["P1", "P2"],
            "date": pd.to_datetime(["2024-02-05", "2024-02-06"]),
            "reporting_country": ["KR", "NA"],
            "commodity_category": ["drugs", "cash"],
            "hs_code": [100630, 10630],  # integers: the second lost its leading zero
            "quantity": [1.5, 2],
        }
    )
    frame.to_parquet(tmp_path / "typed.parquet")
    report = ingest("seizures", tmp_path / "typed.parquet", store, today=TODAY)
    assert report.rows_accepted == 2
    data = stored(store)
    assert data["hs_code"].tolist() == ["100630", "010630"]
    assert data["date"].tolist() == [pd.Timestamp("2024-02-05"), pd.Timestamp("2024-02-06")]
    assert data["reporting_country"].tolist() == ["KR", "NA"]


def test_parquet_with_timezone_aware_dates(tmp_path, store):
    frame = pd.DataFrame(
        {
            "id": ["P1"],
            "date": pd.to_datetime(["2024-02-05"]).tz_localize("UTC"),
            "reporting_country": ["KR"],
            "commodity_category": ["drugs"],
        }
    )
    frame.to_parquet(tmp_path / "tz.parquet")
    report = ingest("seizures", tmp_path / "tz.parquet", store, today=TODAY)
    assert report.rows_accepted == 1


def test_xlsx_cells_keep_their_values_and_row_numbers(tmp_path, store):
    rows = [
        ["ID", "Date", "Reporting Country", "Commodity Category", "HS Code", "Quantity"],
        ["X1", datetime(2024, 2, 5, 14, 30), "NA", "drugs", 100630, 12.5],  # row 2
        ["X2", 45327, "KR", "drugs", "0101.21", 1_000_000],  # Excel serial date
        [None] * 6,  # an empty formatted row: not a record
        ["X3", "31/02/2024", "KR", "drugs", "1006", 1],  # row 5: bad date
    ]
    path = write_xlsx(tmp_path / "cells.xlsx", {"Seizures": rows})
    report = ingest("seizures", path, store, today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (3, 2, 1)
    q = read_quarantine(report)
    assert q["source_row"].tolist() == ["5"]
    assert q["reasons"].tolist() == ["date: unparseable date '31/02/2024'"]
    data = stored(store)
    assert data["date"].tolist() == [pd.Timestamp("2024-02-05")] * 2
    assert data["reporting_country"].tolist() == ["NA", "KR"]
    assert data["hs_code"].tolist() == ["100630", "010121"]
    assert data["quantity"].tolist() == [12.5, 1_000_000.0]


def test_xlsx_sheet_is_chosen_by_kind_or_by_option(tmp_path, store):
    other = [["id", "date"], ["Z", "2024-01-01"]]
    good = [COLUMNS, *RECORDS]
    path = write_xlsx(tmp_path / "book.xlsx", {"Notes": other, "SEIZURES": good, "Mine": good})
    report = ingest("seizures", path, store, today=TODAY)  # sheet named like the kind
    assert report.rows_accepted == 2
    report = ingest("seizures", path, tmp_path / "store2", sheet="Mine", today=TODAY)
    assert report.rows_accepted == 2


def test_loose_header_names_are_matched(tmp_path, store):
    header = "ID, Date ,Reporting Country,Commodity-Category,HS Code,Transport Mode,Remarks"
    path = write_csv(tmp_path / "loose.csv", header, ["L1,2024-02-05,KR,drugs,1006.30,Sea,x"])
    report = ingest("seizures", path, store, today=TODAY)
    assert report.rows_accepted == 1
    assert report.columns_ignored == ["Remarks"]
    row = stored(store).loc["L1"]
    assert (row["hs_code"], row["transport_mode"], row["commodity_category"]) == (
        "100630",
        "sea",
        "drugs",
    )


def test_mapping_file_renames_translates_and_keeps_extras(tmp_path, store):
    mapping = tmp_path / "member.yaml"
    mapping.write_text(
        "kind: seizures\n"
        "columns: {Ref: id, Seized on: date, Goods: commodity_category}\n"
        "extra: [Office ID]\n"
        "constants: {reporting_country: KR}\n"
        "values: {transport_mode: {'10': sea, '40': air}}\n"
        "date_formats: ['%m/%d/%Y']\n"
    )
    path = write_csv(
        tmp_path / "member.csv",
        "Ref,Seized on,Goods,transport_mode,Office ID",
        ["M1,02/05/2024,drugs,40,  OF-1 ", "M2,12/31/2023,tobacco,10,OF-2"],
    )
    report = ingest("seizures", path, store, mapping=mapping, today=TODAY)
    assert (report.rows_accepted, report.mapping_file) == (2, str(mapping))
    data = stored(store)
    assert data["date"].tolist() == [pd.Timestamp("2024-02-05"), pd.Timestamp("2023-12-31")]
    assert data["reporting_country"].tolist() == ["KR", "KR"]
    assert data["transport_mode"].tolist() == ["air", "sea"]
    assert data["x_office_id"].tolist() == ["OF-1", "OF-2"]


@pytest.mark.parametrize("name", ["reasons", "source_row", "source_file"])
def test_source_column_named_like_a_quarantine_column(tmp_path, store, name):
    path = write_csv(tmp_path / "own.csv", HEADER + f",{name}", [MIXED_ROWS[1] + ",mine"])
    report = ingest("seizures", path, store, today=TODAY)
    assert (report.rows_in, report.rows_quarantined) == (1, 1)
    assert "mine" in Path(report.quarantine_file).read_text()


def test_csv_with_a_repeated_column_name_is_refused(tmp_path, store):
    path = write_csv(tmp_path / "dup.csv", HEADER + ",id", [MIXED_ROWS[0] + ",OTHER"])
    with pytest.raises(BadInputError, match="duplicate column names: id"):
        ingest("seizures", path, store, today=TODAY)


def test_store_reads_extra_columns_added_by_a_later_file(tmp_path, store):
    plain = write_csv(tmp_path / "plain.csv", HEADER, [MIXED_ROWS[0]])
    office = write_csv(tmp_path / "office.csv", HEADER + ",Office", [MIXED_ROWS[2] + ",OF-1"])
    ingest("seizures", plain, store, today=TODAY)
    ingest("seizures", office, store, mapping=ColumnMapping(extra=("Office",)), today=TODAY)
    data = stored(store)
    assert "x_office" in data.columns
    assert data.loc["S3", "x_office"] == "OF-1"


# --- bad files: BadInputError from the library, exit 2 and one line from the CLI ---------------


def _good_xlsx(folder: Path) -> Path:
    return write_records(folder / "good.xlsx")


def _make(folder: Path, case: str) -> tuple[list[str], str, str]:
    """Create the bad input of `case`; (CLI args after `ingest seizures`, file named, problem)."""
    match case:
        case "missing":
            return ["missing.csv"], "missing.csv", "file not found"
        case "extension":
            (folder / "data.txt").write_text(HEADER + "\n")
            return ["data.txt"], "data.txt", "unsupported format .txt"
        case "not-a-workbook":
            (folder / "fake.xlsx").write_text(HEADER + "\n")
            return ["fake.xlsx"], "fake.xlsx", "unreadable .xlsx file"
        case "wrong-sheet":
            _good_xlsx(folder)
            return ["good.xlsx", "--sheet", "Nope"], "good.xlsx", "no sheet named 'Nope'"
        case "no-kind-sheet":
            write_xlsx(folder / "two.xlsx", {"Alpha": [COLUMNS], "Beta": [COLUMNS]})
            return ["two.xlsx"], "two.xlsx", "cannot tell which sheet holds the seizures"
        case "required-column":
            write_csv(folder / "nocat.csv", "id,date,reporting_country", ["S1,2024-01-01,KR"])
            problem = "required column(s) missing: commodity_category"
            return ["nocat.csv"], "nocat.csv", problem
        case "mapping-field":
            write_records(folder / "in.csv")
            (folder / "bad.yaml").write_text("columns:\n  id: identifier\n")
            args = ["in.csv", "--mapping", "bad.yaml"]
            return args, "bad.yaml", "unknown seizures fields ['identifier']"
        case "mapping-kind":
            write_records(folder / "in.csv")
            (folder / "clearance.yaml").write_text("kind: clearance\n")
            args = ["in.csv", "--mapping", "clearance.yaml"]
            return args, "clearance.yaml", "written for clearance, not seizures"
        case "mapping-yaml":
            write_records(folder / "in.csv")
            (folder / "broken.yaml").write_text("columns: {Ref: [id\n")
            args = ["in.csv", "--mapping", "broken.yaml"]
            return args, "broken.yaml", "unreadable mapping file"
        case "mapping-column":
            write_records(folder / "in.csv")
            (folder / "ref.yaml").write_text("columns: {Ref: id}\n")
            args = ["in.csv", "--mapping", "ref.yaml"]
            return args, "in.csv", "columns named in the mapping are missing: 'Ref'"
        case "empty-csv":
            (folder / "empty.csv").write_text("")
            return ["empty.csv"], "empty.csv", "empty file: no header row"
        case "not-utf8":
            (folder / "latin.csv").write_bytes(
                f"{HEADER}\nS1,2024-01-01,C\xf4te\n".encode("cp1252")
            )
            return ["latin.csv"], "latin.csv", "unreadable .csv file"
    raise AssertionError(case)


BAD_CASES = [
    "missing",
    "extension",
    "not-a-workbook",
    "wrong-sheet",
    "no-kind-sheet",
    "required-column",
    "mapping-field",
    "mapping-kind",
    "mapping-yaml",
    "mapping-column",
    "empty-csv",
    "not-utf8",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_file_raises_and_writes_nothing(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    args, named, problem = _make(tmp_path, case)
    mapping = Path(args[args.index("--mapping") + 1]) if "--mapping" in args else None
    sheet = args[args.index("--sheet") + 1] if "--sheet" in args else None
    with pytest.raises(BadInputError) as info:
        ingest("seizures", Path(args[0]), tmp_path / "store", mapping=mapping, sheet=sheet)
    assert Path(info.value.path).name == named
    assert info.value.problem.startswith(problem)
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("case", BAD_CASES)
def test_cli_bad_file_exits_2_with_a_clear_error(tmp_path, invoke, case):
    args, named, problem = _make(tmp_path, case)
    result = invoke("ingest", "seizures", *args, "--store", "store")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())  # in-process, rich may wrap at 80 columns
    assert message.startswith(f"error: {named}: {problem}")
    assert result.stdout == ""
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("case", ["missing", "not-a-workbook", "required-column"])
def test_installed_cli_bad_file_prints_one_line(tmp_path, run_cli, case):
    args, named, problem = _make(tmp_path, case)
    result = run_cli("ingest", "seizures", *args, "--store", "store")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {named}: {problem}")
    assert result.stdout == ""
    assert not (tmp_path / "store").exists()


def test_cli_long_error_stays_on_one_line_when_not_a_terminal(tmp_path, run_cli):
    header = "id,date,reporting_country,place,offence_type,description,conveyance"
    write_csv(tmp_path / "nocat.csv", header, ["S1,2024-01-01,KR,a,b,c,d"])
    result = run_cli("ingest", "seizures", "nocat.csv", "--store", "store", columns=None)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# --- the installed CLI on good data -----------------------------------------------------------


def test_cli_ingest_json_report_and_idempotent_rerun(tmp_path, run_cli):
    write_csv(tmp_path / "mixed.csv", HEADER, MIXED_ROWS)
    first = run_cli("ingest", "seizures", "mixed.csv", "--store", "store", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["rows_in"], report["rows_accepted"], report["rows_quarantined"]) == (8, 3, 5)
    assert (tmp_path / report["quarantine_file"]).is_file()
    assert json.loads((tmp_path / "store/seizures/ingest-report.json").read_text()) == report

    again = run_cli("ingest", "seizures", "mixed.csv", "--store", "store", "--json")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert (second["rows_new"], second["rows_already_present"]) == (0, 3)
    assert second["part_file"] is None
    assert len(Store(tmp_path / "store").parts("seizures")) == 1


def test_cli_ingest_table_output_and_default_store(tmp_path, invoke, monkeypatch):
    monkeypatch.setenv("RISKSCORE_STORE_DIR", str(tmp_path / "default-store"))
    write_records(tmp_path / "in.xlsx")
    result = invoke("ingest", "seizures", "in.xlsx")
    assert result.exit_code == 0, result.output
    assert "quarantine file:" in result.stdout
    assert "reporting_country (1)" in result.stdout
    # no --store: RISKSCORE_STORE_DIR (set by the fixture) is used
    assert len(Store(tmp_path / "default-store").read("seizures")) == 2


def test_json_lines_set_aside_lines_that_are_not_objects(tmp_path, store):
    good = (
        '{"id": "J1", "date": "2024-01-05", "reporting_country": "GB", "hs_code": "100630", '
        '"origin_country": "EC", "declared_value": 1000}'
    )
    path = tmp_path / "lines.jsonl"
    path.write_text("\n".join([good, "[1, 2]", "", good.replace("J1", "J2"), '{"id": oops']))
    report = ingest("clearance", path, store, today=TODAY)
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (4, 2, 2)
    quarantine = read_quarantine(report)
    assert quarantine["source_row"].tolist() == ["2", "5"]
    assert quarantine["reasons"].tolist()[0] == "row: not a JSON object"
    assert quarantine["reasons"].tolist()[1].startswith("row: not valid JSON")
