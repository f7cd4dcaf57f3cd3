"""The register's web pages end to end: register, assess, treat, edit, conflict, delete, restore, scoping.

Requests run outside any app context held by the test (Flask would otherwise share `g`, and the signed-in
user, between requests); setup and checks open their own short app contexts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import Action, ActionStatus, Assessment, AuditEvent, Control, Risk, Role
from riskreg.policy import load_bundled_policy
from riskreg.risks import operations as ops
from tests.conftest import login
from tests.factories import category, make_risk, make_unit, make_user


@dataclass(frozen=True)
class World:
    ref: str  # a FRMD risk, High residual (4x4), with one control and one action
    other_ref: str  # an ICT risk
    action_id: int
    control_id: int
    fin_id: int


FP_FRMD = "fp.frmd@example.org"
FP_ICT = "fp.ict@example.org"
COORD = "coord@example.org"
VIEWER = "viewer@example.org"


def ensure_policy() -> None:
    """Reload the bundled statements if missing: on PostgreSQL conftest's TRUNCATE ... CASCADE of `users`
    also empties `appetite_statements` (it references users), so every risk would be "not evaluated".
    """
    load_bundled_policy(db.session, SYSTEM)
    db.session.commit()


@pytest.fixture(autouse=True)
def quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2 parameters: these tests sign in often and are not about password hashing."""
    from argon2 import PasswordHasher

    from riskreg.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        ensure_policy()
        frmd = make_unit(code="GS-FRMD", name="Financial Resources Management")
        ict = make_unit(code="GS-ICT", name="Information Services")
        make_user(role=Role.FOCAL_POINT, unit=frmd, email=FP_FRMD)
        make_user(role=Role.FOCAL_POINT, unit=ict, email=FP_ICT)
        make_user(role=Role.COORDINATOR, email=COORD)
        make_user(role=Role.VIEWER, email=VIEWER)
        risk = make_risk(unit=frmd, title="Marker FRMD cash shortfall", residual=(4, 4))
        other = make_risk(unit=ict, title="Marker ICT ransomware", category_code="ICT", residual=(3, 3))
        control = ops.add_control(db.session, SYSTEM, risk, ops.ControlInput(description="Monthly cash forecast"))
        action = ops.add_action(
            db.session,
            SYSTEM,
            risk,
            ops.ActionInput(description="Negotiate a credit line", owner_title="Treasurer", due_date=date(2030, 1, 1)),
        )
        return World(risk.ref, other.ref, action.id, control.id, category("FIN").id)


def risk_data(fin_id: int, **overrides: Any) -> dict[str, str]:
    data = {
        "title": "Late contributions strain cash flow",
        "cause": "several member states pay their assessed contributions late",
        "event": "cash reserves fall below three months of expenditure",
        "consequence": "delay programme delivery and staff payments",
        "category_id": str(fin_id),
        "owner_title": "Chief, Financial Resources",
        "nature": "threat",
        "level": "departmental",
        "treatment": "treat",
        "linked_objective": "SG1.2",
        "target_likelihood": "2",
        "target_impact": "3",
        "target_date": "2027-06-30",
    }
    data.update(overrides)
    return data


def assessment_data(**overrides: Any) -> dict[str, str]:
    data = {
        "inherent_likelihood": "5",
        "inherent_impact": "4",
        "residual_likelihood": "4",
        "residual_impact": "4",
        "control_effectiveness": "partially_effective",
        "velocity": "3",
        "trend_reason": "",
        "rationale": "Two large contributors are late this year.",
    }
    data.update(overrides)
    return data


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def stored_risk(app: Flask, ref: str) -> Risk:
    with app.app_context():
        risk = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
        db.session.expunge(risk)
        return risk


def listed(html: str) -> list[str]:
    """The references in a register list page's rows."""
    return re.findall(r'<td class="ref"><a href="/risks/([^"]+)">', html)


def version_of(app: Flask, ref: str) -> int:
    return stored_risk(app, ref).version


# --------------------------------------------------------------------------- the main journey


