"""Writing a workbook plan with openpyxl's write-only mode; `text_cell` writes every text cell.

openpyxl is imported at the top of this module, and this module is imported only when a
workbook is written (`riskreg.workbook.build_council_workbook`), so app start-up never pays
for it.

Safety (security.md H1–H3): `text_cell` is the only way text reaches a cell. It removes
characters XML cannot carry, escapes text that looks like OOXML's `_xHHHH_` escapes (so every
reader shows it as typed), forces the cell type to text (openpyxl would otherwise write a
string starting with "=" as a formula), and gives Excel's quote prefix to anything that
starts like a formula, so it stays text even when someone edits the cell. Numbers and dates
are written as numbers and dates. No formula is ever written.

Speed and memory (performance.md §2): rows stream into write-only sheets (temporary files,
flat memory); each distinct `Look` becomes one precomputed StyleArray shared by every cell
that has that look, instead of a style object per cell.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, WriteOnlyCell
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.header_footer import HeaderFooterItem
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from riskreg.workbook.plan import Look, PageSetup, PlanCell, Properties, SheetPlan, WorkbookPlan, column_letter

# Excel's limit per cell; longer text is cut with a visible marker, never silently (security.md H3).
MAX_CELL_CHARS = 32_767
# First characters that make Excel (or LibreOffice) read a typed value as a formula or command.
QUOTE_TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")
# openpyxl's own list of XML-illegal control characters, plus the lone surrogates and the two
# non-characters that lxml refuses (a pasted U+FFFF would otherwise fail the whole export).
_ILLEGAL = re.compile(f"{ILLEGAL_CHARACTERS_RE.pattern}|[\ud800-\udfff\ufffe\uffff]")

_XSTRING_LIKE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")

Progress = Callable[[int, int, str], None]
# A write-only sheet borrows these attributes from Worksheet (panes, print setup, dimensions,
# merges, filter); openpyxl's type stubs only know them on Worksheet, so that is what we call it.
Sheet = Worksheet


@dataclass(frozen=True)
class CellStyle:
    """A precomputed style, with its quote-prefixed twin for formula-like text."""

    plain: StyleArray
    quoted: StyleArray


def clean_text(value: str) -> str:
    """Text as it may go into a cell: XML-illegal characters removed, overlong text visibly cut, and
    text that looks like an OOXML escape escaped itself (see `escape_xstring`).
    """
    text = _ILLEGAL.sub("", value)
    if len(text) > MAX_CELL_CHARS:
        marker = f" […] (cut here: the register holds {len(text):,} characters)"
        text = text[: MAX_CELL_CHARS - len(marker)] + marker
    return escape_xstring(text) if "_x" in text else text


def escape_xstring(text: str) -> str:
    """Text whose "_xHHHH_" parts every reader shows as typed.

    OOXML cell text (ST_Xstring) encodes characters as `_xHHHH_`, and Excel and LibreOffice decode any
    such sequence they read ("_x0041_" shows as "A"); openpyxl writes text as it is and reads it back
    undecoded. Escaping the underscore that starts each such sequence as `_x005F_` (the rule in ECMA-376
    Part 1, 22.9.2.19) makes Excel show the text as typed, and RiskReg's importer decodes it the same way.
    """
    return _XSTRING_LIKE.sub("_x005F_", text)


def needs_quote_prefix(text: str) -> bool:
    """True when the first non-blank character (or a leading tab/CR/LF) could start a formula."""
    first = text[:1]
    if first in QUOTE_TRIGGERS:
        return True
    return first.isspace() and text.lstrip()[:1] in QUOTE_TRIGGERS


def text_cell(ws: Sheet, value: str, style: CellStyle | None = None) -> Cell:
    """The one way text reaches a cell: cleaned, forced to text, quote-prefixed when formula-like."""
    text = clean_text(value)
    cell = WriteOnlyCell(ws, value=text or None)
    if text:
        cell.data_type = "s"  # never "f": openpyxl would write "=..." as a formula
    if style is not None:
        # Shared, never mutated: the writer only hashes it to find the style's index.
        cell._style = style.quoted if needs_quote_prefix(text) else style.plain  # type: ignore[attr-defined]
    elif needs_quote_prefix(text):
        cell.quotePrefix = True
    return cell


def value_cell(ws: Sheet, value: int | float | date | datetime | None, style: CellStyle) -> Cell:
    """A number, date or empty cell, written as its native type."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        raise ValueError("datetimes written to a workbook must be naive UTC")
    cell = WriteOnlyCell(ws, value=cast(Any, value))  # the stubs omit date, which openpyxl writes natively
    cell._style = style.plain  # type: ignore[attr-defined]
    return cell


