from __future__ import annotations

import ast
import re
import struct
import subprocess
import sys
import tomllib
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from riskreg import paths
from riskreg.appetite import judge, load_categories, load_statement
from riskreg.movement import compare
from riskreg.scoring import load_scales
from riskreg.snapshot import ActionRow, RiskRow, Snapshot
from riskreg.workbook import (
    CouncilInputs,
    Layout,
    LayoutError,
    build_council_workbook,
    load_layout,
    parse_layout,
    rows_for_audience,
)
from riskreg.workbook.cells import MAX_CELL_CHARS, clean_text, needs_quote_prefix

SCALES = load_scales(paths.SCALES_FILE)
CATEGORIES = load_categories(paths.CATEGORIES_FILE)
STATEMENT = load_statement(paths.STATEMENTS_DIR / "2.0.toml", SCALES, [c.code for c in CATEGORIES])
LAYOUT = load_layout(paths.COUNCIL_LAYOUT)
AS_AT = date(2026, 3, 31)
GENERATED = datetime(2026, 4, 20, 9, 30, tzinfo=UTC)
HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"click\")", "@SUM(A1:A9)", "-1+1", "+CMD|' /C calc'!A0", "\t=1+1",
           "＝1+1", "＋1", "－1", "＠SUM(1)", "\n=2", "  =3"]  # fmt: skip

# ------------------------------------------------------------------------------ factories


def make_action(risk_ref: str, number: int = 1, **fields: Any) -> ActionRow:
    values: dict[str, Any] = {
        "ref": f"{risk_ref}-A{number}",
        "risk_ref": risk_ref,
        "description": f"Action {number} on {risk_ref}",
        "owner_title": "Head, Treasury Unit",
        "unit_code": "GS-FRMD",
        "due_date": AS_AT + timedelta(days=60),
        "revised_due_date": None,
        "status": "on_track",
        "percent_complete": 40,
    }
    values.update(fields)
    return ActionRow(**values)


def make_risk(
    ref: str,
    residual: tuple[int, int] = (2, 2),
    inherent: tuple[int, int] = (4, 4),
    category: str = "FIN",
    **fields: Any,
) -> RiskRow:
    appetite = STATEMENT.for_category(category)
    rl, ri = residual
    il, ii = inherent
    opportunity = fields.get("nature") == "opportunity"
    values: dict[str, Any] = {
        "ref": ref,
        "title": f"Title of {ref}",
        "cause": f"the cause of {ref}",
        "event": f"the event of {ref}",
        "consequence": f"the consequence of {ref}",
        "category_code": category,
        "category_name": next(c.name for c in CATEGORIES if c.code == category),
        "unit_code": "GS-FRMD",
        "unit_name": "Financial Resources Management Department",
        "level": "departmental",
        "nature": "threat",
        "status": "active",
        "owner_title": "Chief, Financial Resources",
        "treatment": "treat",
        "inherent_likelihood": il,
        "inherent_impact": ii,
        "inherent_score": il * ii,
        "inherent_band": SCALES.band(il * ii).name,
        "residual_likelihood": rl,
        "residual_impact": ri,
        "residual_score": rl * ri,
        "residual_band": SCALES.band(rl * ri).name,
        "zone": judge(rl, ri, appetite, SCALES, opportunity=opportunity).value,
        "appetite_level": appetite.level.value if appetite else "",
        "appetite_max": appetite.appetite_max if appetite else None,
        "tolerance_max": appetite.tolerance_max if appetite else None,
        "statement_version": STATEMENT.version,
        "target_score": 2,
        "target_date": date(2026, 12, 31),
        "assessed_on": date(2026, 3, 1),
        "actions": (make_action(ref),),
    }
    values.update(fields)
    return RiskRow(**values)


