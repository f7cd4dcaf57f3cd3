from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from io import BytesIO
from xml.etree import ElementTree

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Select, func, select, text
from sqlalchemy.exc import DBAPIError

from riskreg import heatmap
from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import (
    AuditEvent,
    CycleSnapshot,
    CycleStatus,
    OrgUnit,
    ReviewCycle,
    Risk,
    RiskCategory,
    Role,
    SnapshotEntry,
    TaskForceDecision,
)
from riskreg.review import agenda, page, queries
from riskreg.review import operations as ops
from riskreg.review.commands import heatmap_command
from riskreg.risks import operations as risk_ops
from riskreg.snapshot import Snapshot
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user

Q1 = ops.CycleInput("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), target_session="Council 2026")
Q2 = ops.CycleInput("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), taskforce_meeting_on=date(2026, 6, 20))


@dataclass
class Register:
    alpha: OrgUnit
    beta: OrgUnit
    refs: dict[str, str]  # short name -> risk reference


def reassess(risk: Risk, residual: tuple[int, int]) -> None:
    data = risk_ops.AssessmentInput(
        inherent_likelihood=5, inherent_impact=5, residual_likelihood=residual[0], residual_impact=residual[1]
    )
    risk_ops.record_assessment(db.session, SYSTEM, risk, data, expected_version=None)


def close(code: str) -> None:
    cycle = queries.cycle_by_code(db.session, code)
    cycle.narrative = cycle.narrative or f"Cycle {code} reviewed."  # closing needs a narrative
    ops.close_cycle(db.session, SYSTEM, cycle, cycle.version)


def build_register(*, close_q2: bool) -> Register:
    """Two units; 2026-Q1 closed; then a rise, a fall, a new risk and an overdue action; 2026-Q2 open or closed."""
    alpha, beta = make_unit(code="GS-ALPHA"), make_unit(code="BETA")
    risks = {
        "critical": make_risk(unit=alpha, category_code="FIN", residual=(4, 5)),
        "rises": make_risk(unit=alpha, category_code="OPS", residual=(2, 2)),
        "falls": make_risk(unit=beta, category_code="FIN", residual=(3, 3)),
        "late": make_risk(unit=beta, category_code="ICT", residual=(4, 3)),
        "low": make_risk(unit=alpha, category_code="FIN", residual=(2, 2)),
    }
    ops.open_cycle(db.session, SYSTEM, Q1)
    close("2026-Q1")
    reassess(risks["rises"], (3, 4))
    reassess(risks["falls"], (2, 3))
    risks["new"] = make_risk(unit=beta, category_code="FIN", residual=(4, 4))
    overdue = risk_ops.ActionInput("Patch the servers", "Head of ICT", date.today() - timedelta(days=40))
    risk_ops.add_action(db.session, SYSTEM, risks["late"], overdue)
    ops.open_cycle(db.session, SYSTEM, Q2)
    if close_q2:
        close("2026-Q2")
    return Register(alpha, beta, {name: r.ref for name, r in risks.items()})


@pytest.fixture(autouse=True)
def _fresh_memos() -> None:
    # Equal registers on SQLite and PostgreSQL have equal hashes: start each test from the database.
    for memo in (queries._SNAPSHOTS, queries._VIEWS, agenda._MOVES, page._FACTS, page._VIEWS, page._PAGES):
        memo.clear()


@pytest.fixture
def closed(ctx: None) -> Register:
    return build_register(close_q2=True)


@pytest.fixture
def live(ctx: None) -> Register:
    return build_register(close_q2=False)


def signed_in(client: FlaskClient, role: Role, unit: OrgUnit | None = None) -> FlaskClient:
    login(client, make_user(role=role, unit=unit).email)
    return client


def review_view(code: str, **filters: str) -> queries.HeatmapView:
    request = queries.ReviewRequest(code, filters=queries.HeatFilters(**filters))
    data = queries.load_cycle(db.session, queries.cycle_by_code(db.session, code))
    return queries.build_heatmap(data, request, current_app.config["ORGANISATION_SHORT"])


# --------------------------------------------------------------------------- snapshots


def test_database_refuses_to_alter_a_frozen_snapshot(closed: Register) -> None:
    for table in ("cycle_snapshots", "snapshot_entries"):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError):
                db.session.execute(text(statement))
            db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SnapshotEntry)) == 11


