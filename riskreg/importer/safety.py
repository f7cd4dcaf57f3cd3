"""Refusing hostile files before any parser sees them: size, type by content, archive structure, DTDs, time.

Pure: no Flask, no database, and no openpyxl either: everything here reads raw bytes with the standard
library. `check_archive` decompresses each XML part once, in chunks, so that the counts it reports (rows,
cells, shared strings) are the real ones, not what the file declares (security.md G2–G5).
"""

from __future__ import annotations

import io
import itertools
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Literal

FileKind = Literal["xlsx", "csv"]

MIB = 1024 * 1024
_CHUNK = MIB

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_OTHER_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
    (b"MZ", "a program"),
    (b"\x7fELF", "a program"),
)


class ImportRejected(Exception):  # noqa: N818 - the name the app and the issue use
    """A file the importer refuses, with a reason written for the person who uploaded it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    """How much the importer will read. The defaults take a 20,000-risk register and refuse far less.

    `max_rows` and `max_cells` are counted in the file's XML, not taken from its declared dimension;
    `max_ratio` is only judged for parts that expand beyond `ratio_floor`, since tiny parts say nothing.
    """

    max_bytes: int = 10 * MIB
    max_entries: int = 200
    max_uncompressed: int = 64 * MIB
    max_part_bytes: int = 1 * MIB  # an XML part other than a sheet or the shared strings (styles, workbook...)
    max_strings_bytes: int = 24 * MIB  # the shared-strings part (read as a stream, kept as a list of texts)
    max_ratio: int = 100
    ratio_floor: int = MIB
    max_rows: int = 50_000  # rows in the whole file
    max_columns: int = 200  # columns read per sheet; cells further right are ignored with a warning
    max_cells: int = 500_000  # cells in the whole file (about 5 s of openpyxl parsing here)
    max_row_cells: int = 1_024  # cells in one row; Excel writes a cell only where something is filled or formatted
    max_strings: int = 300_000  # entries of the shared-strings table
    max_line_chars: int = 500_000  # one physical line of a CSV file
    max_blank_run: int = 1_000  # consecutive empty rows that end a sheet
    header_rows: int = 30  # rows searched for the header
    max_seconds: float = 30.0  # a backstop: the counts above already bound the work; a busy server is slower


class Deadline:
    """A wall-clock budget, checked between chunks and rows (never inside one C call)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise ImportRejected(
                f"Reading the file took longer than {self.seconds:g} seconds and was stopped. "
                "Split the register into smaller files."
            )


def sniff(data: bytes, filename: str, limits: Limits) -> FileKind:
    """Decide from the bytes (not the name) whether this is a workbook, a CSV text, or something refused."""
    if not data:
        raise ImportRejected("The file is empty.")
    if len(data) > limits.max_bytes:
        raise ImportRejected(
            f"The file is {len(data) / MIB:.1f} MB; the import accepts files up to {limits.max_bytes / MIB:g} MB."
        )
    if data.startswith(OLE_MAGIC):
        if _ENCRYPTED_STREAM in data:
            raise ImportRejected(
                "The workbook is password-protected (encrypted). Remove the password in Excel "
                "(File > Info > Protect Workbook) and upload it again."
            )
        raise ImportRejected(
            "This is an old Excel 97-2003 file (.xls) or another Office binary file. "
            "Open it in Excel and save it as an Excel Workbook (.xlsx)."
        )
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "xlsx"
    for magic, what in _OTHER_MAGIC:
        if data.startswith(magic):
            raise ImportRejected(
                f"This file is {what}, not a spreadsheet. Upload an Excel workbook (.xlsx) or a CSV file."
            )
    return _sniff_text(data, filename)


