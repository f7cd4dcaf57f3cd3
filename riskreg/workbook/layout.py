"""The Council workbook layout (`exports/council.toml`) read into validated, frozen data.

Pure. The secretariat edits the TOML file, never Python, so every mistake must come back
as one sentence naming the file and the key: an unknown key (a typo would otherwise be
ignored silently), a column naming a field the workbook does not know, a sheet name Excel
refuses, a placeholder that does not exist. The format is described in `exports/README.md`.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskreg.workbook.fields import (
    ACTION_FIELDS,
    BANDS_FIELD,
    CATEGORY_FIELDS,
    LABEL_GROUPS,
    MOVEMENT_FIELDS,
    PIVOT_FIELDS,
    RISK_FIELDS,
    UNIT_PIVOT_FIELDS,
    Field,
)

AUDIENCES = ("council", "taskforce")

# Names a text may use as {placeholder}; page, pages and sheet only mean something in headers and footers.
PLACEHOLDERS = frozenset(
    {
        "organisation",
        "session",
        "symbol",
        "annex",
        "classification",
        "cycle",
        "previous_cycle",
        "as_at",
        "prepared_by",
        "generated_at",
        "audience",
        "statement_version",
        "scales_version",
    }
)
PAGE_PLACEHOLDERS = frozenset({"page", "pages", "sheet"})

PAPER_SIZES = {"A4": 9, "A3": 8, "letter": 1, "legal": 5}  # Excel's paperSize codes
PAPER_POINTS = {"A4": (595.3, 841.9), "A3": (841.9, 1190.6), "letter": (612.0, 792.0), "legal": (612.0, 1008.0)}
MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class LayoutError(ValueError):
    """A layout file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Column:
    """One table column: its header, the field it shows and how it looks."""

    header: str
    field: str
    width: float
    number_format: str = ""  # empty: the [formats] default for the field's kind
    wrap: bool | None = None  # None: wrap prose fields only
    audiences: frozenset[str] = frozenset(AUDIENCES)


@dataclass(frozen=True)
class Definition:
    term: str
    text: str


@dataclass(frozen=True)
class SheetLayout:
    """One sheet: its tab name, title line and tables; unused keys keep their defaults."""

    key: str
    name: str
    title: str
    description: str = ""
    note: str = ""
    columns: tuple[Column, ...] = ()
    category_columns: tuple[Column, ...] = ()
    widths: tuple[float, ...] = ()
    freeze_columns: int = 0
    top_count: int = 10
    label_width: float = 30
    value_width: float = 100
    cell_width: float = 17
    max_refs_per_cell: int = 6
    image_width_px: int = 520
    definitions: tuple[Definition, ...] = ()

    def columns_for(self, audience: str, table: str = "columns") -> tuple[Column, ...]:
        columns: tuple[Column, ...] = getattr(self, table)
        return tuple(c for c in columns if audience in c.audiences)


@dataclass(frozen=True)
class ZoneColours:
    fill: str
    font: str


@dataclass(frozen=True)
class Style:
    font: str = "Arial"
    font_size: float = 10
    title_size: float = 14
    header_fill: str = "#1F3864"
    header_font: str = "#FFFFFF"
    border: str = "#A6A6A6"
    note_font: str = "#404040"
    overdue_fill: str = "#F8CBAD"
    overdue_font: str = "#9C0006"
    zones: Mapping[str, ZoneColours] = field(default_factory=dict)


@dataclass(frozen=True)
class Formats:
    date: str = "dd mmm yyyy"
    datetime: str = "dd mmm yyyy hh:mm"
    integer: str = "0"
    decimal: str = "0.0"
    percent: str = '0"%"'


@dataclass(frozen=True)
class Margins:
    left: float = 1.5
    right: float = 1.5
    top: float = 2.0
    bottom: float = 1.8
    header: float = 0.8
    footer: float = 0.8


@dataclass(frozen=True)
class PrintSetup:
    paper: str = "A4"
    orientation: str = "landscape"
    fit_to_width: bool = True
    min_scale: int = 70  # percent; a sheet that would print smaller spreads over more pages wide
    margins_cm: Margins = Margins()
    font_size: float = 8
    header_left: str = ""
    header_center: str = ""
    header_right: str = ""
    footer_left: str = ""
    footer_center: str = "Page {page} of {pages}"
    footer_right: str = ""

    @property
    def paper_code(self) -> int:
        return PAPER_SIZES[self.paper]

    @property
    def printable_width_pt(self) -> float:
        short, long = PAPER_POINTS[self.paper]
        paper = long if self.orientation == "landscape" else short
        return paper - (self.margins_cm.left + self.margins_cm.right) / 2.54 * 72