def test_later_risk_edits_never_change_a_closed_snapshot(closed: Register, monkeypatch: pytest.MonkeyPatch) -> None:
    cycle = queries.cycle_by_code(db.session, "2026-Q2")
    before = ops.load_snapshot(db.session, cycle)
    risk = db.session.scalars(select(Risk).where(Risk.ref == closed.refs["critical"])).one()
    reassess(risk, (1, 1))
    data = risk_ops.RiskInput("A new title", "c", "e", "q", risk.category_id, "Someone else")
    risk_ops.update_risk(db.session, SYSTEM, risk, data, risk.version)
    db.session.expire_all()
    with monkeypatch.context() as patch:
        # The fast check over the stored JSON must agree with Snapshot.content_hash, without the slow fallback.
        patch.setattr(Snapshot, "content_hash", lambda self: pytest.fail("slow hash path used"))
        after = ops.load_snapshot(db.session, cycle)  # raises if the rows no longer match the stored hash
    assert after == before
    stored = db.session.scalar(select(CycleSnapshot.content_hash).filter_by(review_cycle_id=cycle.id))
    assert after.content_hash() == stored
    assert after.by_ref()[closed.refs["critical"]].residual_score == 20


def test_a_tampered_snapshot_is_refused(closed: Register) -> None:
    sqlite = db.engine.dialect.name == "sqlite"
    db.session.execute(
        text("DROP TRIGGER snapshot_entries_no_update")
        if sqlite
        else text("ALTER TABLE snapshot_entries DISABLE TRIGGER USER")
    )
    try:
        lowered = "replace(row_json, '\"residual_score\": 20', '\"residual_score\": 2')"
        db.session.execute(text(f"UPDATE snapshot_entries SET row_json = {lowered}"))
        db.session.commit()
    finally:
        if not sqlite:
            db.session.execute(text("ALTER TABLE snapshot_entries ENABLE TRIGGER USER"))
            db.session.commit()
    with pytest.raises(ops.CycleError, match="tampered"):
        ops.load_snapshot(db.session, queries.cycle_by_code(db.session, "2026-Q2"))


# --------------------------------------------------------------------------- heatmap data


def _database_cells(query: Select[tuple[int, int, int]]) -> dict[tuple[int, int], int]:
    return {(li, im): n for li, im, n in db.session.execute(query)}


def test_frozen_heatmap_counts_equal_the_database(closed: Register) -> None:
    base = (
        select(SnapshotEntry.residual_likelihood, SnapshotEntry.residual_impact, func.count())
        .join(CycleSnapshot, CycleSnapshot.id == SnapshotEntry.snapshot_id)
        .join(ReviewCycle, ReviewCycle.id == CycleSnapshot.review_cycle_id)
        .join(OrgUnit, OrgUnit.id == SnapshotEntry.org_unit_id)
        .join(RiskCategory, RiskCategory.id == SnapshotEntry.category_id)
        .where(ReviewCycle.code == "2026-Q2")
        .group_by(SnapshotEntry.residual_likelihood, SnapshotEntry.residual_impact)
    )
    for unit, category in [("", ""), ("BETA", ""), ("", "FIN"), ("GS-ALPHA", "FIN")]:
        query = base.where(OrgUnit.code == unit) if unit else base
        query = query.where(RiskCategory.code == category) if category else query
        view = review_view("2026-Q2", unit=unit, category=category)
        assert {cell: len(refs) for cell, refs in view.counts.items() if refs} == _database_cells(query)


def test_live_heatmap_counts_equal_the_register(live: Register) -> None:
    query = (
        select(Risk.residual_likelihood, Risk.residual_impact, func.count())
        .join(OrgUnit, OrgUnit.id == Risk.org_unit_id)
        .where(Risk.deleted_at.is_(None), OrgUnit.code == "BETA")
        .group_by(Risk.residual_likelihood, Risk.residual_impact)
    )
    view = review_view("2026-Q2", unit="BETA")
    assert {cell: len(refs) for cell, refs in view.counts.items() if refs} == _database_cells(query)
    assert "live register" in view.spec.footnote[0]


def test_agenda_lists_outside_tolerance_new_increased_and_overdue(closed: Register) -> None:
    data = queries.load_cycle(db.session, queries.cycle_by_code(db.session, "2026-Q2"))
    parts = agenda.agenda(data, queries.HeatFilters(), agenda.movements(data))
    sections = {section.key: {item.row.ref for item in section.items} for section in parts}
    assert closed.refs["critical"] in sections["outside"]
    assert sections["new"] == {closed.refs["new"]}
    assert sections["increased"] == {closed.refs["rises"]}
    assert sections["overdue"] == {closed.refs["late"]}
    assert closed.refs["low"] not in set().union(*sections.values())


# --------------------------------------------------------------------------- the review page


