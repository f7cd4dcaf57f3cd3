"""Workbook or CSV bytes as sheets of raw rows, read in bounded steps.

Pure. openpyxl is imported lazily here (start-up stays fast) and always in read-only, values-only mode:
formulas give their saved value, and no cell objects are kept. A sheet's declared dimension is ignored,
because it can lie; rows are counted as they come, and columns beyond the limit are never built.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from riskreg.importer.safety import Deadline, ImportRejected, Limits
from riskreg.importer.values import EXCEL_ERRORS, ExcelError

Row = tuple[int, tuple[object, ...]]  # 1-based row number, cell values


@dataclass
class RawSheet:
    """One sheet (or the CSV file) as numbered rows; notes are filled in while the rows are read."""

    name: str
    rows: Iterator[Row]
    notes: list[str] = field(default_factory=list)


def xml_is_safe() -> bool:
    """True when openpyxl parses through defusedxml (entity expansion and external entities forbidden).

    The app checks this at start-up too (security.md G4); the importer refuses to parse otherwise.
    """
    import openpyxl

    return getattr(openpyxl, "DEFUSEDXML", False) is True


@contextmanager
def open_workbook(data: bytes, limits: Limits, deadline: Deadline) -> Iterator[list[RawSheet]]:
    """The workbook's worksheets (chart sheets left out), each read lazily."""
    if not xml_is_safe():
        raise ImportRejected(
            "Excel import is switched off on this server: the XML safety library (defusedxml) is not active. "
            "Ask the administrator; meanwhile, CSV files can be imported."
        )
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        yield [RawSheet(ws.title, _sheet_rows(ws, limits, deadline)) for ws in workbook.worksheets]
    finally:
        workbook.close()


def _sheet_rows(ws: Any, limits: Limits, deadline: Deadline) -> Iterator[Row]:
    ws.reset_dimensions()  # the declared <dimension> may claim a million rows, or nothing
    number = 0
    # Cells rather than values: an error cell (#N/A from a formula) must not be taken for the same text typed.
    for number, cells in enumerate(ws.iter_rows(max_col=limits.max_columns), start=1):
        deadline.check()
        if number > limits.max_rows:
            raise ImportRejected(f"Sheet {ws.title!r} goes on past row {limits.max_rows:,}; the import stops there.")
        yield number, tuple(_value(cell) for cell in cells)


def _value(cell: Any) -> object:
    value = cell.value
    if not isinstance(value, str):
        return value
    if cell.data_type == "e":
        return ExcelError(value)
    return unescape_xstring(value) if "_x" in value else value


_XSTRING_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape_xstring(text: str) -> str:
    """Cell text as Excel shows it: OOXML's `_xHHHH_` escapes (ST_Xstring) decoded, in one pass.

    Excel writes characters XML cannot carry as `_x000B_`, and a typed "_x0041_" as "_x005F_x0041_"; it
    shows "_x0041_" written by other tools as "A". openpyxl leaves the escapes as they are, so the
    importer decodes them itself: what is imported is what Excel shows. A UTF-16 surrogate pair written
    as two escapes becomes its one character; a lone surrogate stays and the text policy removes it.
    """
    decoded = _XSTRING_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= c <= "\udfff" for c in decoded):
        decoded = decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return decoded


# ---------------------------------------------------------------------------------------------- CSV


def decode_csv(data: bytes) -> tuple[str, list[str]]:
    """The text of a CSV file: UTF-8 (with or without BOM), else Windows-1252 with a warning."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ImportRejected('The CSV file is not readable text. Save it as "CSV UTF-8 (comma delimited)".') from exc
    return text, [
        "The CSV file is not UTF-8; it was read as Windows-1252 (Western European). "
        'Check accented letters, or save it as "CSV UTF-8".'
    ]


def check_lines(text: str, limits: Limits) -> None:
    """Refuse a physical line longer than the limit (in linear time, without splitting the text)."""
    cap = limits.max_line_chars
    position = 0
    while position + cap < len(text):
        newline = text.rfind("\n", position, position + cap + 1)
        if newline == -1:
            line = text.count("\n", 0, position) + 1
            raise ImportRejected(
                f"Line {line:,} of the CSV file is longer than {cap:,} characters; this is not a register table."
            )
        position = newline + 1


def csv_sheet(name: str, text: str, delimiter: str, limits: Limits, deadline: Deadline) -> RawSheet:
    sheet = RawSheet(name, iter(()))
    sheet.rows = _csv_rows(sheet, text, delimiter, limits, deadline)
    return sheet


def _csv_rows(sheet: RawSheet, text: str, delimiter: str, limits: Limits, deadline: Deadline) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            deadline.check()
            if number > limits.max_rows:
                raise ImportRejected(f"The CSV file has more than {limits.max_rows:,} rows; the import stops there.")
            if len(record) > limits.max_columns:
                if not sheet.notes:
                    sheet.notes.append(
                        f"Row {number} has {len(record):,} columns; only the first {limits.max_columns} are read."
                    )
                record = record[: limits.max_columns]
            # CSV has no error type: a cell reading exactly like a spreadsheet error is taken for one.
            yield number, tuple(ExcelError(v) if v.strip() in EXCEL_ERRORS else v for v in record)
    except csv.Error as exc:
        raise ImportRejected(f"The CSV file cannot be read at row {number + 1:,}: {exc}.") from exc