@dataclass(frozen=True)
class Audience:
    description: str
    min_band: str = ""  # council: risks in this residual band or higher are shown


@dataclass(frozen=True)
class Layout:
    """A validated Council workbook layout."""

    source: str
    title: str
    subject: str
    creator: str
    keywords: tuple[str, ...]
    style: Style
    formats: Formats
    print: PrintSetup
    audiences: Mapping[str, Audience]
    labels: Mapping[str, Mapping[str, str]]
    sheets: tuple[SheetLayout, ...]

    def sheet(self, key: str) -> SheetLayout | None:
        for sheet in self.sheets:
            if sheet.key == key:
                return sheet
        return None


# Which table keys each kind of sheet has, and the field vocabulary of each table.
_TABLES: Mapping[str, Mapping[str, Mapping[str, Field[Any]]]] = {
    "cover": {},
    "summary": {"columns": RISK_FIELDS},
    "heatmap": {},
    "register": {"columns": RISK_FIELDS},
    "appetite": {"columns": RISK_FIELDS, "category_columns": CATEGORY_FIELDS},
    "movement": {"columns": MOVEMENT_FIELDS},
    "actions": {"columns": ACTION_FIELDS},
    "by_category": {"columns": PIVOT_FIELDS},
    "by_unit": {"columns": UNIT_PIVOT_FIELDS},
    "oversight": {},
    "methodology": {},
}
SHEET_KINDS = tuple(_TABLES)
_COMMON_SHEET_KEYS = {"name", "title", "description", "note", "widths"}
_EXTRA_SHEET_KEYS: Mapping[str, set[str]] = {
    "cover": {"label_width", "value_width"},
    "summary": {"top_count"},
    "heatmap": {"cell_width", "max_refs_per_cell", "image_width_px"},
    "register": {"freeze_columns"},
    "actions": {"freeze_columns"},
    "methodology": {"definitions"},
}
_TOP_KEYS = {"version", "document", "style", "formats", "print", "audience", "labels", "order", "sheets"}


