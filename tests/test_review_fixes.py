"""Rough edges a new user met (issue R9 item 5): each fixed, each held here.

The 403 page names the role and whom to ask; the exports page says what the Council file keeps; demo risks carry
the audit trail their history implies; "review due" counts the same on the home and cycle pages; the decision
notice shows where the user lands; the minute reference example follows the format in use; breadcrumbs end on the
page itself, not on a "/".
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from riskreg import policy
from riskreg.audit import SYSTEM
from riskreg.demo import load_demo
from riskreg.extensions import db
from riskreg.models import Assessment, AuditEvent, Risk, Role, TaskForceDecision
from riskreg.review import agenda, queries
from riskreg.review import operations as ops
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user


@pytest.fixture(autouse=True)
def _fresh_memos() -> None:
    for memo in (queries._SNAPSHOTS, queries._VIEWS, agenda._MOVES):
        memo.clear()


@pytest.fixture
def demo(app: Flask) -> Flask:
    with app.app_context():
        policy.load_bundled_policy(db.session, SYSTEM)
        db.session.commit()
        load_demo(db.session)
    return app


def _as(client: FlaskClient, role: Role) -> FlaskClient:
    login(client, make_user(role=role).email)
    return client


# --------------------------------------------------------------------------- the 403 page


def test_403_names_the_role_what_it_lacks_and_whom_to_ask(ctx: None, client: FlaskClient) -> None:
    _as(client, Role.COORDINATOR)
    page = client.get("/review/cycles/X/decide/Y").get_data(as_text=True)
    assert "ask a risk coordinator" not in page.lower()
    assert "Your role (Risk coordinator) does not include recording task force decisions." in page
    assert "It is for: Task force member." in page
    assert "ask an administrator" in page


def test_403_for_a_focal_point_names_the_review(ctx: None, client: FlaskClient) -> None:
    login(client, make_user(role=Role.FOCAL_POINT, unit=make_unit()).email)
    response = client.get("/review/")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Your role (Department focal point) does not include the task force review" in page
    assert "Risk coordinator" in page  # among the roles that have it


def test_every_permission_is_described_for_the_403_page() -> None:
    from riskreg.access import PERMISSION_PURPOSES, Permission

    assert set(PERMISSION_PURPOSES) == set(Permission)


# --------------------------------------------------------------------------- the exports page


def test_exports_page_says_what_the_council_file_keeps_with_the_count(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        _as(client, Role.COORDINATOR)
        page = client.get("/exports/").get_data(as_text=True)
        cycle = queries.cycle_by_code(db.session, "2026-Q3")
        snapshot, _ = queries.frozen_snapshot(db.session, cycle)
    assert "keeps only corporate risks, risks rated High or above and risks outside tolerance" in page
    assert "leaves out confidential risks" in page
    found = re.search(r"In 2026-Q3 it keeps (\d+) of (\d+) open risks", page)
    assert found is not None
    kept, total = int(found[1]), int(found[2])
    assert 0 < kept < total <= len(snapshot.rows)


# --------------------------------------------------------------------------- the demo's audit trail


def test_demo_risks_show_the_audit_trail_of_their_history(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        counts = (
            select(Assessment.risk_id, func.count().label("n")).group_by(Assessment.risk_id).having(func.count() >= 3)
        )
        risk_id, assessments = db.session.execute(counts.order_by(Assessment.risk_id).limit(1)).one()
        risk = db.session.get(Risk, risk_id)
        assert risk is not None
        events = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "risk", AuditEvent.entity_id == risk.ref)
        ).all()
        assert events.count("assess") == assessments
        assert events.count("create") == 1
        decisions = db.session.scalar(select(func.count()).select_from(TaskForceDecision)) or 0
        decided = db.session.scalar(select(func.count()).where(AuditEvent.action == "decide")) or 0
        assert decided == decisions > 0
        _as(client, Role.VIEWER)
        page = client.get(f"/risks/{risk.ref}").get_data(as_text=True)
    assert "No recorded changes" not in page
    assert page.count(f"assessed {risk.ref}") == assessments


# --------------------------------------------------------------------------- "review due", one definition


def _home_due(page: str) -> int:
    found = re.search(r"Assessments due for review\s*(?:<span class=\"tag tag-warn\">(\d+)</span>)?", page)
    assert found is not None
    return int(found[1] or 0)


def _cycle_due(page: str) -> int:
    found = re.search(r'<span class="tag tag-due">Review due</span> (\d+)</li>', page)
    assert found is not None
    return int(found[1])


def test_review_due_counts_the_same_on_the_home_and_cycle_pages(ctx: None, client: FlaskClient) -> None:
    unit = make_unit()
    today = date.today()
    make_risk(unit=unit, residual=(1, 2), assessed_on=date(today.year - 2, 1, 1))  # long overdue
    make_risk(unit=unit, residual=(1, 1))  # fresh
    ops.open_cycle(db.session, SYSTEM, ops.CycleInput("NOW", date(today.year, 1, 1), date(today.year + 1, 12, 31)))
    _as(client, Role.COORDINATOR)
    home = _home_due(client.get("/").get_data(as_text=True))
    cycle = _cycle_due(client.get("/review/cycles/NOW").get_data(as_text=True))
    assert home == cycle == 1


def test_review_due_agrees_on_the_demo(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        _as(client, Role.COORDINATOR)
        home = _home_due(client.get("/").get_data(as_text=True))
        cycle = _cycle_due(client.get("/review/cycles/2026-Q4").get_data(as_text=True))
    assert home == cycle


# --------------------------------------------------------------------------- the decision notice


def test_decision_notice_is_shown_where_the_user_lands(ctx: None, client: FlaskClient) -> None:
    risk = make_risk(unit=make_unit(), residual=(4, 4))
    today = date.today()
    ops.open_cycle(db.session, SYSTEM, ops.CycleInput("NOW", date(today.year, 1, 1), date(today.year, 12, 31)))
    _as(client, Role.TASKFORCE)
    back = "/review/?cycle=NOW&kind=residual#agenda-outside"
    form = {"decision": "noted", "decided_on": today.isoformat()}
    posted = client.post(f"/review/cycles/NOW/decide/{risk.ref}?next={quote(back)}", data=form)
    assert posted.status_code == 302
    assert posted.headers["Location"] == "/review/?cycle=NOW&kind=residual#decided"
    page = client.get(posted.headers["Location"]).get_data(as_text=True)
    notice = f"Decision on {risk.ref} recorded: Noted."
    assert page.count(notice) == 1
    assert page.index('id="decided"') > page.index('id="agenda"')  # beside the agenda, not at the top
    assert page.index(notice) > page.index('id="decided"')


# --------------------------------------------------------------------------- the minute reference example


def test_minute_reference_example_follows_the_format_in_use(demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        used = db.session.scalars(select(TaskForceDecision.minute_ref).order_by(TaskForceDecision.id.desc())).first()
        ref = db.session.scalars(select(Risk.ref).where(Risk.current_assessment_id.is_not(None))).first()
        _as(client, Role.TASKFORCE)
        page = client.get(f"/review/cycles/2026-Q4/decide/{ref}").get_data(as_text=True)
        assert used is not None
        assert used.startswith("RTF/2026-Q3/")
        assert "e.g. RTF/2026-Q4/001." in page
        assert "TF-2026-3/7" not in page
        risk = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
        cycle = queries.cycle_by_code(db.session, "2026-Q4")
        data = ops.DecisionInput(ops.Decision.NOTED, minute_ref="RTF/2026-Q4/004", decided_on=date(2026, 11, 1))
        ops.record_decision(db.session, SYSTEM, cycle, risk, data)
        assert agenda.minute_ref_example(db.session, cycle) == "RTF/2026-Q4/005"


# --------------------------------------------------------------------------- breadcrumbs


def test_breadcrumbs_end_on_the_page_not_on_a_slash(ctx: None, client: FlaskClient) -> None:
    risk = make_risk(unit=make_unit(), residual=(4, 4))
    today = date.today()
    ops.open_cycle(db.session, SYSTEM, ops.CycleInput("NOW", date(today.year, 1, 1), date(today.year, 12, 31)))
    admin = make_user(role=Role.ADMIN)
    _as(client, Role.TASKFORCE)
    pages = [
        "/review/cycles/NOW",
        "/review/cycles/NOW/minutes",
        f"/review/cycles/NOW/decide/{risk.ref}",
        "/review/cell?cycle=NOW&l=4&i=4",
    ]
    for url in pages:
        page = client.get(url).get_data(as_text=True)
        assert "</a> /</p>" not in page, url
        assert 'class="breadcrumb"' in page, url
        assert 'aria-current="page"' in page, url
    client.post("/logout")
    login(client, admin.email)
    for url in ("/admin/users/new", f"/admin/users/{admin.id}"):
        response = client.get(url)
        if response.status_code == 200:
            assert "</a> /</p>" not in response.get_data(as_text=True), url