def _sniff_text(data: bytes, filename: str) -> FileKind:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"\x00\x00\xfe\xff",):
        raise ImportRejected(
            'The text file is saved as UTF-16 ("Unicode Text"). Save it as "CSV UTF-8 (comma delimited)" instead.'
        )
    if b"\x00" in data[:65536]:
        raise ImportRejected(
            "The file is neither an Excel workbook (.xlsx) nor a CSV text file. "
            f"(It is named {_shown_name(filename)}, but its content is binary.)"
        )
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<head", b"<body")):
        raise ImportRejected(
            "This is a web page (HTML) saved with a spreadsheet name, as some systems export it. "
            "Open it in Excel and save it as an Excel Workbook (.xlsx)."
        )
    if head.startswith((b"<?xml", b"<")):
        raise ImportRejected(
            "This is an XML file (perhaps an Excel 2003 XML spreadsheet). "
            "Open it in Excel and save it as an Excel Workbook (.xlsx)."
        )
    return "csv"


def _shown_name(filename: str) -> str:
    """The last path component, shortened: the name is shown to the user, never used as a path."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return repr(name[:80])


# ---------------------------------------------------------------------------------------------- archives


@dataclass
class ArchiveStats:
    """What the pre-check counted inside the workbook's XML."""

    rows: int = 0
    cells: int = 0
    strings: int = 0
    beyond_columns: bool = False  # a cell reference names a column past Limits.max_columns
    widest_row: int = 0  # most cells in one row
    _run: int = 0  # cells counted since the last row tag (a row may span two blocks)
    uncached_formulas: int = 0  # formula cells without a saved value (read as empty)
    entries: int = 0
    uncompressed: int = 0


_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|si)[\s/>]")
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:row|c|si)[\s/>]")
_ROW_TAGS = tuple(b"<row" + end for end in (b" ", b">", b"/", b"\n", b"\r", b"\t"))
_CELL_TAGS = tuple(b"<c" + end for end in (b" ", b">", b"/", b"\n", b"\r", b"\t"))
_STRING_TAGS = tuple(b"<si" + end for end in (b" ", b">", b"/", b"\n", b"\r", b"\t"))
_UNCACHED = re.compile(rb"</(?:[\w.-]+:)?f>\s*</(?:[\w.-]+:)?c>|<(?:[\w.-]+:)?f\b[^<>]*/>\s*</(?:[\w.-]+:)?c>")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")