def register_rows() -> list[RiskRow]:
    """A small register that exercises every audience rule, band and zone."""
    return [
        make_risk("CR-01", (2, 2), level="corporate", owner_title="Secretary-General"),  # corporate, Low
        make_risk("FIN-002", (4, 4), owner_title="Chief, Budget"),  # High, departmental
        make_risk("ICT-003", (5, 5), category="ICT", owner_title="Chief Information Officer"),  # Critical
        make_risk("INT-004", (2, 2), category="INT", owner_title="Head, Ethics Office"),  # 4 > 3: zero tolerance
        make_risk("FIN-005", (1, 2), owner_title="Chief, Budget"),  # Low, within: task force only
        make_risk("FIN-006", (1, 3), council_visible=True, owner_title="Chief, Budget"),  # forced in
        make_risk(
            "SEC-007",
            (5, 4),
            category="SAF",
            is_confidential=True,
            title="Threat against Jane Doe's mission",
            owner_title="Jane Doe (personal protection)",
            actions=(make_action("SEC-007", description="Relocate Jane Doe"),),
        ),
        make_risk("FIN-008", (3, 3), status="closed", closed_reason="Merged"),  # closed: nobody sees it
        make_risk("INN-009", (4, 3), category="INN", nature="opportunity", owner_title="Director, Innovation"),
        make_risk(
            "OPS-010",
            (4, 4),
            category="OPS",
            owner_title="Chief, Conferences",
            actions=(
                make_action("OPS-010", 1, due_date=AS_AT - timedelta(days=30), status="delayed"),
                make_action("OPS-010", 2, due_date=AS_AT - timedelta(days=3), status="completed", percent_complete=100),
                make_action("OPS-010", 3, due_date=AS_AT - timedelta(days=90), revised_due_date=AS_AT + timedelta(5)),
            ),
        ),
        make_risk("REP-011", (3, 4), category="REP", title=HOSTILE[0], cause=HOSTILE[2], owner_title=HOSTILE[1]),
    ]


def previous_rows() -> list[RiskRow]:
    return [
        make_risk("CR-01", (3, 2), level="corporate"),  # decreased
        make_risk("FIN-002", (3, 4)),  # increased
        make_risk("ICT-003", (5, 5), category="ICT"),  # unchanged
        make_risk("FIN-005", (1, 2)),
        make_risk("SEC-007", (5, 4), category="SAF", is_confidential=True),
        make_risk("FIN-008", (3, 3)),  # closed since
        make_risk("OPS-099", (4, 4), category="OPS", title="Gone since"),  # dropped out: closed
        make_risk("REP-011", (3, 4), category="REP"),
    ]


def make_inputs(
    rows: list[RiskRow] | None = None, previous: list[RiskRow] | None = None, **fields: Any
) -> CouncilInputs:
    values: dict[str, Any] = {
        "snapshot": Snapshot("2026-Q1", AS_AT, STATEMENT.version, SCALES.version, tuple(rows or register_rows())),
        "previous": Snapshot(
            "2025-Q4", date(2025, 12, 31), STATEMENT.version, SCALES.version, tuple(previous or previous_rows())
        ),
        "statement": STATEMENT,
        "scales": SCALES,
        "category_names": {c.code: c.name for c in CATEGORIES},
        "unit_names": {"GS-FRMD": "Financial Resources Management Department"},
        "audience": "taskforce",
        "organisation": "International Union for Connectivity Standards (IUCS)",
        "session": "Council 2026",
        "symbol": "C26/14",
        "annex": "2",
        "classification": "For official use only",
        "prepared_by": "Strategic Planning and Membership Department",
        "generated_at": GENERATED,
        "narrative": "The profile is stable.",
        "open_escalations": 3,
    }
    values.update(fields)
    return CouncilInputs(**values)


