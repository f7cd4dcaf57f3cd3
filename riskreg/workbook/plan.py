"""The workbook as a plan: sheets of rows of (value, look), independent of the Excel library.

Pure. The sheet builders produce `SheetPlan`s whose rows are generated lazily, so a
50,000-risk register is never held in memory; `cells.write_workbook` streams them into
openpyxl's write-only mode, and the benchmark streams the very same plan into XlsxWriter
to compare the two libraries on identical cells and styles.

A `Look` is a complete, hashable cell style. There are a few dozen distinct looks per
workbook; each backend turns each look into one shared style once, never one per cell.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Generic, NamedTuple, TypeVar

from riskreg.scoring import Scales
from riskreg.workbook.fields import BANDS_FIELD, Context, Field, Kind
from riskreg.workbook.layout import Column, Formats, Style

Value = str | int | float | date | datetime | None
T = TypeVar("T")

# Excel's tallest row, in points.
MAX_ROW_HEIGHT = 409.0
# Characters of proportional text per unit of column width at 10 pt (a width unit is one "0"
# of the default font); a little under the true average so estimated rows are never too short.
CHARS_PER_WIDTH_UNIT = 1.1


@dataclass(frozen=True)
class Look:
    """A complete cell style; equal looks share one style in the file."""

    font: str
    size: float
    bold: bool = False
    italic: bool = False
    colour: str = "#000000"
    fill: str = ""  # background, "" for none
    border: str = ""  # thin border colour on all four sides, "" for none
    halign: str = "left"  # left, center, right
    valign: str = "top"  # top, center
    wrap: bool = False
    number_format: str = "General"


PlanCell = tuple[Value, Look]


class Row(NamedTuple):
    """One sheet row: cells from column A (None leaves a cell empty), optional height and merges."""

    cells: Sequence[PlanCell | None]
    height: float | None = None
    merges: tuple[tuple[int, int], ...] = ()  # (first, last) column numbers, from 1, merged in this row
    filter_header: bool = False  # the header of the sheet's filtered table (autofilter from here to the end)


@dataclass(frozen=True)
class Picture:
    """A PNG placed on a sheet with its top-left corner at `anchor`."""

    data: bytes
    anchor: str
    width_px: int
    height_px: int


@dataclass(frozen=True)
class PageText:
    """Header or footer texts in Excel's codes (&P page, &N pages, && a literal ampersand)."""

    left: str = ""
    center: str = ""
    right: str = ""


@dataclass(frozen=True)
class PageSetup:
    paper_code: int
    landscape: bool
    fit_to_width: bool
    margins_in: Mapping[str, float]  # left, right, top, bottom, header, footer
    font: str
    font_size: float
    header: PageText
    footer: PageText


@dataclass
class SheetPlan:
    """One sheet: its frame (widths, panes, print titles, filter) and its rows, made lazily."""

    key: str
    name: str
    widths: Sequence[float]
    rows: Iterable[Row]
    expected_rows: int = 0  # for progress reports
    freeze: str | None = None  # top-left cell of the scrolling area, e.g. "C5"
    title_rows: tuple[int, int] | None = None  # rows repeated at the top of every printed page
    filter_columns: int = 0  # width of the autofilter set on the row marked `filter_header`
    pictures: list[Picture] = field(default_factory=list)
    repeat_columns: int = 0  # first columns repeated on every printed page (the frozen ones)
    pages_wide: int = 1  # printed this many pages wide (set by `pages_wide()` from the layout)
    pages_tall: int = 0  # 0: as many pages as needed; the cover asks for 1


@dataclass(frozen=True)
class Properties:
    title: str
    subject: str
    creator: str
    keywords: str
    description: str
    category: str
    identifier: str
    created: datetime  # naive UTC


@dataclass
class WorkbookPlan:
    sheets: list[SheetPlan]
    properties: Properties
    page: PageSetup
    default_font: str
    default_size: float

    @property
    def expected_rows(self) -> int:
        return sum(s.expected_rows for s in self.sheets)


# ------------------------------------------------------------------------------ looks


