"""Recommendation pages: register filters, status update with evidence, summary, risk page, review standing item."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import Role
from riskreg.review import operations as review_ops
from tests.conftest import login
from tests.factories import make_recommendation, make_risk, make_unit, make_user


def _world(app: Flask) -> dict[str, object]:
    with app.app_context():
        unit = make_unit(code="GS-OVA")
        focal = make_user(role=Role.FOCAL_POINT, unit=unit)
        coordinator = make_user(role=Role.COORDINATOR)
        taskforce = make_user(role=Role.TASKFORCE)
        risk = make_risk(unit=unit)
        rec = make_recommendation(
            unit=unit, number="7", status="in_progress", risk_ids=(risk.id,), text="Adopt a risk appetite statement"
        )
        make_recommendation(unit=unit, number="8", status="under_consideration", rec_type="informal")
        make_recommendation(
            unit=unit, number="9", status="on_track", rec_type="informal", target_date=date.today() - timedelta(days=3)
        )
        # A closed cycle, so that "changed since the previous cycle" counts from its close.
        cycle = review_ops.open_cycle(
            db.session,
            SYSTEM,
            review_ops.CycleInput(code="2020-Q1", period_start=date(2020, 1, 1), period_end=date(2020, 3, 31)),
        )
        cycle.narrative = "First quarter of 2020 reviewed."
        review_ops.close_cycle(db.session, SYSTEM, cycle, cycle.version)
        review_ops.open_cycle(
            db.session,
            SYSTEM,
            review_ops.CycleInput(code="2020-Q2", period_start=date(2020, 4, 1), period_end=date(2020, 6, 30)),
        )
        return {
            "focal": focal.email,
            "coordinator": coordinator.email,
            "taskforce": taskforce.email,
            "rec": rec.id,
            "risk": risk.ref,
        }


def test_focal_point_marks_implemented_with_evidence_and_the_summary_changes(app: Flask, client: FlaskClient) -> None:
    w = _world(app)
    login(client, str(w["coordinator"]))
    before = client.get("/oversight/summary").get_data(as_text=True)
    assert "1 is in progress" in before
    client.post("/logout")

    login(client, str(w["focal"]))
    url = f"/oversight/{w['rec']}/status"
    page = client.get(url)
    assert page.status_code == 200
    refused = client.post(url, data={"status": "implemented", "version": "1"})
    assert refused.status_code == 400
    assert "evidence" in refused.get_data(as_text=True)
    done = client.post(url, data={"status": "implemented", "version": "1", "evidence": "Bulletin SG/2026/3"})
    assert done.status_code == 302
    detail = client.get(f"/oversight/{w['rec']}").get_data(as_text=True)
    assert "Bulletin SG/2026/3" in detail
    assert "Implemented" in detail
    stale = client.post(url, data={"status": "in_progress", "version": "1", "reason": "x"})
    assert stale.status_code == 409
    client.post("/logout")

    login(client, str(w["coordinator"]))
    after = client.get("/oversight/summary").get_data(as_text=True)
    assert "Out of the 1 formal recommendation addressed to the secretariat, 1 has been implemented" in after
    review = client.get("/review/").get_data(as_text=True)
    changed = review.split('id="oversight-changed"')[1].split("</section>")[0]
    assert "In progress → Implemented" in changed
    awaiting = review.split('id="oversight-awaiting"')[1].split("</section>")[0]
    assert "· 8</a>" in awaiting
    overdue = review.split('id="oversight-overdue"')[1].split("</section>")[0]
    assert "· 9</a>" in overdue


def test_register_filters_and_risk_page_link(app: Flask, client: FlaskClient) -> None:
    w = _world(app)
    login(client, str(w["taskforce"]))
    informal = client.get("/oversight/?rec_type=informal").get_data(as_text=True)
    assert f'/oversight/{w["rec"]}"' not in informal
    assert "under consideration by the governing bodies" in informal
    assert "· 9" not in client.get("/oversight/?overdue=1&status=implemented").get_data(as_text=True)
    # Odd filter values are ignored, never an error page.
    assert client.get("/oversight/?status=%00bogus&body=<x>&overdue=yes").status_code == 200
    assert client.get("/oversight/summary?as_at=not-a-date").status_code == 200
    assert client.get("/oversight/summary?as_at=2999-01-01").status_code == 200
    risk_page = client.get(f"/risks/{w['risk']}").get_data(as_text=True)
    assert f"/oversight/{w['rec']}" in risk_page
    assert "Adopt a risk appetite statement" in client.get(f"/oversight/{w['rec']}").get_data(as_text=True)


def test_coordinator_links_risks_by_reference(app: Flask, client: FlaskClient) -> None:
    w = _world(app)
    login(client, str(w["coordinator"]))
    url = f"/oversight/{w['rec']}/risks"
    assert client.post(url, data={"refs": "NOPE-1"}).status_code == 400
    assert client.post(url, data={"refs": ""}).status_code == 302
    assert f"/oversight/{w['rec']}" not in client.get(f"/risks/{w['risk']}").get_data(as_text=True)
    assert client.post(url, data={"refs": str(w["risk"])}).status_code == 302
    assert f"/oversight/{w['rec']}" in client.get(f"/risks/{w['risk']}").get_data(as_text=True)
