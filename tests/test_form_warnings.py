"""Slips a new user makes on the register forms: past dates are questioned, long titles are explained, not cut."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from riskreg.extensions import db
from riskreg.models import Action, OrgUnit, Risk, Role
from tests.conftest import login
from tests.factories import category, make_risk, make_unit, make_user
from tests.test_risks_views import assessment_data, ensure_policy, risk_data

PAST = (date.today() - timedelta(days=672)).isoformat()


def _client(app: Flask, unit_code: str) -> tuple[FlaskClient, OrgUnit]:
    unit = make_unit(code=unit_code)
    client = app.test_client()
    login(client, make_user(role=Role.FOCAL_POINT, unit=unit).email)
    return client, unit


def test_a_target_date_in_the_past_is_questioned_then_kept_when_confirmed(app: Flask, ctx: None) -> None:
    ensure_policy()
    client, _unit = _client(app, "GS-WARN")
    data = {**risk_data(category("FIN").id, target_date=PAST), **assessment_data()}
    warned = client.post("/risks/new", data=data)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 200
    assert "is before today" in page
    assert "Keep this target date although it is in the past" in page
    assert db.session.scalar(select(Risk.id)) is None
    kept = client.post("/risks/new", data={**data, "confirm_past_target": "y"})
    assert kept.status_code == 303
    assert db.session.scalars(select(Risk.target_date)).one() == date.fromisoformat(PAST)


def test_an_action_created_overdue_is_questioned(app: Flask, ctx: None) -> None:
    ensure_policy()
    client, unit = _client(app, "GS-WARN")
    risk = make_risk(unit=unit)
    data = {"description": "Chase arrears", "owner_title": "Treasurer", "due_date": PAST, "status": "not_started"}
    data["percent_complete"] = "0"
    warned = client.post(f"/risks/{risk.ref}/actions/new", data=data)
    assert "would be overdue by 672 days" in warned.get_data(as_text=True)
    assert db.session.scalar(select(Action.id)) is None
    kept = client.post(f"/risks/{risk.ref}/actions/new", data={**data, "confirm_overdue": "y"})
    assert kept.status_code == 303
    assert db.session.scalar(select(Action.id)) is not None


def test_a_long_title_is_refused_with_its_length_not_cut(app: Flask, ctx: None) -> None:
    ensure_policy()
    client, _unit = _client(app, "GS-WARN")
    title = "Word " * 30  # 150 characters
    data = {**risk_data(category("FIN").id, title=title), **assessment_data()}
    page = client.post("/risks/new", data=data).get_data(as_text=True)
    assert "The title has 149 characters; shorten it to at most 120 characters" in page
    assert 'data-counter="120"' in page
    assert db.session.scalar(select(Risk.id)) is None