class Theme:
    """The looks of one workbook, derived from the layout's [style] and [formats] and the scales."""

    def __init__(self, style: Style, formats: Formats, scales: Scales) -> None:
        self.style = style
        self.formats = formats
        base = Look(font=style.font, size=style.font_size)
        self.base = base
        self.title = replace(base, size=style.title_size, bold=True, colour="#1F3864")
        self.subtitle = replace(base, size=style.font_size + 1, bold=True)
        self.note = replace(base, italic=True, colour=style.note_font)
        self.note_wrap = replace(self.note, wrap=True)
        self.section = replace(base, size=style.font_size + 1, bold=True, colour="#1F3864")
        self.header = replace(
            base,
            bold=True,
            colour=style.header_font,
            fill=style.header_fill,
            border=style.border,
            wrap=True,
            valign="center",
            halign="center",
        )
        self.label = replace(base, bold=True, border=style.border, fill="#F2F2F2", wrap=True)
        self.value = replace(base, border=style.border, wrap=True)
        self.value_date = replace(self.value, number_format=formats.date, halign="left")
        self.value_datetime = replace(self.value, number_format=formats.datetime, halign="left")
        self.cell = replace(base, border=style.border)
        self.prose = replace(base, wrap=True)
        self.total_label = replace(self.cell, bold=True, fill="#F2F2F2")
        self.bands = {
            b.name: replace(self.cell, fill=b.fill, colour=b.font, bold=True, halign="center", wrap=True)
            for b in scales.bands
        }
        self.zones = {
            code: replace(self.cell, fill=z.fill, colour=z.font, wrap=True, halign="center")
            for code, z in style.zones.items()
        }
        self.empty_zone = replace(self.cell, halign="center")

    def for_kind(self, kind: Kind, column: Column | None = None) -> Look:
        """The look of a table cell of this kind (band and zone cells pick theirs per value)."""
        fmt = column.number_format if column is not None else ""
        wrap = column.wrap if column is not None and column.wrap is not None else kind is Kind.WRAP
        if kind in (Kind.INT, Kind.DECIMAL, Kind.PERCENT, Kind.DATE):
            default = {
                Kind.INT: self.formats.integer,
                Kind.DECIMAL: self.formats.decimal,
                Kind.PERCENT: self.formats.percent,
                Kind.DATE: self.formats.date,
            }[kind]
            return replace(self.cell, number_format=fmt or default, halign="center", wrap=wrap)
        if kind is Kind.YESNO:
            return replace(self.cell, halign="center", wrap=wrap)
        return replace(self.cell, wrap=wrap, number_format=fmt or "General")

    def toned(self, look: Look) -> Mapping[str, Look]:
        """A look and its variants per row tone: "" plain, "overdue" shaded red, "total" bold grey.

        Cells that carry their own colour (bands, zones) keep it in every tone.
        """
        if look.fill:
            return {"": look, "overdue": look, "total": replace(look, bold=True)}
        return {
            "": look,
            "overdue": replace(look, fill=self.style.overdue_fill, colour=self.style.overdue_font),
            "total": replace(look, fill="#F2F2F2", bold=True),
        }


# ------------------------------------------------------------------------------ helpers


def text_lines(text: str, width: float, size: float = 10) -> int:
    """Lines a wrapped text needs in a column of `width` units (an estimate, erring long).

    Wraps greedily at spaces as Excel does, and breaks words longer than a line.
    """
    per_line = max(1, int(width * CHARS_PER_WIDTH_UNIT * 10 / size))
    return sum(_wrapped_lines(part, per_line) for part in text.split("\n"))


def _wrapped_lines(part: str, per_line: int) -> int:
    if len(part) <= per_line:
        return 1
    lines, used = 1, 0
    for word in part.split(" "):
        size = len(word)
        if used and used + 1 + size <= per_line:
            used += 1 + size
            continue
        if used:
            lines += 1
        # A word longer than a line is broken across lines.
        extra, used = divmod(size, per_line)
        if used == 0 and extra:
            extra, used = extra - 1, per_line
        lines += extra
    return lines