class StyleBook:
    """Turns each distinct Look into one shared StyleArray, once per workbook."""

    def __init__(self, wb: Workbook, font: str, size: float) -> None:
        self.wb = wb
        self._cache: dict[Look, CellStyle] = {}
        # Plans reuse one Look object per column, so a lookup by identity avoids hashing an
        # eleven-field dataclass for every cell; the Look is kept in the value to pin its id.
        self._by_id: dict[int, tuple[Look, CellStyle]] = {}
        # The default font decides column-width units and empty-cell rows; Calibri's theme
        # font would print with a substitute where Calibri is missing (LibreOffice on Linux).
        default = Font(name=font, sz=size, family=2)
        wb._fonts = IndexedList([default])  # type: ignore[attr-defined]
        wb._named_styles["Normal"].font = default  # type: ignore[attr-defined]

    def get(self, ws: Sheet, look: Look) -> CellStyle:
        pinned = self._by_id.get(id(look))
        if pinned is not None:
            return pinned[1]
        found = self._cache.get(look)
        if found is None:
            found = self._cache[look] = self._make(ws, look)
        self._by_id[id(look)] = (look, found)
        return found

    def _make(self, ws: Sheet, look: Look) -> CellStyle:
        template = WriteOnlyCell(ws)
        template.font = Font(
            name=look.font, sz=look.size, b=look.bold, i=look.italic, color=_argb(look.colour), family=2
        )
        if look.fill:
            template.fill = PatternFill("solid", fgColor=_argb(look.fill), bgColor=_argb(look.fill))
        if look.border:
            side = Side(style="thin", color=_argb(look.border))
            template.border = Border(left=side, right=side, top=side, bottom=side)
        template.alignment = Alignment(horizontal=look.halign, vertical=look.valign, wrap_text=look.wrap or None)
        template.number_format = look.number_format
        plain = StyleArray(template._style)  # type: ignore[attr-defined]
        quoted = StyleArray(template._style)  # type: ignore[attr-defined]
        quoted.quotePrefix = 1
        return CellStyle(plain, quoted)


def _argb(colour: str) -> str:
    return "FF" + colour.lstrip("#").upper()


def _cell(ws: Sheet, book: StyleBook, planned: PlanCell | None) -> Cell | None:
    if planned is None:
        return None
    value, look = planned
    style = book.get(ws, look)
    if isinstance(value, str):
        return text_cell(ws, value, style)
    if isinstance(value, bool):
        return text_cell(ws, "Yes" if value else "No", style)
    return value_cell(ws, value, style)


def write_workbook(plan: WorkbookPlan, progress: Progress | None = None) -> bytes:
    """Stream a plan into a write-only workbook and return the .xlsx bytes."""
    wb = Workbook(write_only=True)
    book = StyleBook(wb, plan.default_font, plan.default_size)
    _set_properties(wb, plan.properties)
    total = plan.expected_rows
    done = 0
    try:
        for sheet in plan.sheets:
            ws = cast(Sheet, wb.create_sheet(sheet.name))
            _frame(ws, sheet, plan.page)
            _write_rows(ws, book, sheet, progress, done, total)
            # Progress counts each sheet as its expected rows, so it ends exactly at the total.
            done += sheet.expected_rows
            if progress is not None:
                progress(done, total, sheet.name)
            for picture in sheet.pictures:
                image = Image(BytesIO(picture.data))
                image.width, image.height = picture.width_px, picture.height_px
                ws.add_image(image, picture.anchor)
        return _save(wb, plan.properties.created)
    except BaseException:
        _discard(wb)
        raise


