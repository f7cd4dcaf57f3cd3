"""Hostile files: each is refused (ImportRejected) or cleaned with a message, within 100 MB.

Every file is built here, byte by byte where openpyxl would refuse to write it. Memory is the tracemalloc
peak; time per file (target < 2 s) is measured by bench/hostile_bench.py, not asserted here, because these
machines are shared and noisy.
"""

from __future__ import annotations

import io
import random
import struct
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import openpyxl  # the importer imports it lazily; loading it here keeps its import time out of the timings
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskreg import paths
from riskreg.importer import ImportRejected, ImportResult, Limits, read_register
from riskreg.scoring import Scales, load_scales

SCALES = load_scales(paths.SCALES_FILE)
MAX_BYTES = 100 * 1024 * 1024
MIB = 1024 * 1024

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER = ("Ref", "Title", "Likelihood", "Impact")


def cell(ref: str, value: object) -> str:
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def row(number: int, values: tuple[object, ...]) -> str:
    cells = "".join(cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def register_rows() -> str:
    return row(1, HEADER) + row(2, ("R-1", "Power cut", 2, 3)) + row(3, ("R-2", "Flood", 1, 4))


def sheet(rows: str, *, prolog: str = "", extra: str = "") -> str:
    body = f"<worksheet {NS}>{extra}<sheetData>{rows}</sheetData></worksheet>"
    return f'<?xml version="1.0" encoding="UTF-8"?>{prolog}{body}'


def package(
    sheet_xml: str | bytes | None = None,
    *,
    strings: str | None = None,
    parts: dict[str, bytes] | None = None,
    content_types: str = "",
    workbook_xml: str | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
    sheet_path: str = "worksheets/sheet1.xml",
) -> bytes:
    """A minimal .xlsx: content types, relations, workbook, one sheet, optional shared strings and extra parts."""
    overrides = f'<Override PartName="/xl/workbook.xml" ContentType="{CT_MAIN}"/>'
    overrides += f'<Override PartName="/xl/{sheet_path}" ContentType="{CT_SHEET}"/>'
    wb_rels = f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="{sheet_path}"/>'
    if strings is not None:
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT_STRINGS}"/>'
        wb_rels += f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    files: dict[str, str | bytes] = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>{overrides}{content_types}'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": workbook_xml
        or (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {NS} {RNS}><sheets>'
            '<sheet name="Register" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships">{wb_rels}</Relationships>'
        ),
        f"xl/{sheet_path}": sheet_xml if sheet_xml is not None else sheet(register_rows()),
    }
    if strings is not None:
        files["xl/sharedStrings.xml"] = strings
    files.update(parts or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def billion_laughs(depth: int) -> str:
    entities = '<!ENTITY lol0 "lollollollollollollollollollol">'
    entities += "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, depth + 1))
    return f"<!DOCTYPE lolz [{entities}]>"


def patch_central_size(data: bytes, name: str, size: int) -> bytes:
    """Make the central directory lie about one entry's uncompressed size."""
    marker = b"PK\x01\x02"
    position = data.find(marker)
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + name_length] == name.encode():
            return data[: position + 24] + struct.pack("<I", size) + data[position + 28 :]
        position = data.find(marker, position + 4)
    raise AssertionError(name)