def row_height(lines: int, size: float = 10) -> float:
    """Points for `lines` lines of text at `size` points, with a little padding."""
    return min(MAX_ROW_HEIGHT, round(lines * size * 1.25 + 4, 1))


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Replace {placeholders} (already validated by the layout loader)."""
    return template.format_map(_Values(values))


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


_PAGE_CODES = {"page": "&P", "pages": "&N", "sheet": "&A"}
# Excel refuses a header or footer longer than 255 characters, codes included; each of the
# three sections also carries a font code (&"Arial,Regular"&8, about 20 characters).
MAX_HEADER_TEXT = 180


def page_text(template: str, values: Mapping[str, str]) -> str:
    """A header/footer section: placeholders filled, '&' doubled, page codes inserted."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal.replace("&", "&&"))
        if name is None:
            continue
        out.append(_PAGE_CODES.get(name) or values.get(name, "").replace("&", "&&"))
    return "".join(out)


def fit_page_texts(left: str, center: str, right: str, budget: int = MAX_HEADER_TEXT) -> PageText:
    """Shorten the longest sections until the three fit Excel's limit, never splitting an "&&"."""
    parts = [left, center, right]
    while (excess := sum(len(p) for p in parts) - budget) > 0:
        longest = max(range(3), key=lambda i: len(parts[i]))
        cut = parts[longest][: max(0, len(parts[longest]) - excess - 1)]
        if (len(cut) - len(cut.rstrip("&"))) % 2:
            cut = cut[:-1]  # a lone trailing "&" would swallow the next character as a code
        parts[longest] = cut + "…"
    return PageText(*parts)


class Table(Generic[T]):
    """Columns of one table compiled once: headers, widths, and a cell maker per column."""

    def __init__(
        self,
        columns: Sequence[Column],
        vocabulary: Mapping[str, Field[T]],
        theme: Theme,
        ctx: Context,
        band_names: Sequence[str] = (),
    ) -> None:
        self.theme = theme
        self.ctx = ctx
        self.headers: list[str] = []
        self.widths: list[float] = []
        self._makers: list[Callable[[T, str], PlanCell]] = []
        self._wrapped: list[tuple[int, float]] = []  # (column index, width) of wrapped cells
        for column in columns:
            spec = vocabulary[column.field]
            if column.field == BANDS_FIELD:
                for name in band_names:
                    self._add(column, fill_template(column.header, {"band": name}), self._band_count(name))
                continue
            self._add(column, column.header, self._maker(spec, column))

    def _add(self, column: Column, header: str, maker: Callable[[T, str], PlanCell]) -> None:
        self.headers.append(header)
        self.widths.append(column.width)
        self._makers.append(maker)

    def _band_count(self, name: str) -> Callable[[T, str], PlanCell]:
        looks = self.theme.toned(self.theme.for_kind(Kind.INT))

        def make(item: Any, tone: str) -> PlanCell:  # a PivotRow: the only table with a bands field
            bands: Mapping[str, int] = item.bands
            return bands.get(name, 0), looks[tone]

        return make

    def _maker(self, spec: Field[T], column: Column) -> Callable[[T, str], PlanCell]:
        theme, ctx, get = self.theme, self.ctx, spec.get
        if spec.kind is Kind.BAND:
            bands = {name: theme.toned(look) for name, look in theme.bands.items()}
            empty = theme.toned(theme.for_kind(Kind.TEXT, column))

            def band(item: T, tone: str) -> PlanCell:
                name = get(item, ctx)
                return (name or None), (bands.get(name) or empty)[tone]

            return band
        if spec.kind is Kind.ZONE:
            zones = {code: theme.toned(look) for code, look in theme.zones.items()}
            no_zone = theme.toned(theme.empty_zone)

            def zone(item: T, tone: str) -> PlanCell:
                code = get(item, ctx)
                return (ctx.label("zone", code) or None), zones.get(code, no_zone)[tone]

            return zone
        looks = theme.toned(theme.for_kind(spec.kind, column))
        if looks[""].wrap:
            self._wrapped.append((len(self._makers), column.width))
        if spec.kind is Kind.LABEL:
            group = spec.group

            def label(item: T, tone: str) -> PlanCell:
                return ctx.label(group, get(item, ctx)) or None, looks[tone]

            return label
        if spec.kind is Kind.YESNO:

            def yesno(item: T, tone: str) -> PlanCell:
                value = get(item, ctx)
                return (None if value is None else ("Yes" if value else "No")), looks[tone]

            return yesno

        def plain(item: T, tone: str) -> PlanCell:
            value = get(item, ctx)
            return (value if value != "" else None), looks[tone]

        return plain

    def header_row(self, *, filtered: bool = False) -> Row:
        look = self.theme.header
        lines = max((text_lines(h, w, look.size) for h, w in zip(self.headers, self.widths, strict=True)), default=1)
        return Row([(h, look) for h in self.headers], height=row_height(lines, look.size), filter_header=filtered)

    def row(self, item: T, tone: str = "") -> Row:
        """One item as a row; `tone` marks it ("overdue", "total") without changing its values."""
        cells = [make(item, tone) for make in self._makers]
        lines = 1
        size = self.theme.base.size
        for index, width in self._wrapped:
            value = cells[index][0]
            if isinstance(value, str):
                lines = max(lines, text_lines(value, width, size))
        return Row(cells, height=row_height(lines, size) if lines > 1 else None)