def _grid(page: str) -> dict[tuple[int, int], int]:
    return {
        (int(li), int(im)): int(n)
        for li, im, n in re.findall(r'href="/review/cell\?l=(\d)&amp;i=(\d)[^"]*"[^>]*>(\d+)</a>', page)
    }


def test_html_grid_matches_the_image_data_and_its_links_list_exactly_those_risks(
    closed: Register, client: FlaskClient
) -> None:
    signed_in(client, Role.TASKFORCE)
    default = client.get("/review/").get_data(as_text=True)
    assert "Cycle 2026-Q2" in default  # the last closed cycle
    page = client.get("/review/?cycle=2026-Q2&unit=BETA").get_data(as_text=True)
    view = review_view("2026-Q2", unit="BETA")
    assert _grid(page) == {cell: len(refs) for cell, refs in view.counts.items() if refs}
    assert f"/review/heatmap/{view.key}.png?" in page
    for li, im in _grid(page):
        cell = client.get(f"/review/cell?cycle=2026-Q2&unit=BETA&l={li}&i={im}").get_data(as_text=True)
        assert re.findall(r'<td class="ref"><a href="/risks/([^"]+)">', cell) == view.counts[(li, im)]


def test_heatmap_image_is_valid_repeatable_and_served_from_the_cache(
    closed: Register, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in(client, Role.TASKFORCE)
    view = review_view("2026-Q2")
    url = f"/review/heatmap/{view.key}.png?cycle=2026-Q2"
    png = client.get(url)
    assert png.mimetype == "image/png"
    assert png.headers["X-Heatmap-Cache"] == "hit"  # drawn by the job closing the cycle asked for
    assert Image.open(BytesIO(png.data)).size == (1500, 1125)
    assert png.data == heatmap.render_png(view.spec)  # same inputs, same bytes
    assert png.headers["ETag"] == f'"{view.key}"'
    assert png.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    svg = client.get(f"/review/heatmap/{view.key}.svg?cycle=2026-Q2")
    assert svg.headers["X-Heatmap-Cache"] == "miss"  # only PNGs are drawn ahead: this one is drawn now
    assert ElementTree.fromstring(svg.data).tag.endswith("svg")

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the renderer was called for a cached image")

    monkeypatch.setattr(heatmap, "render_png", refuse)
    again = client.get(url)
    assert again.headers["X-Heatmap-Cache"] == "hit"
    assert again.data == png.data
    not_modified = client.get(url, headers={"If-None-Match": f'"{view.key}"'})
    assert not_modified.status_code == 304
    assert not_modified.data == b""


def test_image_url_with_a_wrong_hash_redirects_and_bad_params_are_404(closed: Register, client: FlaskClient) -> None:
    signed_in(client, Role.TASKFORCE)
    wrong = client.get(f"/review/heatmap/{'0' * 64}.png?cycle=2026-Q2")
    assert wrong.status_code == 302
    assert f"/review/heatmap/{review_view('2026-Q2').key}.png" in wrong.headers["Location"]
    assert client.get(f"/review/heatmap/{'0' * 64}.png?cycle=1999-Q9").status_code == 404
    assert client.get(f"/review/heatmap/{'0' * 64}.png?cycle=2026-Q2&kind=sideways").status_code == 404
    assert client.get(f"/review/heatmap/{'0' * 64}.png?cycle=2026-Q2&unit=NOPE").status_code == 404
    assert client.get("/review/heatmap/abc.png?cycle=2026-Q2").status_code == 404


# --------------------------------------------------------------------------- decisions and roles


def test_decision_is_recorded_audited_and_shows_on_the_minutes(live: Register, client: FlaskClient) -> None:
    signed_in(client, Role.TASKFORCE)
    ref = live.refs["critical"]
    form = {"decision": "return_to_owner", "comment": "Redo", "minute_ref": "TF-2/7", "decided_on": "2026-06-20"}
    assert client.post(f"/review/cycles/2026-Q2/decide/{ref}", data=form).status_code == 302
    minutes = client.get("/review/cycles/2026-Q2/minutes").get_data(as_text=True)
    for expected in (ref, "Redo", "TF-2/7", "Return to owner", "Sent to the risk owner"):
        assert expected in minutes
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "decide")).one()
    assert (event.entity, event.entity_id) == ("risk", ref)
    silent = client.post(f"/review/cycles/2026-Q2/decide/{ref}", data={**form, "decision": "close", "comment": ""})
    assert "comment is required" in silent.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(TaskForceDecision)) == 1