def check_archive(data: bytes, limits: Limits, deadline: Deadline) -> ArchiveStats:
    """Refuse anything about the zip that is not an ordinary .xlsx, then count what its XML really holds."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, IndexError) as exc:
        raise ImportRejected("The file is damaged: it is not a readable .xlsx workbook.") from exc
    with archive:
        infos = archive.infolist()
        _check_entries(infos, limits)
        names = {info.filename.lower() for info in infos}
        _check_package(archive, names)
        stats = ArchiveStats(entries=len(infos), uncompressed=sum(info.file_size for info in infos))
        for info in infos:
            deadline.check()
            # Every part is looked at, whatever its name: the relations may point a sheet at "sheet1.dat".
            with archive.open(info) as stream:
                _scan_part(stream, info, stats, limits, deadline)
    return stats


def _check_entries(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(infos) > limits.max_entries:
        raise ImportRejected(
            f"The workbook holds {len(infos):,} parts; an ordinary workbook has a few dozen "
            f"(the import accepts up to {limits.max_entries})."
        )
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if "\x00" in name or name.startswith(("/", "\\")) or "\\" in name or _DRIVE.match(name) or ".." in parts:
            raise ImportRejected(
                f"The workbook contains a part with an unsafe name ({name[:80]!r}); it is not accepted."
            )
        if name.lower() in seen:
            raise ImportRejected("The workbook contains two parts with the same name; it is not accepted.")
        seen.add(name.lower())
        if info.flag_bits & 0x1:
            raise ImportRejected("The workbook's parts are password-protected (encrypted); remove the password first.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ImportRejected("The workbook uses an unusual compression method; save it again from Excel.")
        total += info.file_size
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ImportRejected(
                f"The part {name[:80]!r} expands {info.file_size // max(info.compress_size, 1):,} times when "
                'unpacked (a "zip bomb"); the file is not accepted.'
            )
    if total > limits.max_uncompressed:
        raise ImportRejected(
            f"The workbook unpacks to {total / MIB:,.0f} MB; the import accepts up to "
            f"{limits.max_uncompressed / MIB:g} MB. Save the register table alone as a new workbook or as CSV."
        )


def _check_package(archive: zipfile.ZipFile, names: set[str]) -> None:
    if "[content_types].xml" not in names:
        if "mimetype" in names:
            raise ImportRejected(
                "This is an OpenDocument file (LibreOffice/OpenOffice). Save it as an Excel Workbook (.xlsx)."
            )
        raise ImportRejected("This is a zip archive, not an Excel workbook (.xlsx).")
    if "word/document.xml" in names:
        raise ImportRejected("This is a Word document, not an Excel workbook.")
    if "ppt/presentation.xml" in names:
        raise ImportRejected("This is a PowerPoint presentation, not an Excel workbook.")
    if "xl/workbook.bin" in names:
        raise ImportRejected("This is an Excel Binary Workbook (.xlsb). Save it as an Excel Workbook (.xlsx).")
    if any(name.endswith("vbaproject.bin") for name in names):
        raise _macro_refusal()
    if "xl/workbook.xml" not in names:
        raise ImportRejected("The file is an Office package but not an Excel workbook (no workbook part).")
    info = next(i for i in archive.infolist() if i.filename.lower() == "[content_types].xml")
    if info.file_size > MIB:
        raise ImportRejected("The workbook's content list is unusually large; the file is not accepted.")
    content_types = archive.read(info)
    if b"macroenabled" in content_types.lower() or b"vbaproject" in content_types.lower():
        raise _macro_refusal()


def _macro_refusal() -> ImportRejected:
    return ImportRejected(
        "The workbook contains macros (.xlsm). Macro workbooks are not accepted: "
        "save a copy as an Excel Workbook (.xlsx) and upload that."
    )


def _scan_part(
    stream: IO[bytes], info: zipfile.ZipInfo, stats: ArchiveStats, limits: Limits, deadline: Deadline
) -> None:
    # Rows, cells and strings are counted in every XML part, wherever the workbook's relations put
    # the sheets: a sheet hidden under another name is counted all the same.
    name = info.filename[:80]
    blocks = _blocks(stream, deadline)
    first = next(blocks, b"")
    head = first.lstrip(b"\xef\xbb\xbf \t\r\n")
    if first.startswith((b"\xff\xfe", b"\xfe\xff")) or (head[:1] == b"<" and b"\x00" in head[:8]):
        # Excel always writes UTF-8; another encoding would also hide a DTD from the byte scan below.
        raise ImportRejected(f"The workbook part {name!r} is not UTF-8 XML; the file is not accepted.")
    if head[:1] != b"<":
        return  # not XML (an image, printer settings): openpyxl's read-only mode never parses it
    lower = info.filename.lower()
    # openpyxl builds a whole tree (and an object per style) for parts such as styles.xml: 8 MB of
    # styles took 2.4 s and 156 MB here, so they get a much smaller cap than sheets and strings.
    cap = limits.max_strings_bytes if "sharedstrings" in lower else limits.max_part_bytes
    if not lower.startswith("xl/worksheets/") and info.file_size > cap:
        raise ImportRejected(
            f"The workbook part {name!r} is unusually large ({info.file_size / MIB:.1f} MB). "
            "Save the register in a new workbook (copy the table only) or as CSV, and upload that."
        )
    beyond = _beyond_column(limits.max_columns)
    for block in itertools.chain((first,), blocks):
        if b"<!" in block and _DTD.search(block):
            raise ImportRejected(
                "The workbook contains an XML document type declaration (DTD). Excel never writes one, and it is "
                "how XML entity attacks work, so the file is not accepted."
            )
        if _count_tags(block, stats):
            stats.beyond_columns = stats.beyond_columns or any(p.search(block) for p in beyond)
            if b"f>" in block or b"<f" in block or b":f" in block:
                stats.uncached_formulas += len(_UNCACHED.findall(block))
            _check_counts(stats, limits)  # refuse as soon as a count is over, without unpacking the rest


def _count_tags(block: bytes, stats: ArchiveStats) -> bool:
    """Count rows, cells and shared strings in a block; False when it has none of them."""
    if (b":row" in block or b":c" in block or b":si" in block) and _PREFIXED.search(block):
        # Namespace-prefixed tags (<x:c>) are legal but rare: count them with the slower regex.
        tags = _TAG.findall(block)
        rows, cells, strings = tags.count(b"row"), tags.count(b"c"), tags.count(b"si")
        runs = b"".join(b"\n" if t == b"row" else b"c" for t in tags if t != b"si").split(b"\n")
        lengths = [len(run) for run in runs]
    else:
        # bytes.count allocates nothing, so this stays fast on a million tags (and under tracemalloc).
        rows = sum(block.count(tag) for tag in _ROW_TAGS)
        cells = sum(block.count(tag) for tag in _CELL_TAGS)
        strings = sum(block.count(tag) for tag in _STRING_TAGS)
        # Per row, one count of "<c" is enough: inside sheetData nothing else starts with it, and the odd
        # <cols> or <cfRule> around sheetData can only make a row look wider, never narrower.
        lengths = [piece.count(b"<c") for piece in block.split(b"<row")] if cells else [0]
    stats.rows += rows
    stats.cells += cells
    stats.strings += strings
    # The first run continues the row left open by the previous block; the last one stays open.
    if len(lengths) == 1:
        stats._run += lengths[0]
    else:
        stats.widest_row = max(stats.widest_row, stats._run + lengths[0], *lengths[1:-1])
        stats._run = lengths[-1]
    stats.widest_row = max(stats.widest_row, stats._run)
    return bool(rows or cells or strings)


def _blocks(stream: IO[bytes], deadline: Deadline) -> Iterator[bytes]:
    """Decompressed data in blocks that end just after a '>', so no tag is split between two blocks."""
    carry = b""
    while True:
        deadline.check()
        chunk = stream.read(_CHUNK)
        if not chunk:
            if carry:
                yield carry
            return
        buffer = carry + chunk
        cut = buffer.rfind(b">") + 1
        if cut == 0:
            # No tag end in a whole chunk (a huge text run): keep only a short tail, enough for any pattern.
            cut = max(0, len(buffer) - 64)
        yield buffer[:cut]
        carry = buffer[cut:]


def _beyond_column(max_columns: int) -> tuple[re.Pattern[bytes], ...]:
    """Patterns for a cell reference whose column lies past `max_columns` (GS1 or AAA7 for 200).

    Each starts with a literal (r=" or r='), which the regex engine finds quickly.
    """
    letters, number = "", max_columns
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    options = [f"[A-Z]{{{len(letters) + 1},3}}"] if len(letters) < 3 else []
    for i, letter in enumerate(letters):
        if letter != "Z":
            options.append(f"{letters[:i]}[{chr(ord(letter) + 1)}-Z][A-Z]{{{len(letters) - i - 1}}}")
    alternatives = "|".join(options)
    return tuple(re.compile(rf"{quote}(?:{alternatives})[0-9]".encode()) for quote in ('r="', "r='"))


def _check_counts(stats: ArchiveStats, limits: Limits) -> None:
    if stats.rows > limits.max_rows:
        raise ImportRejected(
            f"The workbook has more than {limits.max_rows:,} rows, the most the import reads. "
            "Delete empty formatted rows below the table (or save the register table alone) and try again."
        )
    if stats.cells > limits.max_cells:
        raise ImportRejected(
            f"The workbook has more than {limits.max_cells:,} cells, the most the import reads. "
            "Save the register table alone as a new workbook or as CSV."
        )
    if stats.widest_row > limits.max_row_cells:
        raise ImportRejected(
            f"A row of the workbook holds more than {limits.max_row_cells:,} cells; a register row has a few dozen. "
            "Clear the cells and formatting to the right "
            "of the table, or save the register table alone, and try again."
        )
    if stats.strings > limits.max_strings:
        raise ImportRejected(
            f"The workbook's text table has more than {limits.max_strings:,} entries, the most the import accepts. "
            "Save the register table alone as a new workbook or as CSV."
        )