def _write_rows(ws: Sheet, book: StyleBook, sheet: SheetPlan, progress: Progress | None, done: int, total: int) -> int:
    number = 0
    filter_at = 0
    dimensions = ws.row_dimensions
    # ws.append() first tries each item as a plain value and only takes it as a cell after a
    # ValueError (whose message formats the cell's repr): a third of the write time. Every
    # item here is already a cell, so the sheet's row hook just places them.
    ws._values_to_row = _place  # type: ignore[attr-defined]
    for row in sheet.rows:
        number += 1
        if row.height is not None:
            dimensions[number].height = row.height
        for first, last in row.merges:
            ws.merged_cells.add(f"{column_letter(first)}{number}:{column_letter(last)}{number}")
        ws.append([_cell(ws, book, planned) for planned in row.cells])
        if row.height is not None:
            # The row is written: drop its dimension so memory stays flat on long sheets.
            del dimensions[number]
        if row.filter_header:
            filter_at = number
        if progress is not None and number % 2000 == 0:
            progress(done + min(number, sheet.expected_rows), total, sheet.name)
    if filter_at and sheet.filter_columns:
        ws.auto_filter.ref = f"A{filter_at}:{column_letter(sheet.filter_columns)}{max(number, filter_at + 1)}"
    return number


def _place(cells: list[Cell | None], row: int) -> Iterator[Cell]:
    """Stand-in for WriteOnlyWorksheet._values_to_row when every item is a cell or None."""
    for column, cell in enumerate(cells, start=1):
        if cell is not None:
            cell.column = column
            cell.row = row
            yield cell


def _frame(ws: Sheet, sheet: SheetPlan, page: PageSetup) -> None:
    """Everything a write-only sheet needs before its first row: widths, panes, print setup."""
    for index, width in enumerate(sheet.widths, start=1):
        ws.column_dimensions[column_letter(index)].width = width
    if sheet.freeze:
        ws.freeze_panes = sheet.freeze
    if sheet.title_rows:
        ws.print_title_rows = f"{sheet.title_rows[0]}:{sheet.title_rows[1]}"
    if sheet.repeat_columns and sheet.pages_wide > 1:
        ws.print_title_cols = f"A:{column_letter(sheet.repeat_columns)}"
    ws.page_setup.orientation = "landscape" if page.landscape else "portrait"
    ws.page_setup.paperSize = page.paper_code
    if page.fit_to_width:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth = sheet.pages_wide
        ws.page_setup.fitToHeight = sheet.pages_tall
    ws.page_margins = PageMargins(**page.margins_in)
    ws.print_options.horizontalCentered = True
    font = f"{page.font},Regular"
    header, footer = _item(ws.oddHeader), _item(ws.oddFooter)
    for part, text in (
        (header.left, page.header.left),
        (header.center, page.header.center),
        (header.right, page.header.right),
        (footer.left, page.footer.left),
        (footer.center, page.footer.center),
        (footer.right, page.footer.right),
    ):
        if text:
            part.text = text
            part.size = page.font_size
            part.font = font


def _item(item: HeaderFooterItem | None) -> HeaderFooterItem:
    if item is None:  # openpyxl always creates them; the stubs allow None
        raise RuntimeError("worksheet has no header/footer item")
    return item


def _set_properties(wb: Workbook, props: Properties) -> None:
    p = wb.properties
    p.title = props.title
    p.subject = props.subject
    p.creator = props.creator
    p.lastModifiedBy = props.creator
    p.keywords = props.keywords
    p.description = props.description
    p.category = props.category
    p.identifier = props.identifier
    p.language = "en"
    p.created = props.created
    p.modified = props.created


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile stamping every entry with one time, so equal workbooks are equal bytes."""

    def __init__(self, file: Any, when: datetime) -> None:
        super().__init__(file, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self._when = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        info = zipfile.ZipInfo(name, date_time=self._when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        super().writestr(info, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        # openpyxl copies each write-only sheet from its temporary file: stream it, stamped.
        info = zipfile.ZipInfo(arcname or str(filename), date_time=self._when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        info.file_size = os.path.getsize(filename)  # lets zipfile decide on ZIP64 as ZipFile.write does
        with open(filename, "rb") as source, self.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)


def _save(wb: Workbook, when: datetime) -> bytes:
    buffer = BytesIO()
    # ExcelWriter rather than wb.save(): save() stamps "modified" with the clock.
    ExcelWriter(wb, _FixedTimeZip(buffer, when)).save()
    return buffer.getvalue()


def _discard(wb: Workbook) -> None:
    """Remove the temporary files of a workbook whose writing failed."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        if writer is None:
            continue
        # Best effort while the original error propagates.
        with contextlib.suppress(Exception):
            writer.xf.close()
        with contextlib.suppress(Exception):
            writer.cleanup()