def test_viewer_reads_the_review_but_cannot_decide_or_open_cycles(closed: Register, client: FlaskClient) -> None:
    signed_in(client, Role.VIEWER)
    page = client.get("/review/").get_data(as_text=True)
    assert closed.refs["critical"] in page
    assert "Decide" not in page
    decide = client.post(f"/review/cycles/2026-Q2/decide/{closed.refs['low']}", data={"decision": "noted"})
    assert decide.status_code == 403
    cycle = {"code": "2026-Q4", "period_start": "2026-10-01", "period_end": "2026-12-31"}
    assert client.post("/review/cycles/new", data=cycle).status_code == 403


def test_focal_point_and_anonymous_users_cannot_review(ctx: None, client: FlaskClient) -> None:
    assert client.get("/review/").status_code == 302  # to the sign-in page
    signed_in(client, Role.FOCAL_POINT, make_unit(code="GS-DELTA"))
    for url in ("/review/", "/review/cycles", f"/review/heatmap/{'a' * 64}.png", "/review/cell?l=1&i=1"):
        assert client.get(url).status_code == 403


# --------------------------------------------------------------------------- cycles


def test_coordinator_runs_a_cycle_and_sees_what_to_review(ctx: None, client: FlaskClient) -> None:
    unit = make_unit(code="GS-GAMMA")
    stale = make_risk(unit=unit, residual=(1, 2), assessed_on=date.today() - timedelta(days=400))
    high = make_risk(unit=unit, residual=(4, 3))
    fresh_low = make_risk(unit=unit, category_code="OPS", residual=(1, 1))
    signed_in(client, Role.COORDINATOR)
    form = {"code": "2026-Q4", "period_start": "2026-10-01", "period_end": "2026-12-31"}
    opened = client.post("/review/cycles/new", data=form)
    assert opened.status_code == 302
    page = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert stale.ref in page
    assert high.ref in page
    assert fresh_low.ref not in page
    cycle = queries.cycle_by_code(db.session, "2026-Q4")
    client.post("/review/cycles/2026-Q4/narrative", data={"version": cycle.version, "narrative": "Quiet quarter."})
    db.session.refresh(cycle)
    client.post("/review/cycles/2026-Q4/taskforce-review", data={"version": cycle.version})
    db.session.refresh(cycle)
    assert (cycle.status, cycle.narrative) == (CycleStatus.TF_REVIEW, "Quiet quarter.")
    assert client.post("/review/cycles/2026-Q4/close", data={"version": 1, "confirm": "y"}).status_code == 409
    unconfirmed = client.post("/review/cycles/2026-Q4/close", data={"version": cycle.version})
    assert "Tick the box" in unconfirmed.get_data(as_text=True)
    # The period runs to the end of the year: closing before then is confirmed with a second box.
    client.post("/review/cycles/2026-Q4/close", data={"version": cycle.version, "confirm": "y", "confirm_early": "y"})
    db.session.refresh(cycle)
    assert cycle.status == CycleStatus.CLOSED
    assert cycle.snapshot is not None
    assert cycle.snapshot.risk_count == 3


# --------------------------------------------------------------------------- CLI and start-up


def test_cli_writes_png_and_svg_and_refuses_unknown_cycle(closed: Register, app: Flask, tmp_path) -> None:
    runner = app.test_cli_runner()
    for name in ("map.png", "map.svg"):
        args = [
            "--cycle",
            "2026-Q2",
            "--kind",
            "residual",
            "--out",
            str(tmp_path / name),
            "--arrows",
            "--overlay",
            "FIN",
        ]
        result = runner.invoke(heatmap_command, args)
        assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "map.png").format == "PNG"
    assert ElementTree.parse(tmp_path / "map.svg").getroot().tag.endswith("svg")
    unknown = runner.invoke(heatmap_command, ["--cycle", "1999-Q1", "--out", str(tmp_path / "x.png")])
    assert unknown.exit_code != 0
    assert unknown.output.strip().splitlines() == [unknown.output.strip()]
    assert "1999-Q1" in unknown.output
    bad = runner.invoke(heatmap_command, ["--cycle", "2026-Q2", "--out", str(tmp_path / "x.jpg")])
    assert bad.exit_code != 0
    assert ".png or .svg" in bad.output


def test_app_start_does_not_import_matplotlib() -> None:
    code = (
        "import sys; from riskreg import create_app; "
        "create_app({'SECRET_KEY': 'k' * 40, 'SQLALCHEMY_DATABASE_URI': 'sqlite://'}); "
        "import riskreg.review.views, riskreg.review.queries; "
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