def load_layout(path: Path | str) -> Layout:
    """Read and validate a layout TOML file; errors name the file and the key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LayoutError(f"{path}: cannot read file ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise LayoutError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{path}: not valid TOML ({exc})") from exc
    return parse_layout(data, source=str(path))


def parse_layout(data: Mapping[str, Any], source: str = "<layout>") -> Layout:
    """Validate a parsed layout document."""
    r = _Reader(source)
    r.known_keys(data, _TOP_KEYS, "")
    version = data.get("version", 1)
    if version != 1:
        raise r.fail("version", f"this RiskReg reads layout version 1, not {version!r}")
    document = r.table(data, "document")
    r.known_keys(document, {"title", "subject", "creator", "keywords"}, "document.")
    keywords = r.text_list(document, "keywords", "document.")
    for position, keyword in enumerate(keywords, start=1):
        r.check_placeholders(keyword, f"document.keywords[{position}]")
    return Layout(
        source=source,
        title=r.template(document, "title", "document.", required=True),
        subject=r.template(document, "subject", "document."),
        creator=r.template(document, "creator", "document."),
        keywords=tuple(keywords),
        style=_style(r, r.table(data, "style")),
        formats=_formats(r, r.table(data, "formats")),
        print=_print(r, r.table(data, "print")),
        audiences=_audiences(r, r.table(data, "audience")),
        labels=_labels(r, r.table(data, "labels")),
        sheets=_sheets(r, data),
    )


class _Reader:
    """Typed access to the parsed TOML with messages naming the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> LayoutError:
        return LayoutError(f"{self.source}: {key}: {problem}")

    def known_keys(self, data: Mapping[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(f"{where}{unknown[0]}", f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def table(self, data: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"{where}{key}", "must be a table")
        return value

    def text(self, data: Mapping[str, Any], key: str, where: str, *, required: bool = False, default: str = "") -> str:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"{where}{key}", "is missing")
            return default
        if not isinstance(value, str):
            raise self.fail(f"{where}{key}", f"must be a text in quotes, not {value!r}")
        if required and not value.strip():
            raise self.fail(f"{where}{key}", "must not be empty")
        return value

    def template(
        self,
        data: Mapping[str, Any],
        key: str,
        where: str,
        *,
        required: bool = False,
        page: bool = False,
        default: str = "",
    ) -> str:
        value = self.text(data, key, where, required=required, default=default)
        self.check_placeholders(value, f"{where}{key}", page=page)
        return value

    def check_placeholders(
        self, text: str, key: str, *, page: bool = False, extra: frozenset[str] = frozenset()
    ) -> None:
        allowed = PLACEHOLDERS | (PAGE_PLACEHOLDERS if page else frozenset()) | extra
        try:
            names = [name for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise self.fail(key, f"has a stray brace ({exc}); write {{{{ or }}}} for a literal brace") from None
        for name in names:
            if name not in allowed:
                known = ", ".join(f"{{{n}}}" for n in sorted(allowed))
                raise self.fail(key, f"unknown placeholder {{{name}}} (known: {known})")

    def number(self, data: Mapping[str, Any], key: str, where: str, default: float, low: float, high: float) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"{where}{key}", f"must be a number, not {value!r}")
        if not low <= value <= high:
            raise self.fail(f"{where}{key}", f"must be between {low:g} and {high:g}, not {value:g}")
        return float(value)

    def integer(self, data: Mapping[str, Any], key: str, where: str, default: int, low: int, high: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where}{key}", f"must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise self.fail(f"{where}{key}", f"must be between {low} and {high}, not {value}")
        return value

    def boolean(self, data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{where}{key}", f"must be true or false, not {value!r}")
        return value

    def colour(self, data: Mapping[str, Any], key: str, where: str, default: str) -> str:
        value = self.text(data, key, where, default=default)
        if not _COLOUR.match(value):
            raise self.fail(f"{where}{key}", f"must be a colour like #1F3864, not {value!r}")
        return value.upper()

    def text_list(self, data: Mapping[str, Any], key: str, where: str) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}{key}", 'must be a list of texts, like ["a", "b"]')
        return value

    def table_list(self, data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"{where}{key}", f"must be a list of [[{where}{key}]] tables")
        return value


def _style(r: _Reader, data: Mapping[str, Any]) -> Style:
    w = "style."
    defaults = Style()
    r.known_keys(data, {*Style.__dataclass_fields__}, w)
    zones_data = r.table(data, "zones", w)
    zones = {}
    for code in ("within_appetite", "above_appetite", "outside_tolerance", "not_evaluated"):
        entry = r.table(zones_data, code, f"{w}zones.")
        r.known_keys(entry, {"fill", "font"}, f"{w}zones.{code}.")
        zones[code] = ZoneColours(
            r.colour(entry, "fill", f"{w}zones.{code}.", "#FFFFFF"),
            r.colour(entry, "font", f"{w}zones.{code}.", "#000000"),
        )
    r.known_keys(zones_data, set(zones), f"{w}zones.")
    return Style(
        font=r.text(data, "font", w, default=defaults.font) or defaults.font,
        font_size=r.number(data, "font_size", w, defaults.font_size, 6, 20),
        title_size=r.number(data, "title_size", w, defaults.title_size, 8, 28),
        header_fill=r.colour(data, "header_fill", w, defaults.header_fill),
        header_font=r.colour(data, "header_font", w, defaults.header_font),
        border=r.colour(data, "border", w, defaults.border),
        note_font=r.colour(data, "note_font", w, defaults.note_font),
        overdue_fill=r.colour(data, "overdue_fill", w, defaults.overdue_fill),
        overdue_font=r.colour(data, "overdue_font", w, defaults.overdue_font),
        zones=zones,
    )


def _formats(r: _Reader, data: Mapping[str, Any]) -> Formats:
    defaults = Formats()
    r.known_keys(data, {*Formats.__dataclass_fields__}, "formats.")
    values = {
        key: r.text(data, key, "formats.", default=getattr(defaults, key)) for key in Formats.__dataclass_fields__
    }
    for key, value in values.items():
        if not value.strip():
            raise r.fail(f"formats.{key}", "must not be empty")
    return Formats(**values)


def _print(r: _Reader, data: Mapping[str, Any]) -> PrintSetup:
    w = "print."
    r.known_keys(data, {*PrintSetup.__dataclass_fields__}, w)
    paper = r.text(data, "paper", w, default="A4")
    if paper not in PAPER_SIZES:
        raise r.fail(f"{w}paper", f"must be one of {', '.join(PAPER_SIZES)}, not {paper!r}")
    orientation = r.text(data, "orientation", w, default="landscape")
    if orientation not in ("landscape", "portrait"):
        raise r.fail(f"{w}orientation", f"must be landscape or portrait, not {orientation!r}")
    margins = r.table(data, "margins_cm", w)
    r.known_keys(margins, {*Margins.__dataclass_fields__}, f"{w}margins_cm.")
    default_margins = Margins()
    texts = {
        key: r.template(data, key, w, page=True, default=getattr(PrintSetup(), key))
        for key in ("header_left", "header_center", "header_right", "footer_left", "footer_center", "footer_right")
    }
    return PrintSetup(
        paper=paper,
        orientation=orientation,
        fit_to_width=r.boolean(data, "fit_to_width", w, True),
        min_scale=r.integer(data, "min_scale", w, 70, 10, 100),
        margins_cm=Margins(
            **{
                key: r.number(margins, key, f"{w}margins_cm.", getattr(default_margins, key), 0, 10)
                for key in Margins.__dataclass_fields__
            }
        ),
        font_size=r.number(data, "font_size", w, 8, 5, 20),
        **texts,
    )


def _audiences(r: _Reader, data: Mapping[str, Any]) -> Mapping[str, Audience]:
    r.known_keys(data, set(AUDIENCES), "audience.")
    result = {}
    for name in AUDIENCES:
        entry = r.table(data, name, "audience.")
        w = f"audience.{name}."
        r.known_keys(entry, {"description", "min_band"} if name == "council" else {"description"}, w)
        result[name] = Audience(
            description=r.template(entry, "description", w, required=True),
            min_band=r.text(entry, "min_band", w, required=name == "council"),
        )
    return result


def _labels(r: _Reader, data: Mapping[str, Any]) -> Mapping[str, Mapping[str, str]]:
    r.known_keys(data, set(LABEL_GROUPS), "labels.")
    result = {}
    for group, entries in data.items():
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise r.fail(f"labels.{group}", 'must be a table of texts, like increased = "▲ Increased"')
        result[group] = dict(entries)
    return result


def _sheets(r: _Reader, data: Mapping[str, Any]) -> tuple[SheetLayout, ...]:
    order = r.text_list(data, "order", "")
    if not order:
        raise r.fail("order", 'must list the sheets in workbook order, e.g. order = ["cover", "register"]')
    sheets_data = r.table(data, "sheets")
    for key in order:
        if key not in _TABLES:
            raise r.fail("order", f"unknown sheet {key!r} (known: {', '.join(SHEET_KINDS)})")
        if key not in sheets_data:
            raise r.fail(f"sheets.{key}", "is listed in order but has no [sheets." + key + "] table")
    if len(set(order)) != len(order):
        raise r.fail("order", "lists a sheet twice")
    for key in sheets_data:
        if key not in order:
            raise r.fail(f"sheets.{key}", "is not listed in order (add it there or delete the table)")
    sheets = [_sheet(r, key, r.table(sheets_data, key, "sheets.")) for key in order]
    names = [s.name.casefold() for s in sheets]
    for sheet in sheets:
        if names.count(sheet.name.casefold()) > 1:
            raise r.fail(f"sheets.{sheet.key}.name", f"{sheet.name!r} is used by two sheets (Excel ignores case)")
    return tuple(sheets)


def _sheet(r: _Reader, key: str, data: Mapping[str, Any]) -> SheetLayout:
    w = f"sheets.{key}."
    tables = _TABLES[key]
    r.known_keys(data, _COMMON_SHEET_KEYS | set(tables) | _EXTRA_SHEET_KEYS.get(key, set()), w)
    widths = data.get("widths", [])
    if not isinstance(widths, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 255 for v in widths
    ):
        raise r.fail(f"{w}widths", "must be a list of column widths between 0 and 255")
    values: dict[str, Any] = {
        "key": key,
        "name": _sheet_name(r, data, w),
        "title": r.template(data, "title", w, required=True),
        "description": r.template(data, "description", w),
        "note": r.template(data, "note", w),
        "widths": tuple(float(v) for v in widths),
    }
    for table, vocabulary in tables.items():
        values[table] = _columns(r, data, table, w, vocabulary)
        if not values[table]:
            raise r.fail(f"{w}{table}", "must list at least one column")
    if key == "summary" and len(values["columns"]) < 4:
        raise r.fail(f"{w}columns", "needs at least 4 columns: the key-figure tables use the first four")
    values.update(_sheet_options(r, key, data, w, len(values.get("columns", ()))))
    return SheetLayout(**values)


def _sheet_name(r: _Reader, data: Mapping[str, Any], w: str) -> str:
    r"""A tab name Excel accepts: at most 31 characters, none of []:*?/\, no edge apostrophe or space."""
    name = r.text(data, "name", w, required=True)
    if len(name) > MAX_SHEET_NAME:
        raise r.fail(f"{w}name", f"{name!r} is {len(name)} characters; Excel allows at most {MAX_SHEET_NAME}")
    if _BAD_SHEET_CHARS.search(name) or name.startswith("'") or name.endswith("'") or name.strip() != name:
        raise r.fail(
            f"{w}name", f"{name!r}: a sheet name cannot contain [ ] : * ? / \\ or start or end with ' or a space"
        )
    if name.casefold() == "history":
        raise r.fail(f"{w}name", "Excel reserves the sheet name 'History'")
    return name


def _sheet_options(r: _Reader, key: str, data: Mapping[str, Any], w: str, columns: int) -> dict[str, Any]:
    """The settings only some kinds of sheet have."""
    if key in ("register", "actions"):
        return {"freeze_columns": r.integer(data, "freeze_columns", w, 0, 0, max(0, columns - 1))}
    if key == "summary":
        return {"top_count": r.integer(data, "top_count", w, 10, 1, 100)}
    if key == "cover":
        return {
            "label_width": r.number(data, "label_width", w, 30, 5, 100),
            "value_width": r.number(data, "value_width", w, 100, 20, 200),
        }
    if key == "heatmap":
        return {
            "cell_width": r.number(data, "cell_width", w, 17, 6, 60),
            "max_refs_per_cell": r.integer(data, "max_refs_per_cell", w, 6, 0, 50),
            "image_width_px": r.integer(data, "image_width_px", w, 520, 100, 2000),
        }
    if key == "methodology":
        return {"definitions": tuple(_definitions(r, data, w))}
    return {}


def _columns(
    r: _Reader, data: Mapping[str, Any], table: str, where: str, vocabulary: Mapping[str, Field[Any]]
) -> tuple[Column, ...]:
    columns = []
    for position, entry in enumerate(r.table_list(data, table, where), start=1):
        w = f"{where}{table}[{position}]."
        r.known_keys(entry, {"header", "field", "width", "format", "wrap", "audiences"}, w)
        name = r.text(entry, "field", w, required=True)
        if name not in vocabulary:
            raise r.fail(f"{w}field", f"unknown field {name!r} for this table (known: {', '.join(sorted(vocabulary))})")
        header = r.text(entry, "header", w, required=True)
        r.check_placeholders(header, f"{w}header", extra=frozenset({"band"}) if name == BANDS_FIELD else frozenset())
        audiences = r.text_list(entry, "audiences", w) or list(AUDIENCES)
        for audience in audiences:
            if audience not in AUDIENCES:
                raise r.fail(f"{w}audiences", f"unknown audience {audience!r} (known: {', '.join(AUDIENCES)})")
        wrap = entry.get("wrap")
        if wrap is not None and not isinstance(wrap, bool):
            raise r.fail(f"{w}wrap", f"must be true or false, not {wrap!r}")
        columns.append(
            Column(
                header=header,
                field=name,
                width=r.number(entry, "width", w, 12, 1, 255),
                number_format=r.text(entry, "format", w),
                wrap=wrap,
                audiences=frozenset(audiences),
            )
        )
    fields_used = [c.field for c in columns]
    if fields_used.count(BANDS_FIELD) > 1:
        raise r.fail(f"{where}{table}", "may use the bands field only once")
    return tuple(columns)


def _definitions(r: _Reader, data: Mapping[str, Any], where: str) -> list[Definition]:
    result = []
    for position, entry in enumerate(r.table_list(data, "definitions", where), start=1):
        w = f"{where}definitions[{position}]."
        r.known_keys(entry, {"term", "text"}, w)
        result.append(Definition(r.text(entry, "term", w, required=True), r.text(entry, "text", w, required=True)))
    return result


def widths_for(sheet: SheetLayout, *tables: Sequence[float]) -> list[float]:
    """Column widths of a sheet holding several tables: the widest claim per column wins."""
    count = max([len(sheet.widths), *(len(t) for t in tables)], default=0)
    widths = []
    for index in range(count):
        claims = [t[index] for t in tables if index < len(t)]
        if index < len(sheet.widths):
            claims.append(sheet.widths[index])
        widths.append(max(claims))
    return widths
