"""A risk's life from its page: close, realise, merge, reopen; role rules; movement and the workbook."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from riskreg import audit, policy
from riskreg.audit import Actor
from riskreg.exports.operations import build_council_export
from riskreg.extensions import db
from riskreg.models import (
    AuditEvent,
    LifecycleKind,
    OrgUnit,
    Risk,
    RiskStatus,
    Role,
)
from riskreg.movement import MovementKind, compare, summarise
from riskreg.review import operations as review_ops
from riskreg.review.queries import cycle_by_code
from riskreg.risks import lifecycle
from riskreg.risks import operations as risk_ops
from riskreg.risks.operations import RuleViolation, StaleEdit
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user

TODAY = date.today()


@pytest.fixture(autouse=True)
def bundled_statements(app: Flask) -> None:
    with app.app_context():
        policy.load_bundled_policy(db.session, audit.SYSTEM)
        db.session.commit()


def actor(role: Role, unit: OrgUnit | None = None) -> Actor:
    return Actor.of(make_user(role=role, unit=unit))


# --------------------------------------------------------------------------- operations


def test_close_needs_a_reason_and_the_version_seen(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit)
    focal = actor(Role.FOCAL_POINT, unit)
    with pytest.raises(RuleViolation, match="why"):
        lifecycle.close_risk(db.session, focal, risk, "  ", risk.version)
    with pytest.raises(StaleEdit):
        lifecycle.close_risk(db.session, focal, risk, "Done", risk.version - 1)
    lifecycle.close_risk(db.session, focal, risk, "Programme ended.", risk.version)
    assert (risk.status, risk.closed_reason) == (RiskStatus.CLOSED, "Programme ended.")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "close")).one()
    assert (event.entity_id, event.actor_email) == (risk.ref, focal.email)
    with pytest.raises(RuleViolation, match="already closed"):
        lifecycle.close_risk(db.session, focal, risk, "Again", risk.version)


@pytest.mark.parametrize(
    ("role", "own_unit", "allowed"),
    [
        (Role.FOCAL_POINT, True, True),
        (Role.FOCAL_POINT, False, False),
        (Role.COORDINATOR, False, True),
        (Role.TASKFORCE, False, True),
        (Role.VIEWER, False, False),
        (Role.SECRETARIAT, False, False),
        (Role.ADMIN, False, False),
    ],
)
def test_who_may_change_a_risks_life(ctx: None, role: Role, own_unit: bool, allowed: bool) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit)
    who = actor(role, unit if own_unit else make_unit())
    assert lifecycle.may_change_lifecycle(who, risk) is allowed
    if not allowed:
        with pytest.raises(RuleViolation, match="role"):
            lifecycle.close_risk(db.session, who, risk, "No", risk.version)


def test_realised_keeps_what_happened_and_reopen_brings_it_back(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit)
    coordinator = actor(Role.COORDINATOR)
    data = lifecycle.RealisationInput(TODAY + timedelta(days=1), "Cyber attack", "3 days down", "Lessons learnt")
    with pytest.raises(RuleViolation, match="on or before today"):
        lifecycle.realise_risk(db.session, coordinator, risk, data, risk.version)
    with pytest.raises(RuleViolation, match="impact"):
        lifecycle.realise_risk(
            db.session, coordinator, risk, lifecycle.RealisationInput(TODAY, "x", " ", "y"), risk.version
        )
    db.session.rollback()
    data = lifecycle.RealisationInput(TODAY - timedelta(days=3), "Cyber attack", "3 days down", "Lessons learnt")
    event = lifecycle.realise_risk(db.session, coordinator, risk, data, risk.version)
    assert risk.status == RiskStatus.REALISED
    assert (event.kind, event.what_happened, event.impact, event.follow_up) == (
        LifecycleKind.REALISED,
        "Cyber attack",
        "3 days down",
        "Lessons learnt",
    )
    with pytest.raises(RuleViolation, match="why"):
        lifecycle.reopen_risk(db.session, coordinator, risk, "", risk.version)
    lifecycle.reopen_risk(db.session, coordinator, risk, "It may happen again.", risk.version)
    assert (risk.status, risk.closed_reason) == (RiskStatus.ACTIVE, "")
    kinds = [e.kind for e in lifecycle.events_of(db.session, risk)]
    assert kinds == [LifecycleKind.REOPENED, LifecycleKind.REALISED]


def test_focal_point_merges_within_their_unit_only(ctx: None) -> None:
    unit, other = make_unit(), make_unit()
    risk, same_unit, elsewhere = make_risk(unit=unit), make_risk(unit=unit), make_risk(unit=other)
    focal = actor(Role.FOCAL_POINT, unit)
    with pytest.raises(RuleViolation, match="that you may merge into"):
        lifecycle.merge_risk(db.session, focal, risk, elsewhere, "Same", risk.version)
    with pytest.raises(RuleViolation, match="itself"):
        lifecycle.merge_risk(db.session, focal, risk, risk, "Same", risk.version)
    lifecycle.merge_risk(db.session, focal, risk, same_unit, "Same exposure", risk.version)
    assert (risk.status, risk.merged_into_id) == (RiskStatus.MERGED, same_unit.id)
    # A coordinator merges across units; merges of merges lead to the last survivor.
    lifecycle.merge_risk(db.session, actor(Role.COORDINATOR), same_unit, elsewhere, "Corporate view", same_unit.version)
    assert lifecycle.survivor_of(db.session, risk) == elsewhere
    assert lifecycle.merged_into_this(db.session, elsewhere) == [same_unit]


# --------------------------------------------------------------------------- pages


@pytest.mark.parametrize(("role", "status"), [(Role.FOCAL_POINT, 404), (Role.VIEWER, 403), (Role.SECRETARIAT, 403)])
def test_lifecycle_pages_refuse_other_units_and_roles(ctx: None, client: FlaskClient, role: Role, status: int) -> None:
    risk = make_risk(unit=make_unit())
    login(client, make_user(role=role, unit=make_unit()).email)  # the focal point of another unit
    for verb in ("close", "realise", "merge", "reopen"):
        assert client.get(f"/risks/{risk.ref}/{verb}").status_code == status
        assert client.post(f"/risks/{risk.ref}/{verb}", data={"version": risk.version}).status_code == status
    assert db.session.get(Risk, risk.id).status == RiskStatus.ACTIVE  # type: ignore[union-attr]


def test_risk_page_offers_the_verbs_that_apply(ctx: None, client: FlaskClient) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit)
    login(client, make_user(role=Role.FOCAL_POINT, unit=unit).email)
    assert client.get(f"/risks/{risk.ref}/reopen").status_code == 404  # open: nothing to reopen
    page = client.get(f"/risks/{risk.ref}").get_data(as_text=True)
    for label in ("Close…", "Mark realised…", "Merge into…"):
        assert label in page


def test_focal_point_closes_and_reopens_from_the_risk_page(ctx: None, client: FlaskClient) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit)
    login(client, make_user(role=Role.FOCAL_POINT, unit=unit).email)
    empty = client.post(f"/risks/{risk.ref}/close", data={"version": risk.version, "reason": ""})
    assert "This is required" in empty.get_data(as_text=True)
    stale = client.post(f"/risks/{risk.ref}/close", data={"version": risk.version + 5, "reason": "Done"})
    assert stale.status_code == 409
    done = client.post(f"/risks/{risk.ref}/close", data={"version": risk.version, "reason": "Programme ended."})
    assert done.status_code == 303
    page = client.get(f"/risks/{risk.ref}").get_data(as_text=True)
    assert "This risk is closed" in page
    assert "Programme ended." in page
    listed = client.get("/risks?status=closed").get_data(as_text=True)
    assert risk.ref in listed
    assert risk.ref not in client.get("/risks?status=open").get_data(as_text=True)
    db.session.refresh(risk)
    back = client.post(f"/risks/{risk.ref}/reopen", data={"version": risk.version, "reason": "Back"})
    assert back.status_code == 303
    db.session.refresh(risk)
    assert risk.status == RiskStatus.ACTIVE


def test_realise_page_records_what_happened(ctx: None, client: FlaskClient) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit)
    login(client, make_user(role=Role.COORDINATOR).email)
    form = {
        "version": risk.version,
        "occurred_on": (TODAY - timedelta(days=2)).isoformat(),
        "what_happened": "Server room flooded",
        "impact": "Two days without email",
        "follow_up": "Move the servers",
    }
    assert client.post(f"/risks/{risk.ref}/realise", data=form).status_code == 303
    page = client.get(f"/risks/{risk.ref}").get_data(as_text=True)
    for text in ("This risk is realised", "Server room flooded", "Two days without email", "Move the servers"):
        assert text in page


def test_merge_keeps_every_record_reachable_and_the_old_reference_redirects(ctx: None, client: FlaskClient) -> None:
    unit = make_unit()
    merged, survivor = make_risk(unit=unit, title="Old duplicate"), make_risk(unit=unit, title="Survivor")
    risk_ops.add_control(db.session, audit.SYSTEM, merged, risk_ops.ControlInput("Dual signature on payments"))
    action = risk_ops.add_action(
        db.session, audit.SYSTEM, merged, risk_ops.ActionInput("Chase arrears", "Treasurer", TODAY + timedelta(days=30))
    )
    login(client, make_user(role=Role.FOCAL_POINT, unit=unit).email)
    unknown = client.post(
        f"/risks/{merged.ref}/merge", data={"version": merged.version, "survivor": "NOPE-1", "reason": "Same"}
    )
    assert "No open risk NOPE-1" in unknown.get_data(as_text=True)
    form = {"version": merged.version, "survivor": survivor.ref, "reason": "Same exposure"}
    assert client.post(f"/risks/{merged.ref}/merge", data=form).status_code == 303
    redirect = client.get(f"/risks/{merged.ref}")
    assert redirect.status_code == 302
    assert redirect.headers["Location"].endswith(f"/risks/{survivor.ref}")
    page = client.get(f"/risks/{survivor.ref}").get_data(as_text=True)
    for text in ("Risks merged into this one", merged.ref, "Dual signature on payments", action.ref, "Chase arrears"):
        assert text in page
    history = client.get(f"/risks/{merged.ref}/history").get_data(as_text=True)
    assert "merged into" in history
    assert action.ref in history
    # Every record still belongs to the merged risk, untouched.
    assert db.session.get(Risk, merged.id) is not None
    assert len(merged.assessments) == 1
    assert len(merged.controls) == 1
    assert len(merged.actions) == 1


# --------------------------------------------------------------------------- movement and the workbook


def test_movement_and_workbook_count_closed_realised_and_merged(ctx: None) -> None:
    unit = make_unit()
    risks = [make_risk(unit=unit, title=f"Risk {n}", residual=(2, 2)) for n in range(5)]
    coordinator = actor(Role.COORDINATOR)
    q1 = review_ops.open_cycle(
        db.session, coordinator, review_ops.CycleInput("2026-Q1", date(2026, 1, 1), date(2026, 3, 31))
    )
    q1.narrative = "First quarter reviewed."
    review_ops.close_cycle(db.session, coordinator, q1, q1.version, as_at=date(2026, 3, 31))
    lifecycle.close_risk(db.session, coordinator, risks[0], "No longer relevant", risks[0].version)
    lifecycle.realise_risk(
        db.session,
        coordinator,
        risks[1],
        lifecycle.RealisationInput(TODAY, "It happened", "Cost", "None"),
        risks[1].version,
    )
    lifecycle.merge_risk(db.session, coordinator, risks[2], risks[3], "Same", risks[2].version)
    make_risk(unit=unit, title="Brand new", residual=(2, 2))
    q2 = review_ops.open_cycle(
        db.session, coordinator, review_ops.CycleInput("2026-Q2", date(2026, 4, 1), TODAY + timedelta(days=1))
    )
    q2.narrative = "Second quarter reviewed."
    review_ops.close_cycle(db.session, coordinator, q2, q2.version, confirmed_early=True)
    previous = review_ops.load_snapshot(db.session, cycle_by_code(db.session, "2026-Q1"))
    current = review_ops.load_snapshot(db.session, cycle_by_code(db.session, "2026-Q2"))
    moves = compare(previous, current, policy.current_scales(db.session))
    summary = summarise(moves)
    closed = {m.ref: m.closed_reason for m in moves if m.kind is MovementKind.CLOSED}
    assert closed == {
        risks[0].ref: "No longer relevant",
        risks[1].ref: f"Realised on {TODAY:%d %b %Y}: It happened",
        risks[2].ref: f"Merged into {risks[3].ref}: Same",
    }
    # Totals reconcile: the previous cycle's open risks are now unchanged, moved or closed; the open ones now
    # are those plus the new one.
    staying = sum(summary.count(k) for k in (MovementKind.UNCHANGED, MovementKind.INCREASED, MovementKind.DECREASED))
    assert staying + summary.count(MovementKind.CLOSED) == 5
    assert staying + summary.count(MovementKind.NEW) == 3
    workbook = build_council_export(
        db.session,
        coordinator,
        cycle=q2,
        audience="taskforce",
        symbol="C/1",
        annex="A",
        classification="Internal",
        prepared_by="Coordinator",
    )
    sheets = load_workbook(BytesIO(workbook.data), read_only=True)
    counts = {}
    for sheet in sheets.worksheets:
        for row in sheet.iter_rows(values_only=True):
            cells = [c for c in row if c is not None]
            if cells and cells[-1] is not None and isinstance(cells[-1], int) and len(cells) >= 2:
                counts.setdefault(str(cells[-2]), cells[-1])
    assert counts["Closed, realised or merged since the previous cycle"] == 3
    assert counts["Not in the previous cycle"] == 1


def test_home_page_leaves_out_what_a_closed_risk_had_pending(ctx: None, client: FlaskClient) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit)
    late = risk_ops.ActionInput("Chase the late payers", "Treasurer", TODAY - timedelta(days=5))
    action = risk_ops.add_action(db.session, audit.SYSTEM, risk, late)
    login(client, make_user(role=Role.FOCAL_POINT, unit=unit).email)
    assert action.ref in client.get("/").get_data(as_text=True)
    lifecycle.close_risk(db.session, actor(Role.COORDINATOR), risk, "Contributions paid in full", risk.version)
    home = client.get("/").get_data(as_text=True)
    assert action.ref not in home
    assert "No overdue actions." in home


def test_a_closed_or_merged_risk_changes_again_only_once_reopened(ctx: None) -> None:
    unit = make_unit()
    risk, survivor = make_risk(unit=unit, title="Closed one"), make_risk(unit=unit, title="Survivor")
    merged = make_risk(unit=unit, title="Merged one")
    coordinator = actor(Role.COORDINATOR)
    lifecycle.close_risk(db.session, coordinator, risk, "Programme ended.", risk.version)
    lifecycle.merge_risk(db.session, coordinator, merged, survivor, "Same exposure", merged.version)
    again = risk_ops.AssessmentInput(inherent_likelihood=4, inherent_impact=4, residual_likelihood=2, residual_impact=2)
    for frozen, message in ((risk, "reopen it"), (merged, "surviving risk")):
        with pytest.raises(RuleViolation, match=message):
            risk_ops.record_assessment(db.session, coordinator, frozen, again, expected_version=frozen.version)
        db.session.rollback()
    lifecycle.reopen_risk(db.session, coordinator, risk, "The programme restarted.", risk.version)
    risk_ops.record_assessment(db.session, coordinator, risk, again, expected_version=risk.version)
    assert (risk.status, risk.residual_score) == (RiskStatus.ACTIVE, 4)


def test_the_page_of_a_closed_risk_offers_no_edit(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        unit = make_unit()
        risk = make_risk(unit=unit)
        coordinator = make_user(role=Role.COORDINATOR)
        lifecycle.close_risk(db.session, Actor.of(coordinator), risk, "Programme ended.", risk.version)
        ref, email = risk.ref, coordinator.email
    login(client, email)
    page = client.get(f"/risks/{ref}").get_data(as_text=True)
    assert f"/risks/{ref}/edit" not in page
    assert f"/risks/{ref}/assess" not in page
    assert f"/risks/{ref}/reopen" in page
