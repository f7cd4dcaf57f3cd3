"""The exports page: Council workbook downloads through the web, on SQLite and PostgreSQL.

Every workbook here is downloaded through `/exports/` as a coordinator or the secretariat would, then
re-read with openpyxl: what the Council receives is what is tested.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from sqlalchemy import func, or_, select
from werkzeug.test import TestResponse

from riskreg import heatmap, policy
from riskreg.audit import SYSTEM
from riskreg.exports import operations as export_ops
from riskreg.extensions import db
from riskreg.importer.sources import unescape_xstring
from riskreg.models import (
    AuditEvent,
    CycleSnapshot,
    ExportRun,
    ReviewCycle,
    Risk,
    RiskCategory,
    RiskLevel,
    Role,
    SnapshotEntry,
    User,
)
from riskreg.review import agenda, queries
from riskreg.review import operations as review_ops
from riskreg.risks import operations as risk_ops
from riskreg.textpolicy import TextPolicyError, check_text, statement_part
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAFE_NAME = re.compile(r'^attachment; filename="?([A-Za-z0-9._-]+\.xlsx)"?$')
SECRET_TITLE = "Covert vendor kickback inquiry"
HOSTILE_TITLE = '=HYPERLINK("http://evil.example","click")'
Q1 = review_ops.CycleInput("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), target_session="Council 2026")
Q2 = review_ops.CycleInput("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), target_session="Council 2026")
Q3 = review_ops.CycleInput("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))


@dataclass
class World:
    refs: dict[str, str]  # short name -> risk reference
    names: list[str]  # every user's name (never in a Council workbook)
    titles: list[str]  # functional titles used as owners (shown instead of names)
    coordinator: str  # e-mail addresses
    secretariat: str


@pytest.fixture(autouse=True)
def _fresh_memos() -> None:
    # Equal registers on SQLite and PostgreSQL have equal ids and hashes: read each test's own database.
    for memo in (queries._SNAPSHOTS, queries._VIEWS, agenda._MOVES):
        memo.clear()


def close(code: str) -> None:
    cycle = queries.cycle_by_code(db.session, code)
    cycle.narrative = cycle.narrative or f"Cycle {code} reviewed."  # closing needs a narrative
    review_ops.close_cycle(db.session, SYSTEM, cycle, cycle.version)


def build_world() -> World:
    """Two units, people with names and titles, a confidential critical risk; 2026-Q1 and Q2 closed, Q3 open."""
    alpha, beta = make_unit(code="GS-ALPHA", name="Alpha Department"), make_unit(code="BETA", name="Beta Bureau")
    coordinator = make_user(role=Role.COORDINATOR, unit=alpha, email="zelda.quixote@example.org", title="Chief, Risk")
    secretariat = make_user(role=Role.SECRETARIAT, email="ulrich.vanterpool@example.org", title="Council Secretary")
    owner = make_user(role=Role.FOCAL_POINT, unit=beta, email="yolanda.brightwater@example.org", title="Head, Treasury")
    risks = {
        "critical": make_risk(unit=alpha, residual=(4, 5), owner_title="Head, Treasury"),
        "corporate": make_risk(unit=alpha, residual=(2, 2), level=RiskLevel.CORPORATE, owner_title="Chief, Risk"),
        "secret": make_risk(unit=beta, title=SECRET_TITLE, residual=(5, 5), is_confidential=True),
        "low": make_risk(unit=beta, category_code="OPS", residual=(1, 2)),
        "hostile": make_risk(unit=beta, title=HOSTILE_TITLE, category_code="ICT", residual=(4, 4)),
    }
    review_ops.open_cycle(db.session, SYSTEM, Q1)
    close("2026-Q1")
    risks["new"] = make_risk(unit=alpha, category_code="FIN", residual=(3, 4))
    late = risk_ops.ActionInput("Renegotiate the payment plan", "Head, Treasury", date.today() - timedelta(days=30))
    risk_ops.add_action(db.session, SYSTEM, risks["critical"], late)
    review_ops.open_cycle(db.session, SYSTEM, Q2)
    close("2026-Q2")
    review_ops.open_cycle(db.session, SYSTEM, Q3)
    world = World(
        {k: r.ref for k, r in risks.items()},
        [u.name for u in (coordinator, secretariat, owner)],
        ["Head, Treasury", "Chief, Risk"],
        coordinator.email,
        secretariat.email,
    )
    return world


@pytest.fixture
def world(app: Flask) -> World:
    # Built in its own app context: requests made inside a still-active one would share its session, and on
    # SQLite a transaction the request left open would lock out the test's own queries.
    with app.app_context():
        return build_world()


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "cycle": "2026-Q2",
        "audience": "council",
        "symbol": "C26/12",
        "annex": "2",
        "classification": "For official use only",
        "prepared_by": "Strategic Planning Department",
    }
    data.update(overrides)
    return data


def download(client: FlaskClient, **overrides: str) -> TestResponse:
    """Ask for the workbook, follow its job (immediate in tests) to the download; else the answer met on the way."""
    response = client.post("/exports/", data=form_data(**overrides))
    if response.status_code != 303:
        return response
    page = client.get(response.headers["Location"])
    found = re.search(r'href="(/jobs/\d+/download)"', page.text)
    return client.get(found.group(1)) if found else page


def open_book(response: TestResponse) -> Workbook:
    assert response.status_code == 200, response.text[:500]
    return load_workbook(BytesIO(response.data))


def all_cells(book: Workbook) -> Iterator[tuple[str, Any]]:
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws.title, cell


def texts(book: Workbook) -> list[str]:
    return [str(cell.value) for _, cell in all_cells(book) if cell.value is not None]


def table(book: Workbook, sheet: str, first_header: str = "Ref") -> list[dict[str, Any]]:
    """The rows under the first row of `sheet` whose first cell is `first_header`, keyed by header."""
    rows = list(book[sheet].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == first_header)
    headers = rows[start]
    found = []
    for row in rows[start + 1 :]:
        if row[0] is None:
            break
        found.append(dict(zip(headers, row, strict=False)))
    return found


def key_figures(book: Workbook) -> dict[str, list[int]]:
    """Summary lines whose third column is a count, keyed by their first column."""
    figures = {}
    for row in book["Summary"].iter_rows(values_only=True):
        if isinstance(row[0], str) and len(row) > 2 and isinstance(row[2], int):
            figures[row[0]] = [v for v in row[2:4] if isinstance(v, int)]
    return figures


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


# --------------------------------------------------------------------------- the download


@pytest.mark.parametrize("audience", ["council", "taskforce"])
def test_download_is_an_xlsx_attachment_without_a_single_formula(app: Flask, world: World, audience: str) -> None:
    response = download(signed_in(app, world.coordinator), audience=audience)
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert response.headers["Cache-Control"] == "no-store"
    match = SAFE_NAME.match(response.headers["Content-Disposition"])
    assert match is not None, response.headers["Content-Disposition"]
    assert match.group(1) == f"C26-12_Annex2_2026-Q2_{audience}.xlsx"
    book = open_book(response)
    assert book.sheetnames == [
        "Cover",
        "Summary",
        "Heatmap",
        "Register",
        "Appetite",
        "Movement",
        "Action plan",
        "By category",
        "By unit",
        "Oversight recommendations",
        "Methodology",
    ]
    cells = list(all_cells(book))
    assert len(cells) > 500
    formulas = [f"{sheet}!{cell.coordinate}" for sheet, cell in cells if cell.data_type == "f"]
    assert formulas == []
    hostile = [cell for _, cell in cells if cell.value == HOSTILE_TITLE]
    assert hostile, "the formula-like title is in the workbook as text"
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in hostile)


def test_secretariat_may_export_too(app: Flask, world: World) -> None:
    client = signed_in(app, world.secretariat)
    assert client.get("/exports/").status_code == 200
    assert download(client).status_code == 200


def test_other_roles_are_refused(app: Flask, world: World) -> None:
    for role in (Role.FOCAL_POINT, Role.VIEWER, Role.TASKFORCE, Role.ADMIN):
        with app.app_context():
            email = make_user(role=role, unit=make_unit() if role == Role.FOCAL_POINT else None).email
        client = signed_in(app, email)
        assert client.get("/exports/").status_code == 403, role
        assert download(client).status_code == 403, role
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportRun)) == 0


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask, world: World) -> None:
    response = app.test_client().post("/exports/", data=form_data())
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_file_name_is_safe_whatever_the_symbol(app: Flask, world: World) -> None:
    client = signed_in(app, world.coordinator)
    response = download(client, symbol="\"Ünïcódé\" ../../etc/passwd; x='y' ％ 文件", annex="B-2")
    header = response.headers["Content-Disposition"]
    match = SAFE_NAME.match(header)
    assert match is not None, header
    assert match.group(1) == "Unicode-etc-passwd-x-y_AnnexB-2_2026-Q2_council.xlsx"
    for unsafe in ("filename*", "..", "/", "\\"):
        assert unsafe not in header
    # The symbol itself is printed as typed, as text.
    assert "\"Ünïcódé\" ../../etc/passwd; x='y' ％ 文件" in texts(open_book(response))


BAD_INPUT = [
    ({"symbol": "C26/12\r\nSet-Cookie: a=b"}, "symbol", "Use a single line."),
    ({"symbol": "C26\x0b12"}, "symbol", "control characters"),
    ({"symbol": "C" * 101}, "symbol", "100 characters"),
    ({"cycle": "1999-Q9"}, "cycle", "Not a valid choice"),
    ({"cycle": "2026-Q3"}, "cycle", "Not a valid choice"),  # open: only closed cycles and "now" are offered
    ({"audience": "everyone"}, "audience", "Not a valid choice"),
    ({"annex": "2/../3"}, "annex", "letters, digits"),
    ({"prepared_by": ""}, "prepared_by", "which unit prepared"),
]


def test_bad_input_gives_form_errors_and_no_file(app: Flask, world: World) -> None:
    client = signed_in(app, world.coordinator)
    for overrides, field, message in BAD_INPUT:
        response = download(client, **overrides)
        assert response.status_code == 400, overrides
        assert response.mimetype == "text/html"
        assert "Content-Disposition" not in response.headers
        assert f'id="{field}-error"' in response.text, overrides
        assert message in response.text.replace("&#39;", "'"), overrides
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportRun)) == 0


def test_page_offers_closed_cycles_and_now_with_the_last_closed_chosen(app: Flask, world: World) -> None:
    page = signed_in(app, world.coordinator).get("/exports/")
    assert page.status_code == 200
    options = re.findall(r'<option([^>]*)value="([^"]+)"', page.text)
    cycles = [value for attrs, value in options if value.startswith(("2026", "now"))]
    assert cycles == ["2026-Q2", "2026-Q1", "now"]
    assert re.search(r'<option selected value="2026-Q2"|<option value="2026-Q2" selected', page.text)
    assert 'value="Alpha Department"' in page.text  # prepared by: the coordinator's unit
    assert "No workbook has been exported yet." in page.text


# --------------------------------------------------------------------------- what the Council sees


def test_council_workbook_has_no_confidential_risk_and_no_names(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[heatmap.HeatmapSpec] = []
    real_render = heatmap.render_png

    def render_and_keep(spec: heatmap.HeatmapSpec, dpi: int = heatmap.DEFAULT_DPI) -> bytes:
        drawn.append(spec)
        return real_render(spec, dpi)

    monkeypatch.setattr(heatmap, "render_png", render_and_keep)
    client = signed_in(app, world.coordinator)
    council = texts(open_book(download(client)))
    secret = world.refs["secret"]
    for forbidden in (secret, SECRET_TITLE, *world.names):
        assert not [t for t in council if forbidden in t], forbidden
    assert [p.ref for p in drawn[0].points if p.ref == secret] == []
    assert secret not in {ref for refs in heatmap.cell_counts(drawn[0]).values() for ref in refs}
    for title in world.titles:
        assert any(title in t for t in council), title
    # The same register for the task force does carry it, in the table and on the picture.
    taskforce = texts(open_book(download(client, audience="taskforce")))
    assert any(SECRET_TITLE in t for t in taskforce)
    assert secret in {p.ref for p in drawn[1].points}


def test_summary_counts_equal_the_databases_counts_for_the_snapshot(app: Flask, world: World) -> None:
    client = signed_in(app, world.coordinator)
    with app.app_context():
        scales = policy.current_scales(db.session)
        snapshot_id = db.session.scalar(select(CycleSnapshot.id).join(ReviewCycle).where(ReviewCycle.code == "2026-Q2"))
        entries = select(SnapshotEntry.residual_score, SnapshotEntry.zone).where(
            SnapshotEntry.snapshot_id == snapshot_id
        )
        high = next(b.min_score for b in scales.bands if b.name == "High")
        council_only = entries.join(Risk, Risk.id == SnapshotEntry.risk_id).where(
            Risk.is_confidential.is_(False),
            or_(
                Risk.level == RiskLevel.CORPORATE,
                Risk.council_visible.is_(True),
                SnapshotEntry.zone == "outside_tolerance",
                SnapshotEntry.residual_score >= high,
            ),
        )
        expected = {
            audience: list(db.session.execute(query))
            for audience, query in (("taskforce", entries), ("council", council_only))
        }
    for audience, rows in expected.items():
        figures = key_figures(open_book(download(client, audience=audience)))
        bands = Counter(scales.band(score).name for score, _ in rows)
        zones = Counter(zone for _, zone in rows)
        for band in scales.bands:
            assert figures[band.name][-1] == bands[band.name], (audience, band.name)
        assert figures["Within appetite"] == [zones["within_appetite"]]
        assert figures["Above appetite"] == [zones["above_appetite"]]
        assert figures["Outside tolerance"] == [zones["outside_tolerance"]]
        assert figures["Not evaluated"] == [zones["not_evaluated"]]
        assert sum(bands.values()) == len(rows) > 0
    assert len(expected["council"]) < len(expected["taskforce"])


def test_exports_of_a_closed_cycle_are_frozen(app: Flask, world: World) -> None:
    client = signed_in(app, world.coordinator)
    first = open_book(download(client, audience="taskforce"))
    with app.app_context():
        risk = db.session.scalars(select(Risk).where(Risk.ref == world.refs["critical"])).one()
        edited = risk_ops.RiskInput(
            title="Renamed after the cycle closed",
            cause=risk.cause,
            event=risk.event,
            consequence=risk.consequence,
            category_id=risk.category_id,
            owner_title="Someone Else Entirely",
        )
        risk_ops.update_risk(db.session, SYSTEM, risk, edited, risk.version)
        again = risk_ops.AssessmentInput(
            inherent_likelihood=5, inherent_impact=5, residual_likelihood=1, residual_impact=1
        )
        risk_ops.record_assessment(db.session, SYSTEM, risk, again, expected_version=None)
    second = open_book(download(client, audience="taskforce"))

    def values(book: Workbook) -> dict[str, list[tuple[Any, ...]]]:
        # Everything but the time of generation, which is when each file was made.
        return {
            ws.title: [row for row in ws.iter_rows(values_only=True) if row[:1] != ("Generated (UTC)",)]
            for ws in book.worksheets
        }

    assert values(first) == values(second)
    assert not [t for t in texts(second) if "Renamed after the cycle closed" in t]
    # ...whereas the draft of now shows the edit.
    draft = open_book(download(client, audience="taskforce", cycle="now"))
    assert any("Renamed after the cycle closed" in t for t in texts(draft))


def test_now_is_a_marked_draft_of_the_running_cycle(app: Flask, world: World) -> None:
    response = download(signed_in(app, world.coordinator), cycle="now", symbol="")
    match = SAFE_NAME.match(response.headers["Content-Disposition"])
    assert match is not None
    assert match.group(1) == "Risk-register_Annex2_2026-Q3-DRAFT_council.xlsx"
    book = open_book(response)
    assert "(DRAFT)" in str(book.properties.title)
    assert book["Register"].oddHeader.center.text is not None
    assert "DRAFT" in book["Register"].oddHeader.center.text
    with app.app_context():
        run = db.session.scalars(select(ExportRun)).one()
        assert run.review_cycle_id is None
        assert run.file_name == match.group(1)


# --------------------------------------------------------------------------- the log


def test_each_download_is_logged_with_the_hash_of_its_bytes_and_audited(app: Flask, world: World) -> None:
    client = signed_in(app, world.coordinator)
    response = download(client)
    assert response.status_code == 200
    with app.app_context():
        run = db.session.scalars(select(ExportRun)).one()
        user = db.session.scalars(select(User).where(User.email == world.coordinator)).one()
        frozen = db.session.scalars(select(CycleSnapshot).join(CycleSnapshot.cycle)).all()
        q2 = next(s for s in frozen if s.cycle.code == "2026-Q2")
        assert run.sha256 == hashlib.sha256(response.data).hexdigest()
        assert run.snapshot_hash == q2.content_hash
        assert run.review_cycle_id == q2.review_cycle_id
        assert (run.audience, run.doc_symbol, run.generated_by_id) == ("council", "C26/12", user.id)
        assert run.statement_version == "2.0"
        assert run.file_name == "C26-12_Annex2_2026-Q2_council.xlsx"
        shown = len(table(open_book(response), "Register"))
        assert run.risk_count == shown
        assert run.action_count == 1
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
        assert [(e.entity, e.entity_id, e.actor_email) for e in events] == [
            ("export_run", str(run.id), world.coordinator)
        ]
        assert run.sha256 in events[0].changes_json
    page = client.get("/exports/")
    assert run.sha256[:12] in page.text
    assert "C26-12_Annex2_2026-Q2_council.xlsx" in page.text
    assert "Zelda.Quixote" in page.text  # the page (not the workbook) says who exported


def test_a_failed_export_logs_nothing(app: Flask, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise export_ops.ExportError("The Council layout cannot be used: test")

    monkeypatch.setattr(export_ops, "build_council_workbook", broken)
    response = download(signed_in(app, world.coordinator))
    assert response.status_code == 200  # the job's page, which says it failed and why
    assert 'data-job-status="failed"' in response.text
    assert "The Council layout cannot be used: test" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportRun)) == 0
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "export")) == 0


# --------------------------------------------------------------------------- round trip


def _entered(blank_lines: bool) -> st.SearchStrategy[str]:
    # What the risk form accepts: no control characters except tab (and line breaks in long texts). U+FFFE
    # and U+FFFF are left out: XML cannot carry them, so the workbook drops them (reported: refuse at input).
    extra = "\t\n\r" if blank_lines else "\t"
    alphabet = st.characters(
        exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff", include_characters=extra
    )
    return st.text(alphabet, min_size=1, max_size=120 if not blank_lines else 300)


@pytest.fixture
def coordinator(app: Flask) -> tuple[FlaskClient, int]:
    with app.app_context():
        unit = make_unit(code="GS-ROUND")
        email = make_user(role=Role.COORDINATOR, unit=unit).email
        category_id = db.session.scalar(select(RiskCategory.id).where(RiskCategory.code == "FIN"))
        assert category_id is not None
    return signed_in(app, email), category_id


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(title=_entered(blank_lines=False), cause=_entered(blank_lines=True))
def test_any_text_entered_in_the_risk_form_comes_back_identical(
    app: Flask, coordinator: tuple[FlaskClient, int], title: str, cause: str
) -> None:
    assume("\n" not in title and "\r" not in title)
    # The text policy (riskreg/textpolicy.py) decides what is stored: blanks and invisible characters at the
    # ends and line-end style are normalised, a statement part loses a trailing full stop; anything it would
    # remove is refused first (tests/test_text_policy.py), so those inputs are left out here.
    try:
        checked_title, checked_cause = check_text(title, "Title"), check_text(cause, "The cause")
        stored_cause = statement_part(checked_cause.text, "cause", "The cause")
    except TextPolicyError:
        assume(False)
        return
    assume(not checked_title.removed and not checked_cause.removed and checked_title.text and stored_cause)
    client, category_id = coordinator
    created = client.post(
        "/risks/new",
        data={
            "unit": "GS-ROUND",
            "title": title,
            "cause": cause,
            "event": "the payment is late",
            "consequence": "delay programmes",
            "category_id": str(category_id),
            "owner_title": "Chief, Financial Resources",
            "nature": "threat",
            "level": "departmental",
            "treatment": "treat",
            "inherent_likelihood": "4",
            "inherent_impact": "4",
            "residual_likelihood": "3",
            "residual_impact": "3",
            "control_effectiveness": "not_assessed",
        },
    )
    assert created.status_code == 303, created.text[:2000]
    ref = created.headers["Location"].rsplit("/", 1)[-1]
    with app.app_context():
        stored = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
        assert (stored.title, stored.cause) == (checked_title.text, stored_cause)
    rows = table(open_book(download(client, cycle="now", audience="taskforce")), "Register")
    row = next(r for r in rows if r["Ref"] == ref)
    # Read back undecoded (openpyxl), so text that looks like an OOXML escape carries its escaped underscore.
    assert unescape_xstring(row["Risk"]) == checked_title.text
    assert unescape_xstring(row["Risk statement (cause, event, consequence)"]).startswith(
        f"Because {stored_cause}, there is a risk that the payment is late"
    )