def tiny_png() -> bytes:
    """A valid 2 × 1 PNG, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00\x00\xff\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def open_book(data: bytes) -> Workbook:
    return load_workbook(BytesIO(data))


def all_cells(book: Workbook) -> Iterator[tuple[str, Any]]:
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws.title, cell


def table(ws: Worksheet, header_row: int = 4) -> list[dict[str, Any]]:
    """Rows under a header row as dicts keyed by header text."""
    headers = [c.value for c in ws[header_row]]
    rows = []
    for row in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if row[0] is None:
            continue
        rows.append(dict(zip(headers, row, strict=False)))
    return rows


def key_figures(ws: Worksheet) -> dict[str, list[int]]:
    """Summary lines whose third column is a count, keyed by their first column."""
    figures = {}
    for row in ws.iter_rows(values_only=True):
        if isinstance(row[0], str) and len(row) > 2 and isinstance(row[2], int):
            figures[row[0]] = [v for v in row[2:4] if isinstance(v, int)]
    return figures


@pytest.fixture(scope="module")
def taskforce_bytes() -> bytes:
    return build_council_workbook(make_inputs(heatmap_png=tiny_png()), LAYOUT)


@pytest.fixture(scope="module")
def council_bytes() -> bytes:
    return build_council_workbook(make_inputs(audience="council"), LAYOUT)


@pytest.fixture(scope="module")
def taskforce(taskforce_bytes: bytes) -> Workbook:
    return open_book(taskforce_bytes)


@pytest.fixture(scope="module")
def council(council_bytes: bytes) -> Workbook:
    return open_book(council_bytes)


# ------------------------------------------------------------------------------ content


def test_every_layout_sheet_is_in_the_workbook_in_order(taskforce: Workbook) -> None:
    assert taskforce.sheetnames == [s.name for s in LAYOUT.sheets]
    assert all(len(name) <= 31 for name in taskforce.sheetnames)


@pytest.mark.parametrize("audience", ["taskforce", "council"])
def test_no_cell_is_a_formula(audience: str, taskforce_bytes: bytes, council_bytes: bytes) -> None:
    data = taskforce_bytes if audience == "taskforce" else council_bytes
    formulas = [(sheet, cell.coordinate) for sheet, cell in all_cells(open_book(data)) if cell.data_type == "f"]
    assert formulas == []
    # And in the file itself: no <f> element anywhere (a reader other than openpyxl sees the same).
    import zipfile

    with zipfile.ZipFile(BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = archive.read(name)
                assert b"<f>" not in xml, name
                assert b"<f " not in xml, name


def test_formula_like_text_stays_text_and_gets_the_quote_prefix(taskforce: Workbook) -> None:
    register = {row["Ref"]: row for row in table(taskforce["Register"])}
    assert register["REP-011"]["Risk"] == HOSTILE[0]
    assert register["REP-011"]["Owner (title)"] == HOSTILE[1]
    ws = taskforce["Register"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == HOSTILE[0])
    assert cell.data_type == "s"
    assert cell.quotePrefix
    plain = next(c for row in ws.iter_rows() for c in row if c.value == "Title of CR-01")
    assert not plain.quotePrefix


@pytest.mark.parametrize("text", HOSTILE)
def test_quote_prefix_rule_covers_every_trigger(text: str) -> None:
    assert needs_quote_prefix(text)


@pytest.mark.parametrize("text", ["Budget", " spaced", "1 000 CHF", "a=b", ""])
def test_ordinary_text_gets_no_quote_prefix(text: str) -> None:
    assert not needs_quote_prefix(text)


_typed = st.characters(blacklist_categories=("Cc", "Cs", "Cn"))
_user_text = st.text(alphabet=st.one_of(_typed, st.sampled_from(["\t", "\n", "\r"])), min_size=1, max_size=120)
_ROUND_TRIP_LAYOUT: dict[str, Any] = tomllib.loads(paths.COUNCIL_LAYOUT.read_text(encoding="utf-8"))
_ROUND_TRIP_LAYOUT["order"] = ["register"]
_ROUND_TRIP_LAYOUT["sheets"] = {"register": _ROUND_TRIP_LAYOUT["sheets"]["register"]}
_ROUND_TRIP_LAYOUT["sheets"]["register"]["columns"] = [
    {"header": h, "field": h.lower(), "width": 20} for h in ("Ref", "Title", "Cause", "Event", "Consequence")
]
ROUND_TRIP_LAYOUT = parse_layout(_ROUND_TRIP_LAYOUT)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.one_of(_user_text, st.sampled_from(HOSTILE)),
    cause=st.one_of(st.text(alphabet=st.one_of(_typed, st.just("\n")), min_size=1, max_size=400), _user_text),
)
def test_any_text_a_user_can_enter_comes_back_identical(title: str, cause: str) -> None:
    rows = [make_risk("FIN-1", (3, 3), title=title, cause=cause, event=cause[::-1], consequence=title + cause)]
    data = build_council_workbook(make_inputs(rows, previous=rows), ROUND_TRIP_LAYOUT)
    [row] = table(open_book(data)["Register"])
    assert (row["Title"], row["Cause"], row["Event"], row["Consequence"]) == (
        title,
        cause,
        cause[::-1],
        title + cause,
    )


def test_illegal_control_characters_are_removed_and_overlong_text_is_visibly_cut() -> None:
    long_text = "x" * 40_000
    rows = [make_risk("FIN-1", (3, 3), title="Vertical\x0btab and\x00nul", cause=long_text)]
    data = build_council_workbook(make_inputs(rows, previous=rows), ROUND_TRIP_LAYOUT)
    [row] = table(open_book(data)["Register"])
    assert row["Title"] == "Verticaltab andnul"
    assert len(row["Cause"]) == MAX_CELL_CHARS
    assert row["Cause"].endswith("(cut here: the register holds 40,000 characters)")
    assert clean_text("ok\ufffe\uffff") == "ok"


def test_numbers_and_dates_are_written_as_numbers_and_dates(taskforce: Workbook) -> None:
    register = {row["Ref"]: row for row in table(taskforce["Register"])}
    assert register["ICT-003"]["Residual score"] == 25
    assert register["ICT-003"]["Target date"] == datetime(2026, 12, 31)
    actions = {row["Action ref"]: row for row in table(taskforce["Action plan"])}
    assert actions["OPS-010-A1"]["Days overdue"] == 30
    assert actions["OPS-010-A1"]["% complete"] == 40


def test_register_is_sorted_by_residual_score_then_reference(taskforce: Workbook) -> None:
    refs = [row["Ref"] for row in table(taskforce["Register"])]
    open_rows = [r for r in register_rows() if r.status != "closed"]
    assert refs == [r.ref for r in sorted(open_rows, key=lambda r: (-r.residual_score, r.ref))]


def test_band_cells_carry_the_band_colour_and_name(taskforce: Workbook) -> None:
    ws = taskforce["Register"]
    headers = [c.value for c in ws[4]]
    column = headers.index("Residual band") + 1
    cells = [ws.cell(row=r, column=column) for r in range(5, ws.max_row + 1)]
    assert {c.value for c in cells} <= {b.name for b in SCALES.bands}
    for cell in cells:
        assert cell.fill.fgColor.rgb == "FF" + SCALES.band_named(cell.value).fill.lstrip("#")


def test_overdue_action_rows_are_marked(taskforce: Workbook) -> None:
    ws = taskforce["Action plan"]
    fills = {}
    for row in ws.iter_rows(min_row=5):
        fills[row[0].value] = row[3].fill.fgColor.rgb  # the Action text cell
    overdue = LAYOUT.style.overdue_fill.lstrip("#")
    assert fills["OPS-010-A1"] == "FF" + overdue  # open, 30 days late
    assert fills["OPS-010-A2"] != "FF" + overdue  # completed
    assert fills["OPS-010-A3"] != "FF" + overdue  # late against the due date, not the revised one


# ------------------------------------------------------------------------------ audiences


def test_council_sees_its_selection_only(council: Workbook) -> None:
    refs = {row["Ref"] for row in table(council["Register"])}
    # corporate, High, Critical, outside tolerance (zero tolerance), council visible, High opportunity;
    # not the Low within-appetite risk, the confidential one or the closed one.
    assert refs == {"CR-01", "FIN-002", "ICT-003", "INT-004", "FIN-006", "INN-009", "OPS-010", "REP-011"}


def test_council_workbook_has_no_confidential_risk_and_no_names(council: Workbook) -> None:
    texts = [str(cell.value) for _, cell in all_cells(council) if cell.value is not None]
    for secret in ("SEC-007", "Jane Doe"):
        assert not [t for t in texts if secret in t]
    titles = {r.owner_title for r in register_rows() if not r.is_confidential}
    assert {row["Owner (title)"] for row in table(council["Register"])} <= titles
    actions = table(council["Action plan"])
    assert {row["Owner (title)"] for row in actions} == {"Head, Treasury Unit"}
    assert council.properties.description is not None
    assert "Confidential risks are not included" in (council.properties.description)


def test_cover_says_which_audience(council: Workbook, taskforce: Workbook) -> None:
    def audience(book: Workbook) -> str:
        return next(str(row[1]) for row in book["Cover"].iter_rows(values_only=True) if row[0] == "Audience")

    assert audience(council).startswith("Council selection")
    assert audience(taskforce).startswith("Task force")


def test_heatmap_is_drawn_from_the_audience_rows() -> None:
    rows = rows_for_audience(register_rows(), "council", SCALES, LAYOUT)
    assert "SEC-007" not in {r.ref for r in rows}
    assert "FIN-005" not in {r.ref for r in rows}


# ------------------------------------------------------------------------------ figures


@pytest.mark.parametrize("audience", ["taskforce", "council"])
def test_summary_counts_equal_the_snapshot_counts(audience: str, taskforce: Workbook, council: Workbook) -> None:
    book = taskforce if audience == "taskforce" else council
    inputs = make_inputs(audience=audience)
    shown = rows_for_audience(inputs.snapshot.rows, audience, SCALES, LAYOUT)
    figures = key_figures(book["Summary"])
    residual = Counter(r.residual_band for r in shown)
    inherent = Counter(r.inherent_band for r in shown)
    for band in SCALES.bands:
        assert figures[band.name] == [inherent[band.name], residual[band.name]], band.name
    zones = Counter(r.zone for r in shown)
    assert figures["Within appetite"] == [zones["within_appetite"]]
    assert figures["Above appetite"] == [zones["above_appetite"]]
    assert figures["Outside tolerance"] == [zones["outside_tolerance"]]
    assert figures["Not evaluated"] == [zones["not_evaluated"]]
    overdue = sum(len(r.overdue_actions(AS_AT)) for r in shown)
    assert figures["Overdue actions"] == [overdue]
    assert overdue >= 1
    assert figures["Open escalations"] == [3]
    assert inputs.previous is not None
    refs = {r.ref for r in shown}
    moves = Counter(
        m.kind.value
        for m in compare(inputs.previous, inputs.snapshot, SCALES)
        if m.ref in refs or audience == "taskforce"
    )
    assert figures["▲ Increased"] == [moves["increased"]]
    assert figures["▼ Decreased"] == [moves["decreased"]]
    if audience == "taskforce":
        assert figures["■ Closed"] == [moves["closed"]] == [2]
        assert figures["★ New"] == [moves["new"]]


def test_movement_lists_new_and_closed_risks(taskforce: Workbook) -> None:
    moves = {row["Ref"]: row for row in table(taskforce["Movement"])}
    assert moves["FIN-002"]["Movement"] == "▲ Increased"
    assert moves["FIN-002"]["Change"] == 4
    assert moves["CR-01"]["Movement"] == "▼ Decreased"
    assert moves["OPS-010"]["Movement"] == "★ New"
    assert moves["OPS-099"]["Movement"] == "■ Closed"
    assert moves["FIN-008"]["Rationale or closing reason"] == "Merged"


def test_without_a_previous_cycle_movement_says_so() -> None:
    book = open_book(build_council_workbook(replace(make_inputs(), previous=None), LAYOUT))
    texts = [v for row in book["Movement"].iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert any("No previous closed cycle" in t for t in texts)
    assert {row["Trend"] for row in table(book["Register"])} == {None}


# ------------------------------------------------------------------------------ reproducible, print-ready


def test_two_builds_of_the_same_inputs_are_identical(taskforce_bytes: bytes) -> None:
    again = build_council_workbook(make_inputs(heatmap_png=tiny_png()), LAYOUT)
    assert again == taskforce_bytes


def test_properties_carry_cycle_hash_and_the_given_time(taskforce: Workbook) -> None:
    props = taskforce.properties
    digest = make_inputs().snapshot.content_hash()
    assert props.title == "Risk register: status as at 31 March 2026"
    assert props.keywords is not None
    assert "cycle 2026-Q1" in props.keywords
    assert digest in props.keywords
    assert props.creator == "Strategic Planning and Membership Department"
    assert props.created == props.modified == datetime(2026, 4, 20, 9, 30)


def test_sheets_are_set_up_for_printing(taskforce: Workbook) -> None:
    ws = taskforce["Register"]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows == "$4:$4"
    assert ws.freeze_panes == "C5"
    assert ws.auto_filter.ref == f"A4:{ws.cell(row=4, column=ws.max_column).column_letter}{ws.max_row}"
    assert ws.oddHeader.left.text == "C26/14"
    assert ws.oddHeader.right.text == "Annex 2"
    assert ws.oddFooter.center.text == "Page &P of &N"
    assert ws.oddFooter.left.text == "For official use only"


def test_progress_is_reported_up_to_the_total() -> None:
    calls: list[tuple[int, int, str]] = []
    build_council_workbook(make_inputs(progress=lambda done, total, sheet: calls.append((done, total, sheet))), LAYOUT)
    assert [sheet for _, _, sheet in calls] == [s.name for s in LAYOUT.sheets]
    done = [d for d, _, _ in calls]
    assert done == sorted(done)
    assert calls[-1][0] == calls[-1][1]


def test_long_header_texts_are_shortened_to_excels_limit() -> None:
    book = open_book(build_council_workbook(make_inputs(organisation="Union " * 60, symbol="&" * 80), LAYOUT))
    header = book["Register"].oddHeader
    assert sum(len(part.text or "") for part in (header.left, header.center, header.right)) <= 180
    assert header.left.text is not None
    assert header.left.text.startswith("&&&&")


def test_heatmap_image_is_embedded_unchanged(taskforce_bytes: bytes) -> None:
    import zipfile

    with zipfile.ZipFile(BytesIO(taskforce_bytes)) as archive:
        images = [n for n in archive.namelist() if n.startswith("xl/media/")]
        assert [archive.read(n) for n in images] == [tiny_png()]


def test_draft_snapshot_is_marked_draft() -> None:
    inputs = make_inputs()
    draft = replace(inputs, snapshot=replace(inputs.snapshot, is_draft=True))
    book = open_book(build_council_workbook(draft, LAYOUT))
    assert book.properties.title is not None
    assert book.properties.title.endswith("(DRAFT)")
    assert book["Register"].oddHeader.center.text.startswith("DRAFT")


# ------------------------------------------------------------------------------ layout


def _layout_data() -> dict[str, Any]:
    return tomllib.loads(paths.COUNCIL_LAYOUT.read_text(encoding="utf-8"))


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *path, last = dotted.split(".")
    node: Any = data
    for part in path:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("change", "value", "key"),
    [
        ("sheets.register.columns.1.field", "titel", "sheets.register.columns[2].field"),
        ("sheets.register.name", "A register name far longer than Excel allows", "sheets.register.name"),
        ("sheets.register.name", "Risks: all", "sheets.register.name"),
        ("sheets.register.titel", "x", "sheets.register.titel"),
        ("print.footer_center", "Page {page} of {pagez}", "print.footer_center"),
        ("print.paper", "A5", "print.paper"),
        ("style.header_fill", "navy", "style.header_fill"),
        ("sheets.actions.columns.0.audiences", ["board"], "sheets.actions.columns[1].audiences"),
        ("order", ["cover", "register", "nonsense"], "order"),
        ("sheets.cover.title", "Status as at {as_at", "sheets.cover.title"),
    ],
)
def test_layout_loader_rejects_mistakes_naming_the_key(change: str, value: Any, key: str) -> None:
    with pytest.raises(LayoutError, match="^" + re.escape(f"<layout>: {key}: ")):
        parse_layout(_set(_layout_data(), change, value))


def test_layout_sheet_missing_from_order_is_an_error() -> None:
    data = _layout_data()
    data["order"].remove("methodology")
    with pytest.raises(LayoutError, match="sheets.methodology: is not listed in order"):
        parse_layout(data)


def test_load_layout_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "council.toml"
    bad.write_text("version = 1\n[document\n", encoding="utf-8")
    with pytest.raises(LayoutError, match=f"^{bad}: not valid TOML"):
        load_layout(bad)


def test_unknown_council_band_is_reported_against_the_layout_key() -> None:
    layout = parse_layout(_set(_layout_data(), "audience.council.min_band", "Severe"), source="council.toml")
    with pytest.raises(LayoutError, match="council.toml: audience.council.min_band: 'Severe' is not a band"):
        build_council_workbook(make_inputs(audience="council"), layout)


def test_a_layout_can_drop_columns_and_sheets() -> None:
    data = _layout_data()
    data["order"] = ["cover", "register"]
    data["sheets"] = {k: data["sheets"][k] for k in data["order"]}
    data["sheets"]["register"]["columns"] = [{"header": "Risk ref", "field": "ref", "width": 12}]
    data["sheets"]["register"]["freeze_columns"] = 0
    book = open_book(build_council_workbook(make_inputs(), parse_layout(data)))
    assert book.sheetnames == ["Cover", "Register"]
    assert [c.value for c in book["Register"][4]] == ["Risk ref"]


def test_layout_type_is_frozen() -> None:
    assert isinstance(LAYOUT, Layout)
    with pytest.raises(AttributeError):
        LAYOUT.title = "x"  # type: ignore[misc]


# ------------------------------------------------------------------------------ code rules


def test_only_cells_module_writes_cells() -> None:
    """security.md H2: text reaches a cell only through cells.text_cell (the writer's one append)."""
    package = Path(paths.__file__).parent / "workbook"
    offenders = []
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                if name in ("append", "cell", "WriteOnlyCell", "write_string") and path.name != "cells.py":
                    if name == "append" and not _is_worksheet_append(node):
                        continue
                    offenders.append(f"{path.name}:{node.lineno} {name}")
    assert offenders == []


def _is_worksheet_append(node: ast.Call) -> bool:
    target = node.func.value if isinstance(node.func, ast.Attribute) else None
    return isinstance(target, ast.Name) and target.id in ("ws", "sheet", "worksheet")


def test_importing_the_workbook_package_does_not_load_openpyxl() -> None:
    code = "import sys, riskreg.workbook; print('openpyxl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