def test_focal_point_registers_assesses_and_treats_a_risk_end_to_end(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    form = client.get("/risks/new")
    assert form.status_code == 200
    assert "Almost certain" in form.text
    assert "80–100%" not in form.text
    assert "&gt; 80%" in form.text

    response = client.post("/risks/new", data={**risk_data(world.fin_id), **assessment_data()})
    assert response.status_code == 303
    ref = f"FRMD-{date.today().year}-"
    location = response.headers["Location"]
    assert f"/risks/{ref}" in location
    new_ref = location.rsplit("/", 1)[-1]

    page = client.get(location)
    assert page.status_code == 200
    text = page.text
    assert "Late contributions strain cash flow" in text
    assert "Because several member states pay their assessed contributions late, there is a risk that" in text
    assert "High" in text
    assert "Outside tolerance" in text
    assert "version 2.0" in text
    assert "No treatment plan" in text  # High, treated, and no action yet

    added = client.post(
        f"/risks/{new_ref}/actions/new",
        data={
            "description": "Agree payment plans with the two largest contributors",
            "owner_title": "Treasurer",
            "due_date": "2027-03-31",
            "revised_due_date": "",
            "status": "on_track",
            "percent_complete": "20",
            "expected_effect": "",
            "comment": "",
        },
    )
    assert added.status_code == 303
    page = client.get(f"/risks/{new_ref}").text
    assert f"{new_ref}-A1" in page
    assert "Agree payment plans with the two largest contributors" in page
    assert "No treatment plan" not in page
    assert "registered " + new_ref in page  # audit trail
    assert "action " + new_ref + "-A1 added" in page


def test_new_risk_reference_and_unit_come_from_the_user_not_the_form(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    data = {**risk_data(world.fin_id), **assessment_data(), "unit": "GS-ICT", "org_unit_id": "999", "ref": "HACK-1"}
    response = client.post("/risks/new", data=data)
    assert response.status_code == 303
    new_ref = response.headers["Location"].rsplit("/", 1)[-1]
    assert new_ref.startswith("FRMD-")
    with app.app_context():
        risk = db.session.scalars(select(Risk).where(Risk.ref == new_ref)).one()
        assert risk.org_unit.code == "GS-FRMD"


def test_coordinator_chooses_the_unit_when_registering(app: Flask, world: World) -> None:
    client = signed_in(app, COORD)
    assert 'name="unit"' in client.get("/risks/new").text
    missing = client.post("/risks/new", data={**risk_data(world.fin_id), **assessment_data()})
    assert missing.status_code == 200
    assert "Choose a unit." in missing.text
    response = client.post("/risks/new", data={**risk_data(world.fin_id), **assessment_data(), "unit": "GS-ICT"})
    assert response.status_code == 303
    assert "/risks/ICT-" in response.headers["Location"]


def test_edit_cannot_move_a_risk_or_change_its_reference(app: Flask, world: World) -> None:
    client = signed_in(app, COORD)
    version = version_of(app, world.ref)
    data = {**risk_data(world.fin_id, title="Renamed"), "version": str(version), "unit": "GS-ICT"}
    data.update({"org_unit_id": "2", "ref": "ICT-2020-999"})
    assert client.post(f"/risks/{world.ref}/edit", data=data).status_code == 303
    risk = stored_risk(app, world.ref)
    assert risk.title == "Renamed"
    with app.app_context():
        assert db.session.get(Risk, risk.id).org_unit.code == "GS-FRMD"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- scoping


def _routes(world: World) -> list[tuple[str, str]]:
    ref, a, c = world.ref, world.action_id, world.control_id
    return [
        ("GET", f"/risks/{ref}"),
        ("GET", f"/risks/{ref}/history"),
        ("GET", f"/risks/{ref}/edit"),
        ("POST", f"/risks/{ref}/edit"),
        ("GET", f"/risks/{ref}/assess"),
        ("POST", f"/risks/{ref}/assess"),
        ("GET", f"/risks/{ref}/delete"),
        ("POST", f"/risks/{ref}/delete"),
        ("GET", f"/risks/{ref}/controls/new"),
        ("POST", f"/risks/{ref}/controls/new"),
        ("GET", f"/risks/{ref}/controls/{c}/edit"),
        ("POST", f"/risks/{ref}/controls/{c}/edit"),
        ("POST", f"/risks/{ref}/controls/{c}/retire"),
        ("GET", f"/risks/{ref}/actions/new"),
        ("POST", f"/risks/{ref}/actions/new"),
        ("GET", f"/risks/{ref}/actions/{a}/edit"),
        ("POST", f"/risks/{ref}/actions/{a}/edit"),
        ("POST", f"/risks/{ref}/actions/{a}/complete"),
    ]


def test_another_units_focal_point_gets_404_on_every_risk_route(app: Flask, world: World) -> None:
    client = signed_in(app, FP_ICT)
    version = version_of(app, world.ref)
    for method, url in _routes(world):
        data = {"version": str(version), "reason": "gone", "description": "x", "title": "Hijacked"}
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "Marker FRMD" not in response.text
    assert version_of(app, world.ref) == version
    listing = client.get("/risks?q=Marker").text
    assert "Marker ICT ransomware" in listing
    assert "Marker FRMD" not in listing
    home = client.get("/").text
    assert world.ref not in home


def test_own_units_focal_point_reaches_every_risk_route(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    for method, url in _routes(world):
        if method == "GET":
            assert client.get(url).status_code == 200, url


def test_control_or_action_of_another_risk_is_404(app: Flask, world: World) -> None:
    client = signed_in(app, COORD)
    assert client.get(f"/risks/{world.other_ref}/actions/{world.action_id}/edit").status_code == 404
    assert client.get(f"/risks/{world.other_ref}/controls/{world.control_id}/edit").status_code == 404


def test_viewer_reads_but_cannot_write(app: Flask, world: World) -> None:
    client = signed_in(app, VIEWER)
    page = client.get(f"/risks/{world.ref}")
    assert page.status_code == 200
    assert "Edit risk" not in page.text
    assert client.get(f"/risks/{world.ref}/edit").status_code == 403
    assert client.post(f"/risks/{world.ref}/delete", data={"reason": "x", "version": "1"}).status_code == 403


# --------------------------------------------------------------------------- forms and rules


def test_field_errors_are_shown_beside_their_fields(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    data = {**risk_data(world.fin_id, title="x" * 121, cause="bad\x00byte", owner_title=""), **assessment_data()}
    data.pop("residual_impact")
    response = client.post("/risks/new", data=data)
    assert response.status_code == 200
    text = response.text
    assert re.search(r'id="title-error".*?120 characters', text, re.S)
    assert re.search(r'id="cause-error".*?control characters', text, re.S)
    assert re.search(r'id="owner_title-error".*?required', text, re.S)
    assert re.search(r'id="residual_impact-error".*?Choose one of the levels', text, re.S)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Risk)) == 2


def test_exploit_is_refused_for_a_threat_beside_the_treatment(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    response = client.post("/risks/new", data={**risk_data(world.fin_id, treatment="exploit"), **assessment_data()})
    assert response.status_code == 200
    assert re.search(r'id="treatment-error".*?opportunities only', response.text, re.S)


def test_residual_above_inherent_needs_a_rationale(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    version = version_of(app, world.ref)
    data = assessment_data(inherent_likelihood="2", inherent_impact="2", rationale="", version=str(version))
    response = client.post(f"/risks/{world.ref}/assess", data=data)
    assert response.status_code == 200
    assert re.search(r'id="rationale-error".*?residual score is above the inherent', response.text, re.S)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == 2
    data["rationale"] = "The main control failed an audit test."
    assert client.post(f"/risks/{world.ref}/assess", data=data).status_code == 303
    risk = stored_risk(app, world.ref)
    assert (risk.inherent_score, risk.residual_score) == (4, 16)


def test_assessment_form_shows_each_levels_label_description_and_probability(app: Flask, world: World) -> None:
    text = signed_in(app, FP_FRMD).get(f"/risks/{world.ref}/assess").text
    assert "Possible" in text
    assert "Could occur once in 2 to 5 years" in text
    assert "20–50%" in text
    assert "Moderate" in text
    assert "An outcome is at risk" in text
    assert re.search(r'name="residual_likelihood" value="4" checked', text)  # starts from the current scores


def test_new_assessment_is_added_and_history_shows_the_change(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    data = assessment_data(residual_likelihood="2", residual_impact="4", version=str(version_of(app, world.ref)))
    assert client.post(f"/risks/{world.ref}/assess", data=data).status_code == 303
    page = client.get(f"/risks/{world.ref}").text
    assert "−8" in page  # 16 -> 8
    assert "band High → Medium" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == 3


_ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=130)
_RISK_FIELDS = {
    **{name: _ANY_TEXT for name in ("title", "cause", "event", "consequence", "owner_title", "linked_objective")},
    "category_id": st.one_of(_ANY_TEXT, st.integers(-(2**40), 2**40).map(str)),
    "nature": st.sampled_from(["threat", "opportunity", "", "x"]),
    "treatment": st.sampled_from(["treat", "exploit", "tolerate", "", "nonsense"]),
    "target_likelihood": st.sampled_from(["", "1", "5", "6", "0", "-1", "99999999999", "a"]),
    "target_impact": st.sampled_from(["", "3", "7", "x"]),
    "target_date": st.sampled_from(["", "2027-01-01", "0001-01-01", "9999-12-31", "2027-02-30", "tomorrow"]),
    "unit": st.sampled_from(["GS-FRMD", "GS-ICT", "", "NOPE"]),
    "inherent_likelihood": st.sampled_from(["1", "3", "5", "6", "", "x"]),
    "residual_impact": st.sampled_from(["1", "4", "0", "", "1e9"]),
    "velocity": st.sampled_from(["", "3", "9"]),
    "trend_reason": st.sampled_from(["", "other", "bogus"]),
    "rationale": _ANY_TEXT,
}


@pytest.fixture
def coordinator(app: Flask, world: World) -> FlaskClient:
    return signed_in(app, COORD)


# The examples share one database and client: each either changes nothing or adds a risk.
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.fixed_dictionaries({}, optional=_RISK_FIELDS))
def test_no_form_input_reaches_a_500(coordinator: FlaskClient, world: World, overrides: dict[str, str]) -> None:
    client = coordinator
    data = {**risk_data(world.fin_id), **assessment_data(), "unit": "GS-FRMD", **overrides}
    response = client.post("/risks/new", data=data)
    assert response.status_code in (200, 303)
    edit = client.post(f"/risks/{world.ref}/edit", data={**data, "version": "999"})
    assert edit.status_code in (200, 409)


def test_odd_addresses_answer_404_not_500(app: Flask, world: World) -> None:
    client = signed_in(app, COORD)
    for url in (
        "/risks/%00",
        "/risks/" + "A" * 300,
        f"/risks/{world.ref}/actions/99999999999999999999/edit",
        f"/risks/{world.ref}/controls/99999999999999999999/edit",
    ):
        assert client.get(url).status_code == 404, url


# --------------------------------------------------------------------------- conflicts


def test_stale_edit_answers_409_with_both_versions_and_who_changed_it(app: Flask, world: World) -> None:
    mine, theirs = signed_in(app, FP_FRMD), signed_in(app, COORD)
    seen = version_of(app, world.ref)
    assert (
        theirs.post(
            f"/risks/{world.ref}/edit", data={**risk_data(world.fin_id, title="Their title"), "version": str(seen)}
        ).status_code
        == 303
    )
    response = mine.post(
        f"/risks/{world.ref}/edit",
        data={**risk_data(world.fin_id, title="My carefully typed title"), "version": str(seen)},
    )
    assert response.status_code == 409
    text = response.text
    assert "My carefully typed title" in text
    assert "Their title" in text
    assert COORD in text
    current = version_of(app, world.ref)
    assert f'name="version" type="hidden" value="{current}"' in text
    assert re.search(r'<input[^>]*name="title"[^>]*value="My carefully typed title"', text)
    assert stored_risk(app, world.ref).title == "Their title"

    again = mine.post(
        f"/risks/{world.ref}/edit",
        data={**risk_data(world.fin_id, title="My carefully typed title"), "version": str(current)},
    )
    assert again.status_code == 303
    assert stored_risk(app, world.ref).title == "My carefully typed title"


def test_stale_action_edit_answers_409(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    data = {
        "description": "Negotiate a credit line",
        "owner_title": "Treasurer",
        "due_date": "2030-01-01",
        "status": "delayed",
        "percent_complete": "10",
        "version": "1",
    }
    assert client.post(f"/risks/{world.ref}/actions/{world.action_id}/edit", data=data).status_code == 303
    response = client.post(f"/risks/{world.ref}/actions/{world.action_id}/edit", data={**data, "status": "on_track"})
    assert response.status_code == 409
    assert FP_FRMD in response.text


# --------------------------------------------------------------------------- controls and actions


def test_overdue_action_is_computed_from_today_and_shown(app: Flask, world: World) -> None:
    with app.app_context():
        risk = db.session.scalars(select(Risk).where(Risk.ref == world.ref)).one()
        due = date.today() - timedelta(days=5)
        ops.add_action(db.session, SYSTEM, risk, ops.ActionInput("Late one", "Treasurer", due_date=due))
    page = signed_in(app, FP_FRMD).get(f"/risks/{world.ref}").text
    assert "Overdue by 5 days" in page


def test_complete_action_and_retire_control(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    assert (
        client.post(f"/risks/{world.ref}/actions/{world.action_id}/complete", data={"version": "1"}).status_code == 303
    )
    assert (
        client.post(f"/risks/{world.ref}/controls/{world.control_id}/retire", data={"version": "1"}).status_code == 303
    )
    with app.app_context():
        action = db.session.get(Action, world.action_id)
        control = db.session.get(Control, world.control_id)
        assert action is not None
        assert action.status == ActionStatus.COMPLETED
        assert action.percent_complete == 100
        assert control is not None
        assert control.retired_at is not None
    page = client.get(f"/risks/{world.ref}").text
    assert "No treatment plan" in page  # the only action is done, the risk is still High and treated
    assert "Retired" in page


def test_completed_action_needs_full_progress(app: Flask, world: World) -> None:
    client = signed_in(app, FP_FRMD)
    data = {
        "description": "Do it",
        "owner_title": "Treasurer",
        "due_date": "2030-01-01",
        "status": "completed",
        "percent_complete": "50",
    }
    response = client.post(f"/risks/{world.ref}/actions/new", data=data)
    assert response.status_code == 200
    assert re.search(r'id="percent_complete-error".*?100% complete', response.text, re.S)


# --------------------------------------------------------------------------- delete and restore


def test_soft_deleted_risk_leaves_list_counts_and_home_and_can_be_restored(app: Flask, world: World) -> None:
    focal, coordinator = signed_in(app, FP_FRMD), signed_in(app, COORD)
    assert world.ref in listed(focal.get("/risks").text)
    home_before = focal.get("/").text
    assert "1 High band" in home_before

    missing_reason = focal.post(f"/risks/{world.ref}/delete", data={"reason": "", "version": "3"})
    assert missing_reason.status_code == 200
    assert 'id="reason-error"' in missing_reason.text
    version = version_of(app, world.ref)
    deleted = focal.post(f"/risks/{world.ref}/delete", data={"reason": "Duplicate of another", "version": version})
    assert deleted.status_code == 303

    assert world.ref not in listed(focal.get("/risks").text)
    assert "0 High band" in focal.get("/").text
    assert focal.get(f"/risks/{world.ref}").status_code == 404
    assert world.ref not in listed(coordinator.get("/risks?q=Marker").text)
    assert focal.get("/risks/deleted").status_code == 403

    trash = coordinator.get("/risks/deleted").text
    assert world.ref in trash
    assert "Duplicate of another" in trash
    assert "This risk is deleted" in coordinator.get(f"/risks/{world.ref}").text
    restored = coordinator.post(f"/risks/{world.ref}/restore", data={"version": version_of(app, world.ref)})
    assert restored.status_code == 303
    assert world.ref in listed(focal.get("/risks").text)
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == world.ref)))
        assert {"delete", "restore"} <= actions


# --------------------------------------------------------------------------- home


def test_home_counts_link_to_the_list_behind_them(app: Flask, world: World) -> None:
    with app.app_context():
        unit = db.session.scalars(select(Risk).where(Risk.ref == world.ref)).one().org_unit
        make_risk(unit=unit, title="Second", residual=(3, 3))
        make_risk(unit=unit, title="Third", residual=(3, 3))
        late = make_risk(
            unit=unit, title="Stale review", residual=(1, 2), assessed_on=date.today() - timedelta(days=400)
        )
        ops.add_action(
            db.session, SYSTEM, late, ops.ActionInput("Overdue", "Treasurer", due_date=date.today() - timedelta(1))
        )
    client = signed_in(app, FP_FRMD)
    home = client.get("/").text
    for label in ("above appetite", "outside tolerance", "overdue actions", "assessments due for review"):
        match = re.search(
            r'<a href="([^"]+)">\s*<span class="card-number">(\d+)</span>\s*<span class="card-label">' + label, home
        )
        assert match, label
        url, number = match.group(1).replace("&amp;", "&"), int(match.group(2))
        listing = client.get(url).text
        assert len(listed(listing)) == number, (label, url)
    assert "Stale review" in home  # its review is due


def test_coordinator_home_shows_every_unit(app: Flask, world: World) -> None:
    text = signed_in(app, COORD).get("/").text
    assert "GS-FRMD" in text
    assert "GS-ICT" in text
    assert "By unit" in text
