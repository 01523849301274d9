"""The CEN-style Excel bulk-upload template: a header row, a field guide and allowed values."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from riskscore.features import vocab
from riskscore.features.contracts import Contract, Kind
from riskscore.features.readers import ALLOWED_VALUES_SHEET, GUIDE_SHEET

_KIND_HINTS = {
    Kind.ID: "text, unique",
    Kind.TEXT: "text",
    Kind.DATE: "date (YYYY-MM-DD or DD/MM/YYYY)",
    Kind.COUNTRY: "country: ISO code or name",
    Kind.COUNTRY_LIST: "countries separated by ;",
    Kind.HS_CODE: "HS code, 4-10 digits (dots allowed)",
    Kind.MODE: "transport mode (see allowed values) or UN/ECE Rec. 19 code",
    Kind.NUMBER: "number >= 0",
    Kind.UNIT: "unit (see allowed values)",
    Kind.CURRENCY: "ISO 4217 code",
    Kind.FLAG: "0 or 1",
    Kind.CHOICE: "one of the allowed values",
}
_MAX_ROWS = 100_000


def _allowed(contract: Contract) -> dict[str, tuple[str, ...]]:
    allowed: dict[str, tuple[str, ...]] = {}
    for f in contract.fields:
        if f.kind is Kind.CHOICE:
            allowed[f.name] = f.choices
        elif f.kind is Kind.MODE:
            allowed[f.name] = vocab.TRANSPORT_MODES
        elif f.kind is Kind.UNIT:
            allowed[f.name] = vocab.UNITS
    return allowed


def write_template(contract: Contract, out: Path) -> Path:
    """Write a blank bulk-upload workbook for `contract` to `out`."""
    book = Workbook()
    data = book.active
    data.title = contract.name.capitalize()
    header_font = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFE699")
    for col, f in enumerate(contract.fields, start=1):
        cell = data.cell(row=1, column=col, value=f.name)
        cell.font = header_font
        if f.required:
            cell.fill = required_fill
        dimension = data.column_dimensions[get_column_letter(col)]
        dimension.width = max(14, len(f.name) + 2)
        if f.kind not in (Kind.NUMBER, Kind.DATE):
            # Text columns, so Excel keeps leading zeros and the dots of "1006.30".
            dimension.number_format = "@"
    data.freeze_panes = "A2"

    allowed = _allowed(contract)
    values = book.create_sheet(ALLOWED_VALUES_SHEET)
    for col, (name, choices) in enumerate(allowed.items(), start=1):
        values.cell(row=1, column=col, value=name).font = header_font
        for row, choice in enumerate(choices, start=2):
            values.cell(row=row, column=col, value=choice)
        letter = get_column_letter(col)
        source = f"{quote_sheetname(ALLOWED_VALUES_SHEET)}!${letter}$2:${letter}${len(choices) + 1}"
        # Messy spellings are still accepted on ingest, so the list only warns.
        check = DataValidation(type="list", formula1=source, allow_blank=True, errorStyle="warning")
        target = get_column_letter(contract.field_names.index(name) + 1)
        check.add(f"{target}2:{target}{_MAX_ROWS}")
        data.add_data_validation(check)

    guide = book.create_sheet(GUIDE_SHEET)
    for col, title in enumerate(("field", "required", "format", "description"), start=1):
        guide.cell(row=1, column=col, value=title).font = header_font
    for f in contract.fields:
        guide.append([f.name, "yes" if f.required else "", _KIND_HINTS[f.kind], f.description])
    for letter, width in zip("ABCD", (24, 10, 40, 70), strict=True):
        guide.column_dimensions[letter].width = width

    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out