_REVIEW_WORDS = {365: "Annual", 182: "Semi-annual", 183: "Semi-annual", 91: "Quarterly", 92: "Quarterly", 30: "Monthly"}


def review_text(days: int) -> str:
    """A band's review frequency in words ("Quarterly"), or in days when it has no common name."""
    return _REVIEW_WORDS.get(days, f"Every {days} days")


def band_range(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}–{high}"


def blank_row() -> Row:
    return Row([])


def section_row(theme: Theme, text: str) -> Row:
    """A heading above a table on a sheet that holds several."""
    return Row([(text, theme.section)], height=theme.section.size * 1.9)


def prose_row(theme: Theme, text: str, widths: Sequence[float], first: int = 1, look: Look | None = None) -> Row:
    """A long text merged across columns `first`..last, tall enough for its lines."""
    look = look or theme.prose
    width = sum(widths[first - 1 :])
    cells: list[PlanCell | None] = [None] * (first - 1) + [(text, look)]
    lines = text_lines(text, width, look.size)
    merges = ((first, len(widths)),) if len(widths) > first else ()
    return Row(cells, height=row_height(lines, look.size), merges=merges)


def wrapped_row(cells: Sequence[PlanCell | None], widths: Sequence[float]) -> Row:
    """A row of short cells whose height fits its tallest wrapped text."""
    lines = 1
    for index, cell in enumerate(cells):
        if cell is not None and isinstance(cell[0], str) and cell[1].wrap:
            lines = max(lines, text_lines(cell[0], widths[index], cell[1].size))
    return Row(cells, height=row_height(lines) if lines > 1 else None)


def title_rows(theme: Theme, title: str, subtitle: str, note: str, width: float, span: int) -> list[Row]:
    """The three rows above every table sheet: title, subtitle, note (row 3 may be empty)."""
    rows = [
        Row([(title, theme.title)], height=theme.title.size * 1.6),
        Row([(subtitle, theme.subtitle)]),
    ]
    if note:
        lines = text_lines(note, width, theme.note.size)
        rows.append(Row([(note, theme.note_wrap)], height=row_height(lines), merges=((1, span),) if span > 1 else ()))
    else:
        rows.append(Row([]))
    return rows


# A column of width w is w * 7 + 5 pixels wide at 96 dpi, i.e. this many points per unit, plus padding.
POINTS_PER_WIDTH_UNIT = 5.25
POINTS_PER_COLUMN = 3.75


def pages_wide(widths: Sequence[float], repeat: int, printable_pt: float, min_scale: int) -> int:
    """How many pages wide a sheet prints so that fitting it to width never shrinks below `min_scale`."""
    sizes = [w * POINTS_PER_WIDTH_UNIT + POINTS_PER_COLUMN for w in widths]
    total, repeated = sum(sizes), sum(sizes[:repeat])
    scale = min_scale / 100
    if total * scale <= printable_pt:
        return 1
    room = printable_pt - repeated * scale  # what each page has left beside the repeated columns
    if room <= 0:
        return max(1, math.ceil(total * scale / printable_pt))
    return max(1, math.ceil((total - repeated) * scale / room))


def column_letter(index: int) -> str:
    """Excel's name of the column at `index` (1 = A, 27 = AA)."""
    letters = ""
    while index > 0:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def cell_values(rows: Iterable[Row]) -> list[list[Any]]:
    """The values of planned rows (for tests and debugging)."""
    return [[c[0] if c is not None else None for c in row.cells] for row in rows]
