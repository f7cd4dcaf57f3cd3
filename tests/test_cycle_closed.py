"""A closed cycle is closed: the web (409), the CLI and plain SQL refuse to change its record; addenda instead.

Also: closing needs a narrative and, before the period's end or the meeting, a confirmation; the review page
opens on the cycle being worked on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import AuditEvent, CycleAddendum, CycleStatus, ReviewCycle, Role, TaskForceDecision
from riskreg.review import agenda, queries
from riskreg.review import operations as ops
from riskreg.review.cycle_commands import cycle_group
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user

Q1 = ops.CycleInput("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), taskforce_meeting_on=date(2026, 3, 20))
Q2 = ops.CycleInput("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), taskforce_meeting_on=date(2026, 6, 20))


@dataclass
class World:
    ref: str  # a risk in both cycles
    closed_id: int  # 2026-Q1, closed, with one decision
    open_id: int  # 2026-Q2, open


@pytest.fixture(autouse=True)
def _fresh_memos() -> None:
    for memo in (queries._SNAPSHOTS, queries._VIEWS, agenda._MOVES):
        memo.clear()


@pytest.fixture
def world(ctx: None) -> World:
    risk = make_risk(unit=make_unit(code="GS-CLOSED"), residual=(4, 4))
    q1 = ops.open_cycle(db.session, SYSTEM, Q1)
    ops.record_decision(db.session, SYSTEM, q1, risk, ops.DecisionInput(ops.Decision.NOTED, minute_ref="TF-1/1"))
    ops.set_narrative(db.session, SYSTEM, q1, "A quiet first quarter.", q1.version)
    ops.close_cycle(db.session, SYSTEM, q1, q1.version)
    q2 = ops.open_cycle(db.session, SYSTEM, Q2)
    return World(risk.ref, q1.id, q2.id)


def _cycle(cycle_id: int) -> ReviewCycle:
    found = db.session.get(ReviewCycle, cycle_id)
    assert found is not None
    db.session.refresh(found)
    return found


def _sign_in(client: FlaskClient, role: Role) -> FlaskClient:
    login(client, make_user(role=role).email)
    return client


def _decisions() -> int:
    return db.session.scalar(select(func.count()).select_from(TaskForceDecision)) or 0


# --------------------------------------------------------------------------- the web: 409 with an explanation


def test_web_refuses_decisions_on_a_closed_cycle_with_409(world: World, client: FlaskClient) -> None:
    _sign_in(client, Role.TASKFORCE)
    page = client.get(f"/review/cycles/2026-Q1/decide/{world.ref}")
    assert page.status_code == 409
    body = page.get_data(as_text=True)
    assert "Cycle 2026-Q1 is closed" in body
    assert "addendum" in body
    form = {"decision": "escalate", "comment": "Too late", "decided_on": "2026-03-20"}
    posted = client.post(f"/review/cycles/2026-Q1/decide/{world.ref}", data=form)
    assert posted.status_code == 409
    assert _decisions() == 1
    # The open cycle still takes decisions; the closed one's review page offers no Decide button.
    in_q2 = {**form, "decision": "noted", "decided_on": "2026-06-20"}
    assert client.post(f"/review/cycles/2026-Q2/decide/{world.ref}", data=in_q2).status_code == 302
    assert _decisions() == 2
    closed_page = client.get("/review/?cycle=2026-Q1").get_data(as_text=True)
    assert "/review/cycles/2026-Q1/decide/" not in closed_page
    assert "its decisions are frozen" in closed_page


def test_web_refuses_narrative_and_status_changes_on_a_closed_cycle_with_409(world: World, client: FlaskClient) -> None:
    _sign_in(client, Role.COORDINATOR)
    version = _cycle(world.closed_id).version
    posted = client.post("/review/cycles/2026-Q1/narrative", data={"version": version, "narrative": "Rewritten."})
    assert posted.status_code == 409
    assert "narrative can no longer change" in posted.get_data(as_text=True)
    step = {"version": version, "confirm": "y", "confirm_early": "y"}
    assert client.post("/review/cycles/2026-Q1/taskforce-review", data=step).status_code == 409
    assert client.post("/review/cycles/2026-Q1/close", data=step).status_code == 409
    cycle = _cycle(world.closed_id)
    assert (cycle.narrative, cycle.status) == ("A quiet first quarter.", CycleStatus.CLOSED)
    page = client.get("/review/cycles/2026-Q1").get_data(as_text=True)
    assert 'action="/review/cycles/2026-Q1/narrative"' not in page


def test_operations_refuse_a_closed_cycle(world: World) -> None:
    closed = _cycle(world.closed_id)
    risk_id = db.session.scalar(select(TaskForceDecision.risk_id))
    from riskreg.models import Risk

    risk = db.session.get(Risk, risk_id)
    assert risk is not None
    with pytest.raises(ops.CycleClosedError):
        ops.record_decision(db.session, SYSTEM, closed, risk, ops.DecisionInput(ops.Decision.NOTED))
    with pytest.raises(ops.CycleClosedError):
        ops.set_narrative(db.session, SYSTEM, closed, "Other text", closed.version)
    with pytest.raises(ops.CycleClosedError):
        ops.start_taskforce_review(db.session, SYSTEM, closed, closed.version)


# --------------------------------------------------------------------------- the command line


def test_cli_refuses_decisions_and_narrative_on_a_closed_cycle(world: World, app: Flask) -> None:
    runner = app.test_cli_runner()
    refused = runner.invoke(cycle_group, ["decide", "2026-Q1", world.ref, "--decision", "noted"])
    assert refused.exit_code != 0
    assert "2026-Q1 is closed" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    narrative = runner.invoke(cycle_group, ["narrative", "2026-Q1", "--text", "Rewritten."])
    assert narrative.exit_code != 0
    assert "narrative can no longer change" in narrative.output
    assert _decisions() == 1
    assert _cycle(world.closed_id).narrative == "A quiet first quarter."
    # The same commands work on the open cycle.
    ok = runner.invoke(cycle_group, ["decide", "2026-Q2", world.ref, "--decision", "noted", "--minute-ref", "TF-2/1"])
    assert ok.exit_code == 0, ok.output
    assert runner.invoke(cycle_group, ["narrative", "2026-Q2", "--text", "Second."]).exit_code == 0
    assert _decisions() == 2
    assert _cycle(world.open_id).narrative == "Second."


def test_cli_close_needs_the_narrative_and_confirmation_before_the_dates(ctx: None, app: Flask) -> None:
    today = date.today()
    ops.open_cycle(db.session, SYSTEM, ops.CycleInput("NOW", today - timedelta(days=60), today + timedelta(days=30)))
    runner = app.test_cli_runner()
    no_narrative = runner.invoke(cycle_group, ["close", "NOW", "--before-dates"])
    assert no_narrative.exit_code != 0
    assert "narrative" in no_narrative.output
    assert runner.invoke(cycle_group, ["narrative", "NOW", "--text", "Done early."]).exit_code == 0
    early = runner.invoke(cycle_group, ["close", "NOW"])
    assert early.exit_code != 0
    assert "--before-dates" in early.output
    closed = runner.invoke(cycle_group, ["close", "NOW", "--before-dates"])
    assert closed.exit_code == 0, closed.output
    assert queries.cycle_by_code(db.session, "NOW").status == CycleStatus.CLOSED


# --------------------------------------------------------------------------- plain SQL: triggers


def test_database_refuses_decision_writes_on_a_closed_cycle(world: World) -> None:
    risk_id = db.session.scalar(select(TaskForceDecision.risk_id))
    insert = (
        "INSERT INTO taskforce_decisions (review_cycle_id, risk_id, decision, comment, minute_ref, decided_on, "
        "created_at) VALUES (:cycle, :risk, 'noted', '', '', '2026-03-20', '2026-03-20 10:00:00')"
    )
    statements = [
        (insert, {"cycle": world.closed_id, "risk": risk_id}),
        ("UPDATE taskforce_decisions SET comment = 'changed'", {}),
        ("UPDATE taskforce_decisions SET review_cycle_id = :open", {"open": world.open_id}),
        ("DELETE FROM taskforce_decisions", {}),
    ]
    for statement, params in statements:
        with pytest.raises(DBAPIError, match="closed review cycle"):
            db.session.execute(text(statement), params)
        db.session.rollback()
    # A decision of the open cycle is an ordinary row.
    db.session.execute(text(insert), {"cycle": world.open_id, "risk": risk_id})
    db.session.execute(
        text("UPDATE taskforce_decisions SET comment = 'ok' WHERE review_cycle_id = :c"), {"c": world.open_id}
    )
    db.session.execute(text("DELETE FROM taskforce_decisions WHERE review_cycle_id = :c"), {"c": world.open_id})
    db.session.commit()
    assert _decisions() == 1


def test_database_refuses_changes_to_a_closed_cycle_record(world: World) -> None:
    for assignment in (
        "narrative = 'Rewritten'",
        "taskforce_meeting_on = '2026-03-27'",
        "period_end = '2026-04-30'",
        "target_session = 'Council 2030'",
        "status = 'open'",
    ):
        with pytest.raises(DBAPIError, match="closed review cycle"):
            db.session.execute(text(f"UPDATE review_cycles SET {assignment} WHERE id = :id"), {"id": world.closed_id})
        db.session.rollback()
    with pytest.raises(DBAPIError):
        db.session.execute(text("DELETE FROM review_cycles WHERE id = :id"), {"id": world.closed_id})
    db.session.rollback()
    # The open cycle's agenda and narrative are still editable in SQL.
    db.session.execute(
        text("UPDATE review_cycles SET narrative = 'Draft', taskforce_meeting_on = '2026-06-21' WHERE id = :id"),
        {"id": world.open_id},
    )
    db.session.commit()
    assert _cycle(world.open_id).narrative == "Draft"


def test_database_keeps_addenda_append_only_and_for_closed_cycles(world: World) -> None:
    ops.add_addendum(db.session, SYSTEM, _cycle(world.closed_id), "Minute TF-1/1 was taken on 21 March.", None)
    for statement in ("UPDATE cycle_addenda SET text = 'x'", "DELETE FROM cycle_addenda"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    with pytest.raises(DBAPIError, match="closed review cycles"):
        db.session.execute(
            text(
                "INSERT INTO cycle_addenda (review_cycle_id, number, text, added_on, signed_by, created_at) "
                "VALUES (:c, 1, 'x', '2026-06-01', 'me', '2026-06-01 10:00:00')"
            ),
            {"c": world.open_id},
        )
    db.session.rollback()


# --------------------------------------------------------------------------- addenda


def test_addendum_is_appended_signed_audited_and_printed_with_the_minutes(world: World, client: FlaskClient) -> None:
    user = make_user(role=Role.TASKFORCE, title="Chair of the task force")
    login(client, user.email)
    page = client.get("/review/cycles/2026-Q1").get_data(as_text=True)
    assert 'action="/review/cycles/2026-Q1/addenda"' in page
    posted = client.post("/review/cycles/2026-Q1/addenda", data={"text": "Minute TF-1/1 was taken on 21 March."})
    assert posted.status_code == 302
    assert posted.headers["Location"].endswith("/review/cycles/2026-Q1#addenda")
    client.post("/review/cycles/2026-Q1/addenda", data={"text": "Second correction."})
    rows = db.session.scalars(select(CycleAddendum).order_by(CycleAddendum.number)).all()
    assert [(a.number, a.added_on, a.signed_by_id) for a in rows] == [
        (1, date.today(), user.id),
        (2, date.today(), user.id),
    ]
    assert rows[0].signed_by == f"{user.name}, Chair of the task force"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "addendum")).all()
    assert [(e.entity, e.entity_id, e.actor_id) for e in events] == [("review_cycle", "2026-Q1", user.id)] * 2
    minutes = client.get("/review/cycles/2026-Q1/minutes").get_data(as_text=True)
    assert "Correct these minutes with an addendum" in minutes
    assert "Addenda after closing" in minutes
    assert minutes.index("Addendum 1") < minutes.index("Addendum 2")
    assert "Minute TF-1/1 was taken on 21 March." in minutes
    assert f"Signed: {user.name}, Chair of the task force" in minutes
    # Empty text, and open cycles, are refused; a viewer cannot add one.
    assert "Error:" in client.post("/review/cycles/2026-Q1/addenda", data={"text": "  "}).get_data(as_text=True)
    open_cycle = client.post("/review/cycles/2026-Q2/addenda", data={"text": "Not yet."}, follow_redirects=True)
    assert "is not closed" in open_cycle.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CycleAddendum)) == 2


def test_viewer_and_focal_point_cannot_add_an_addendum(world: World, client: FlaskClient) -> None:
    _sign_in(client, Role.VIEWER)
    assert client.post("/review/cycles/2026-Q1/addenda", data={"text": "Mine."}).status_code == 403
    assert 'action="/review/cycles/2026-Q1/addenda"' not in client.get("/review/cycles/2026-Q1").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CycleAddendum)) == 0


def test_cli_addendum_is_signed_by_an_allowed_user(world: World, app: Flask) -> None:
    coordinator = make_user(role=Role.COORDINATOR)
    viewer = make_user(role=Role.VIEWER)
    runner = app.test_cli_runner()
    refused = runner.invoke(cycle_group, ["addendum", "2026-Q1", "--by", viewer.email, "--text", "x"])
    assert refused.exit_code != 0
    ok = runner.invoke(cycle_group, ["addendum", "2026-Q1", "--by", coordinator.email, "--text", "Corrected."])
    assert ok.exit_code == 0, ok.output
    added = db.session.scalars(select(CycleAddendum)).one()
    assert (added.text, added.signed_by_id) == ("Corrected.", coordinator.id)


# --------------------------------------------------------------------------- closing


def test_closing_without_a_narrative_is_refused(ctx: None, client: FlaskClient) -> None:
    make_risk(unit=make_unit(), residual=(2, 2))
    cycle = ops.open_cycle(db.session, SYSTEM, Q2)
    with pytest.raises(ops.CycleError, match="narrative"):
        ops.close_cycle(db.session, SYSTEM, cycle, cycle.version, confirmed_early=True)
    db.session.rollback()
    _sign_in(client, Role.COORDINATOR)
    page = client.get("/review/cycles/2026-Q2").get_data(as_text=True)
    assert "Write and save the narrative first" in page
    refused = client.post("/review/cycles/2026-Q2/close", data={"version": cycle.version, "confirm": "y"})
    assert refused.status_code == 200
    assert "Write the narrative of 2026-Q2 before closing it" in refused.get_data(as_text=True)
    assert _cycle(cycle.id).status == CycleStatus.OPEN


def test_closing_before_the_period_end_or_the_meeting_asks_for_confirmation(ctx: None, client: FlaskClient) -> None:
    make_risk(unit=make_unit(), residual=(2, 2))
    today = date.today()
    data = ops.CycleInput(
        "EARLY", today - timedelta(days=80), today - timedelta(days=1), taskforce_meeting_on=today + timedelta(days=5)
    )
    cycle = ops.open_cycle(db.session, SYSTEM, data)
    ops.set_narrative(db.session, SYSTEM, cycle, "Reviewed.", cycle.version)
    assert ops.not_yet_due(cycle, today) == [f"The task force meets on {data.taskforce_meeting_on:%d %b %Y}"]
    _sign_in(client, Role.COORDINATOR)
    page = client.get("/review/cycles/EARLY").get_data(as_text=True)
    assert "Close before those dates anyway." in page
    asked = client.post("/review/cycles/EARLY/close", data={"version": _cycle(cycle.id).version, "confirm": "y"})
    assert asked.status_code == 200
    assert "confirm to close anyway" in asked.get_data(as_text=True)
    assert _cycle(cycle.id).status == CycleStatus.OPEN
    form = {"version": _cycle(cycle.id).version, "confirm": "y", "confirm_early": "y"}
    assert client.post("/review/cycles/EARLY/close", data=form).status_code == 302
    assert _cycle(cycle.id).status == CycleStatus.CLOSED


def test_closing_after_the_dates_needs_no_second_confirmation(ctx: None, client: FlaskClient) -> None:
    make_risk(unit=make_unit(), residual=(2, 2))
    cycle = ops.open_cycle(db.session, SYSTEM, Q1)
    ops.set_narrative(db.session, SYSTEM, cycle, "Reviewed.", cycle.version)
    _sign_in(client, Role.COORDINATOR)
    assert "Close before those dates anyway." not in client.get("/review/cycles/2026-Q1").get_data(as_text=True)
    form = {"version": _cycle(cycle.id).version, "confirm": "y"}
    assert client.post("/review/cycles/2026-Q1/close", data=form).status_code == 302
    assert _cycle(cycle.id).status == CycleStatus.CLOSED


# --------------------------------------------------------------------------- the review page's default cycle


def test_review_page_opens_on_the_open_cycle(world: World, client: FlaskClient) -> None:
    _sign_in(client, Role.VIEWER)
    page = client.get("/review/").get_data(as_text=True)
    assert "Cycle 2026-Q2" in page
    assert queries.default_cycle(db.session).code == "2026-Q2"  # type: ignore[union-attr]
    with_closed_only = client.get("/review/?cycle=2026-Q1").get_data(as_text=True)
    assert "Cycle 2026-Q1" in with_closed_only


def test_a_decision_racing_the_close_is_refused_by_the_trigger_with_409(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cycle closes between the page's check and the insert: the trigger refuses, the page answers 409."""
    original = ops.record_decision

    def close_first(*args: object, **kwargs: object) -> object:
        # Another request closes the cycle just now (committed), after this one checked it was open.
        db.session.execute(text("UPDATE review_cycles SET status = 'closed' WHERE id = :id"), {"id": world.open_id})
        db.session.commit()
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ops, "ensure_cycle_open", lambda *args, **kwargs: None)
    monkeypatch.setattr(ops, "_risk_in_cycle", lambda *args, **kwargs: True)
    monkeypatch.setattr(ops, "record_decision", close_first)
    _sign_in(client, Role.TASKFORCE)
    form = {"decision": "noted", "decided_on": "2026-06-20"}
    response = client.post(f"/review/cycles/2026-Q2/decide/{world.ref}", data=form)
    assert response.status_code == 409
    assert "Cycle 2026-Q2 is closed" in response.get_data(as_text=True)
    assert _decisions() == 1


@pytest.mark.parametrize("version", ["²", "-1", "x", "9" * 30])
def test_an_odd_version_number_is_a_form_error_not_a_500(world: World, client: FlaskClient, version: str) -> None:
    # "²".isdigit() is True but int("²") fails: hidden version fields are parsed with isdecimal().
    _sign_in(client, Role.COORDINATOR)
    posted = client.post("/review/cycles/2026-Q2/narrative", data={"version": version, "narrative": "Second."})
    assert posted.status_code in (200, 409)
    assert _cycle(world.open_id).narrative != "Second."