def zipped(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------ the corpus


def entity_bomb_in_sheet() -> bytes:
    return package(sheet(row(1, HEADER) + row(2, ("R-1", "&lol4;", 1, 1)), prolog=billion_laughs(4)))


def big_entity_bomb_in_sheet() -> bytes:
    return package(sheet(row(1, HEADER) + row(2, ("R-1", "&lol7;", 1, 1)), prolog=billion_laughs(7)))


def entity_bomb_in_shared_strings() -> bytes:
    strings = (
        f'<?xml version="1.0" encoding="UTF-8"?>{billion_laughs(5)}<sst {NS} count="1" uniqueCount="1">'
        "<si><t>&lol5;</t></si></sst>"
    )
    rows = row(1, HEADER) + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    return package(sheet(rows), strings=strings)


def external_entity() -> bytes:
    prolog = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return package(sheet(row(1, HEADER) + row(2, ("R-1", "&xxe;", 1, 1)), prolog=prolog))


def external_entity_in_workbook() -> bytes:
    workbook = (
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "http://127.0.0.1:1/x">]>'
        f'<workbook {NS} {RNS}><sheets><sheet name="&e;" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    return package(workbook_xml=workbook)


def entity_bomb_in_a_sheet_not_named_xml() -> bytes:
    rows = sheet(row(1, HEADER) + row(2, ("R-1", "&lol4;", 1, 1)), prolog=billion_laughs(4))
    return package(rows, sheet_path="data/register.dat")


def big_sheet_not_named_xml() -> bytes:
    rows = register_rows() + "".join(f'<row r="{n}"><c r="A{n}"><v>1</v></c></row>' for n in range(4, 60_000))
    return package(sheet(rows), sheet_path="data/register.dat")


def zip_bomb_by_ratio() -> bytes:
    padding = "<!-- " + " " * (20 * MIB) + " -->"
    return package(sheet(register_rows(), extra=padding))


def zip_bomb_by_entry_count() -> bytes:
    return package(parts={f"xl/media/image{i}.png": b"\x89PNG" for i in range(400)})


def zip_bomb_by_total_size() -> bytes:
    # Parts of exactly 1 MiB are below the size where the ratio is judged; together they unpack to 70 MiB.
    return package(parts={f"xl/custom/part{i}.xml": b" " * MIB for i in range(70)})


def lying_file_size() -> bytes:
    data = package(sheet(register_rows() + "".join(row(n, ("R", "x" * 50, 1, 1)) for n in range(4, 500))))
    return patch_central_size(data, "xl/worksheets/sheet1.xml", 100)


def lying_file_size_huge() -> bytes:
    return patch_central_size(package(), "xl/worksheets/sheet1.xml", 2**31)


def path_traversal_name() -> bytes:
    return package(parts={"../../etc/cron.d/evil.xml": b"<x/>"})


def absolute_path_name() -> bytes:
    return package(parts={"/etc/passwd": b"root"})


def duplicate_part_names() -> bytes:
    buffer = io.BytesIO(package())
    with zipfile.ZipFile(buffer, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def renamed_pdf() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 2000


def old_xls() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "Workbook".encode("utf-16-le") + b"\x00" * 3000


def encrypted_xlsx() -> bytes:
    body = "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le")
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + body + b"\x00" * 3000


def macro_workbook() -> bytes:
    return package(parts={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\x00" * 100})


def macro_content_type() -> bytes:
    main = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    return package(content_types=f'<Override PartName="/xl/other.xml" ContentType="{main}"/>')


def binary_workbook() -> bytes:
    return zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x00" * 10})


def word_document() -> bytes:
    return zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def opendocument() -> bytes:
    return zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})


def zero_bytes() -> bytes:
    return b""


def random_bytes() -> bytes:
    return random.Random(7).randbytes(200_000)


def truncated_workbook() -> bytes:
    data = package(sheet(register_rows() + "".join(row(n, ("R", "t" * 40, 1, 1)) for n in range(4, 2000))))
    return data[: len(data) // 2]


def million_rows_declared() -> bytes:
    extra = '<dimension ref="A1:XFD1048576"/>'
    rows = register_rows() + row(1048576, ("late", "x", 1, 1))
    return package(sheet(rows, extra=extra))


def million_empty_rows() -> bytes:
    rows = register_rows() + "".join(f'<row r="{n}"/>' for n in range(4, 1_048_577))
    return package(sheet(rows))


def many_rows() -> bytes:
    return package(
        sheet(register_rows() + "".join(f'<row r="{n}"><c r="A{n}"><v>1</v></c></row>' for n in range(4, 60_004)))
    )


def too_many_cells() -> bytes:
    cells = "".join(f'<c r="{chr(65 + i)}{{n}}"/>' for i in range(14))
    return package(sheet("".join(f'<row r="{n}">{cells.format(n=n)}</row>' for n in range(1, 40_001))))


def one_row_of_many_cells() -> bytes:
    cells = "".join(f'<c r="A4"><v>{n}</v></c>' for n in range(300_000))
    return package(sheet(register_rows() + f'<row r="4">{cells}</row>'))


def too_many_shared_strings() -> bytes:
    values = random.Random(5).randbytes(310_000 * 2).hex()
    items = "".join(f"<si><t>{values[i : i + 4]}</t></si>" for i in range(0, len(values), 4))
    strings = f'<?xml version="1.0"?><sst {NS}>{items}</sst>'
    return package(strings=strings)


def sixteen_thousand_columns() -> bytes:
    from openpyxl.utils import get_column_letter

    wide = "".join(f'<c r="{get_column_letter(i)}4"><v>{i}</v></c>' for i in range(1, 16_385))
    return package(sheet(register_rows() + f'<row r="4">{wide}</row>'))


def value_far_to_the_right() -> bytes:
    return package(sheet(register_rows() + '<row r="4"><c r="A4" t="inlineStr"><is><t>R-3</t></is></c>'
                         '<c r="XFD4"><v>1</v></c></row>'))  # fmt: skip


def huge_styles_part() -> bytes:
    noise = random.Random(3).randbytes(int(4.5 * MIB)).hex()  # 9 MB that does not compress: no zip bomb
    styles = f'<?xml version="1.0"?><styleSheet {NS}><!-- {noise} --></styleSheet>'
    return package(parts={"xl/styles.xml": styles.encode()}, compression=zipfile.ZIP_STORED)


def styles_bomb() -> bytes:
    rng = random.Random(2)
    xfs = "".join(f'<xf numFmtId="{rng.randint(0, 200)}" fontId="0" fillId="0" borderId="0"/>' for _ in range(90_000))
    styles = f'<?xml version="1.0"?><styleSheet {NS}><cellXfs count="90000">{xfs}</cellXfs></styleSheet>'
    return package(parts={"xl/styles.xml": styles.encode()})


def utf16_xml_part() -> bytes:
    return package(sheet(register_rows()).replace("UTF-8", "UTF-16").encode("utf-16"))


def bzip2_compressed() -> bytes:
    return package(compression=zipfile.ZIP_BZIP2)


def shared_string_index_out_of_range() -> bytes:
    strings = f'<?xml version="1.0"?><sst {NS}><si><t>Ref</t></si></sst>'
    rows = row(1, HEADER) + '<row r="2"><c r="A2" t="s"><v>99999</v></c><c r="B2" t="s"><v>-5</v></c></row>'
    return package(sheet(rows), strings=strings)


def malformed_sheet_xml() -> bytes:
    return package(sheet(register_rows()).replace("</sheetData>", "<row><c>"))


def missing_workbook_part() -> bytes:
    return zipped({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": sheet(register_rows()).encode()})


def control_characters() -> bytes:
    title = "Power_x000B_ cut\x01"  # an escaped vertical tab (as Excel writes it); a raw \x01 is not XML at all
    return package(sheet(row(1, HEADER) + row(2, ("R-1", title.replace("\x01", ""), 2, 3))))


def control_characters_csv() -> bytes:
    return b"Ref,Title,Likelihood,Impact\r\nR-1,Power\x0bcut\x07,2,3\r\n"


def forty_thousand_char_cell() -> bytes:
    return package(sheet(row(1, HEADER) + row(2, ("R-1", "x" * 40_000, 2, 3)) + row(3, ("R-2", "ok", 1, 1))))


def csv_in_utf16() -> bytes:
    return "Ref\tTitle\r\nR-1\tPower cut\r\n".encode("utf-16")


def huge_csv_line() -> bytes:
    return b"Ref,Title\r\n" + b"," * (2 * MIB)


def csv_field_too_long() -> bytes:
    return b'Ref,Title\r\nR-1,"' + b"x" * 200_000 + b'"\r\n'


def csv_with_nul() -> bytes:
    return b"Ref,Title\r\nR-1,Po\x00wer\r\n"


def html_as_spreadsheet() -> bytes:
    return b"<html><body><table><tr><td>Ref</td><td>Title</td></tr></table></body></html>"


def excel_2003_xml() -> bytes:
    return b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>'


def csv_many_columns() -> bytes:
    return ("Ref,Title," + ",".join(f"c{i}" for i in range(5000)) + "\r\nR-1,Power cut\r\n").encode()


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]
    filename: str
    expect: str  # "refused", or the text a warning or error of the accepted result must contain
    match: str = ""  # for "refused": text the refusal must contain


CORPUS = [
    Case(entity_bomb_in_sheet, "bomb.xlsx", "refused", "document type declaration"),
    Case(big_entity_bomb_in_sheet, "bomb7.xlsx", "refused", "document type declaration"),
    Case(entity_bomb_in_shared_strings, "sst.xlsx", "refused", "document type declaration"),
    Case(external_entity, "xxe.xlsx", "refused", "document type declaration"),
    Case(entity_bomb_in_a_sheet_not_named_xml, "dat.xlsx", "refused", "document type declaration"),
    Case(big_sheet_not_named_xml, "dat.xlsx", "refused", "unusually large"),
    Case(external_entity_in_workbook, "xxe-wb.xlsx", "refused", "document type declaration"),
    Case(zip_bomb_by_ratio, "ratio.xlsx", "refused", "zip bomb"),
    Case(zip_bomb_by_entry_count, "entries.xlsx", "refused", "parts"),
    Case(zip_bomb_by_total_size, "total.xlsx", "refused", "unpacks to"),
    Case(lying_file_size, "lie.xlsx", "refused", "damaged"),
    Case(lying_file_size_huge, "lie-big.xlsx", "refused", "zip bomb"),
    Case(path_traversal_name, "traversal.xlsx", "refused", "unsafe name"),
    Case(absolute_path_name, "absolute.xlsx", "refused", "unsafe name"),
    Case(duplicate_part_names, "dup.xlsx", "refused", "same name"),
    Case(renamed_pdf, "register.xlsx", "refused", "PDF"),
    Case(old_xls, "register.xls", "refused", ".xls"),
    Case(encrypted_xlsx, "secret.xlsx", "refused", "password"),
    Case(macro_workbook, "macro.xlsm", "refused", "macros"),
    Case(macro_content_type, "macro.xlsx", "refused", "macros"),
    Case(binary_workbook, "book.xlsb", "refused", ".xlsb"),
    Case(word_document, "register.xlsx", "refused", "Word"),
    Case(opendocument, "register.ods", "refused", "OpenDocument"),
    Case(zero_bytes, "empty.xlsx", "refused", "empty"),
    Case(random_bytes, "noise.xlsx", "refused", "binary"),
    Case(truncated_workbook, "cut.xlsx", "refused", "damaged"),
    Case(million_rows_declared, "dimension.xlsx", "stopped at row"),
    Case(million_empty_rows, "rows.xlsx", "refused", "rows"),
    Case(many_rows, "many.xlsx", "refused", "rows"),
    Case(too_many_cells, "cells.xlsx", "refused", "cells"),
    Case(one_row_of_many_cells, "row.xlsx", "refused", "holds more than 1,024 cells"),
    Case(too_many_shared_strings, "strings.xlsx", "refused", "text table"),
    Case(sixteen_thousand_columns, "wide.xlsx", "refused", "holds more than 1,024 cells"),
    Case(value_far_to_the_right, "far.xlsx", "beyond column GR, the last one read"),
    Case(huge_styles_part, "styles.xlsx", "refused", "unusually large"),
    Case(styles_bomb, "styles.xlsx", "refused", "unusually large"),
    Case(utf16_xml_part, "utf16.xlsx", "refused", "not UTF-8 XML"),
    Case(bzip2_compressed, "bz.xlsx", "refused", "compression"),
    Case(shared_string_index_out_of_range, "index.xlsx", "refused", "damaged"),
    Case(malformed_sheet_xml, "broken.xlsx", "refused", "damaged"),
    Case(missing_workbook_part, "noworkbook.xlsx", "refused", "not an Excel workbook"),
    Case(control_characters, "control.xlsx", "control characters were removed"),
    Case(control_characters_csv, "control.csv", "control characters were removed"),
    Case(forty_thousand_char_cell, "long.xlsx", "more than a spreadsheet cell can hold"),
    Case(csv_in_utf16, "unicode.csv", "refused", "UTF-16"),
    Case(huge_csv_line, "line.csv", "refused", "longer than"),
    Case(csv_field_too_long, "field.csv", "refused", "cannot be read"),
    Case(csv_with_nul, "nul.csv", "refused", "binary"),
    Case(html_as_spreadsheet, "register.xls", "refused", "web page"),
    Case(excel_2003_xml, "register.xml", "refused", "XML file"),
    Case(csv_many_columns, "wide.csv", "only the first 200 are read"),
]


def _messages(result: ImportResult) -> list[str]:
    notes = [*result.warnings]
    for imported in result.rows:
        notes += [n.message for n in (*imported.errors, *imported.warnings)]
    return notes


def _outcome(data: bytes, filename: str) -> ImportResult | ImportRejected:
    try:
        return read_register(data, filename, SCALES)
    except ImportRejected as refusal:
        return refusal


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20
    assert len({case.build for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.build.__name__ for c in CORPUS])
def test_hostile_file_is_refused_or_cleaned_within_memory(case: Case) -> None:
    data = case.build()
    outcome = _outcome(data, case.filename)
    if case.expect == "refused":
        assert isinstance(outcome, ImportRejected), f"{case.build.__name__} was accepted"
        assert case.match in outcome.message
    else:
        assert isinstance(outcome, ImportResult), f"{case.build.__name__} was refused: {outcome}"
        assert any(case.expect in message for message in _messages(outcome)), _messages(outcome)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        _outcome(data, case.filename)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_BYTES, f"{case.build.__name__} peaked at {peak / MIB:.0f} MB"


def test_refused_when_openpyxl_would_not_use_defusedxml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(ImportRejected, match="defusedxml"):
        read_register(package(), "ok.xlsx", SCALES)


def test_the_minimal_package_itself_is_accepted() -> None:
    for data in (package(), package(sheet_path="data/register.dat")):
        result = read_register(data, "ok.xlsx", SCALES)
        assert [r.ref for r in result.rows] == ["R-1", "R-2"]


def test_a_tight_time_budget_stops_reading() -> None:
    data = package(sheet(register_rows() + "".join(row(n, ("R", "t", 1, 1)) for n in range(4, 3000))))
    with pytest.raises(ImportRejected, match="longer than"):
        read_register(data, "slow.xlsx", SCALES, limits=Limits(max_seconds=0.0))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_workbooks_give_a_result_or_a_refusal_never_another_error(data: st.DataObject) -> None:
    original = bytearray(package())
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(original) // 2, len(original)))
    outcome = _outcome(bytes(original[:cut]), "fuzz.xlsx")
    assert isinstance(outcome, ImportResult | ImportRejected)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["x.csv", "x.xlsx", "x"]))
def test_arbitrary_bytes_give_a_result_or_a_refusal(data: bytes, filename: str) -> None:
    outcome = _outcome(data, filename)
    assert isinstance(outcome, ImportResult | ImportRejected)


def test_scales_fixture_is_the_bundled_one() -> None:
    assert isinstance(SCALES, Scales)
