"""What a breach demands: acceptances above appetite, the escalation ladder, proposals, the breach register."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from riskreg import audit, policy
from riskreg.appetite import Zone
from riskreg.audit import Actor
from riskreg.extensions import db
from riskreg.models import (
    AcceptanceStatus,
    AuditEvent,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EscalationTrigger,
    Risk,
    RiskAcceptance,
    RiskStatus,
    Role,
)
from riskreg.review.operations import CycleInput, close_cycle, open_cycle
from riskreg.risks import operations as risk_ops
from riskreg.risks.operations import RuleViolation
from riskreg.statements import responses, triggers
from riskreg.statements.commands import escalations_command
from riskreg.statements.queries import breaches
from riskreg.statements.responses import AcceptanceInput, NotAllowedError
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user

TODAY = date.today()


@pytest.fixture(autouse=True)
def bundled_statements(app: Flask) -> None:
    """The bundled 1.0 and 2.0 (conftest's PostgreSQL reset truncates them with the users they reference)."""
    with app.app_context():
        policy.load_bundled_policy(db.session, audit.SYSTEM)
        db.session.commit()


def decent(until: date | None = None) -> AcceptanceInput:
    return AcceptanceInput(
        "Cost of further controls exceeds the benefit.", "Quarterly KRI review.", until or TODAY + timedelta(days=180)
    )


def open_escalation(risk: Risk) -> Escalation:
    return db.session.scalars(
        select(Escalation).where(Escalation.risk_id == risk.id, Escalation.status.in_(responses.OPEN_ESCALATION))
    ).one()


# --------------------------------------------------------------------------- acceptances


def test_acceptance_level_follows_the_band(ctx: None) -> None:
    scales = policy.current_scales(db.session)
    assert responses.required_acceptance_level(scales, 4) == EscalationLevel.DEPARTMENT  # Low
    assert responses.required_acceptance_level(scales, 9) == EscalationLevel.DEPARTMENT  # Medium
    assert responses.required_acceptance_level(scales, 10) == EscalationLevel.TASK_FORCE  # High
    assert responses.required_acceptance_level(scales, 16) == EscalationLevel.TASK_FORCE
    assert responses.required_acceptance_level(scales, 20) is None  # Critical: never


def test_medium_risk_is_accepted_by_its_units_focal_point_or_a_coordinator(ctx: None) -> None:
    unit, other_unit = make_unit(), make_unit()
    risk = make_risk(unit=unit, residual=(2, 4))  # FIN 8: Medium, above appetite 6
    with pytest.raises(NotAllowedError):
        responses.record_acceptance(
            db.session, Actor.of(make_user(role=Role.FOCAL_POINT, unit=other_unit)), risk, decent()
        )
    with pytest.raises(NotAllowedError):
        responses.record_acceptance(db.session, Actor.of(make_user(role=Role.TASKFORCE)), risk, decent())
    focal = Actor.of(make_user(role=Role.FOCAL_POINT, unit=unit))
    acceptance = responses.record_acceptance(db.session, focal, risk, decent())
    assert (acceptance.decision_level, acceptance.status) == (EscalationLevel.DEPARTMENT, AcceptanceStatus.ACTIVE)
    assert acceptance.assessment_id == risk.current_assessment_id
    assert acceptance.decided_by_id == focal.user_id
    # A new acceptance (here by a coordinator) replaces the active one.
    second = responses.record_acceptance(db.session, Actor.of(make_user(role=Role.COORDINATOR)), risk, decent())
    db.session.refresh(acceptance)
    assert acceptance.status == AcceptanceStatus.REVOKED
    assert second.status == AcceptanceStatus.ACTIVE
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "risk_acceptance")).all()


def test_high_risk_is_accepted_by_the_task_force_only(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit, residual=(3, 5), category_code="INN")  # 15: High, above appetite 12
    for role in (Role.COORDINATOR, Role.FOCAL_POINT, Role.ADMIN):
        with pytest.raises(NotAllowedError, match="task force level"):
            responses.record_acceptance(db.session, Actor.of(make_user(role=role, unit=unit)), risk, decent())
    acceptance = responses.record_acceptance(db.session, Actor.of(make_user(role=Role.TASKFORCE)), risk, decent())
    assert acceptance.decision_level == EscalationLevel.TASK_FORCE


@pytest.mark.parametrize(
    ("category", "residual", "message"),
    [
        ("FIN", (2, 5), "outside tolerance can never be accepted"),  # 10 > tolerance 9
        ("INT", (2, 2), "zero-tolerance"),  # 4 > appetite 3 in a zero-tolerance category
        ("OPS", (4, 5), "outside tolerance"),  # 20: Critical
        ("FIN", (2, 3), "only risks above it"),  # 6: within appetite
    ],
)
def test_outside_tolerance_zero_tolerance_and_within_are_never_accepted(
    ctx: None, category: str, residual: tuple[int, int], message: str
) -> None:
    risk = make_risk(unit=make_unit(), residual=residual, category_code=category)
    with pytest.raises(RuleViolation, match=message):
        responses.record_acceptance(db.session, Actor.of(make_user(role=Role.COORDINATOR)), risk, decent())
    assert db.session.scalar(select(RiskAcceptance.id)) is None


def test_acceptance_needs_justification_conditions_and_at_most_twelve_months(ctx: None) -> None:
    risk = make_risk(unit=make_unit(), residual=(2, 4))
    coordinator = Actor.of(make_user(role=Role.COORDINATOR))
    cases = [
        (AcceptanceInput(" ", "c", TODAY + timedelta(days=30)), "justification"),
        (AcceptanceInput("j", "", TODAY + timedelta(days=30)), "conditions"),
        (AcceptanceInput("j", "c", TODAY), "valid_until"),
        (AcceptanceInput("j", "c", responses.add_months(TODAY, 12) + timedelta(days=1)), "valid_until"),
    ]
    for data, field in cases:
        with pytest.raises(RuleViolation) as caught:
            responses.record_acceptance(db.session, coordinator, risk, data, today=TODAY)
        assert caught.value.field == field
    ok = responses.record_acceptance(
        db.session, coordinator, risk, decent(responses.add_months(TODAY, 12)), today=TODAY
    )
    assert ok.valid_until == responses.add_months(TODAY, 12)


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert responses.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert responses.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert responses.add_months(date(2025, 11, 15), 12) == date(2026, 11, 15)


def test_revoke_and_expiry(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit, residual=(2, 4))
    focal = Actor.of(make_user(role=Role.FOCAL_POINT, unit=unit))
    acceptance = responses.record_acceptance(db.session, focal, risk, decent(TODAY + timedelta(days=10)))
    with pytest.raises(NotAllowedError):
        responses.revoke_acceptance(db.session, Actor.of(make_user(role=Role.TASKFORCE)), acceptance, "no")
    assert responses.expire_acceptances(db.session, audit.SYSTEM, TODAY + timedelta(days=10)) == 0
    assert responses.expire_acceptances(db.session, audit.SYSTEM, TODAY + timedelta(days=11)) == 1
    db.session.refresh(acceptance)
    assert acceptance.status == AcceptanceStatus.EXPIRED
    fresh = responses.record_acceptance(db.session, focal, risk, decent())
    responses.revoke_acceptance(db.session, focal, fresh, "Controls improved; plan in place.")
    assert fresh.status == AcceptanceStatus.REVOKED
    assert fresh.revoked_reason.startswith("Controls")


def test_accept_page_is_scoped_and_checks_the_level(app: Flask) -> None:
    with app.app_context():
        unit, other = make_unit(), make_unit()
        ref = make_risk(unit=unit, residual=(2, 4)).ref
        own = make_user(role=Role.FOCAL_POINT, unit=unit).email
        foreign = make_user(role=Role.FOCAL_POINT, unit=other).email
        high_ref = make_risk(unit=unit, residual=(3, 5), category_code="INN").ref
    data = {"justification": "j", "conditions": "c", "valid_until": (TODAY + timedelta(days=90)).isoformat()}
    stranger = app.test_client()
    login(stranger, foreign)
    assert stranger.get(f"/appetite/risks/{ref}/accept").status_code == 404
    assert stranger.post(f"/appetite/risks/{ref}/accept", data=data).status_code == 404
    client = app.test_client()
    login(client, own)
    denied = client.post(f"/appetite/risks/{high_ref}/accept", data=data, follow_redirects=True)
    assert denied.status_code == 403
    assert "accepted at task force level" in denied.get_data(as_text=True)
    too_long = dict(data, valid_until=(TODAY + timedelta(days=400)).isoformat())
    refused = client.post(f"/appetite/risks/{ref}/accept", data=too_long)
    assert refused.status_code == 422
    assert "at most 12 months" in refused.get_data(as_text=True)
    assert client.post(f"/appetite/risks/{ref}/accept", data=data).status_code == 302
    with app.app_context():
        stored = db.session.scalars(select(RiskAcceptance)).one()
        assert stored.decision_level == EscalationLevel.DEPARTMENT


# --------------------------------------------------------------------------- escalations


def test_escalation_climbs_the_ladder_and_changes_hands_only_on_acceptance(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit, residual=(2, 5))  # FIN 10: outside tolerance -> proposed automatically
    proposal = open_escalation(risk)
    assert (proposal.status, proposal.trigger, proposal.to_level) == (
        EscalationStatus.PROPOSED,
        EscalationTrigger.OUTSIDE_TOLERANCE,
        EscalationLevel.TASK_FORCE,
    )
    taskforce = Actor.of(make_user(role=Role.TASKFORCE))
    coordinator = Actor.of(make_user(role=Role.COORDINATOR))
    focal = Actor.of(make_user(role=Role.FOCAL_POINT, unit=unit))
    with pytest.raises(NotAllowedError):
        responses.confirm_escalation(db.session, taskforce, proposal, proposal.version)
    responses.confirm_escalation(db.session, focal, proposal, proposal.version)
    assert proposal.status == EscalationStatus.PENDING
    assert responses.current_level(db.session, risk) == EscalationLevel.OWNER  # not accepted yet
    for wrong in (focal, coordinator):
        with pytest.raises(NotAllowedError):
            responses.accept_escalation(db.session, wrong, proposal, proposal.version)
    with pytest.raises(risk_ops.StaleEdit):
        responses.accept_escalation(db.session, taskforce, proposal, proposal.version - 1)
    responses.accept_escalation(db.session, taskforce, proposal, proposal.version)
    assert proposal.status == EscalationStatus.ACCEPTED
    assert risk.status == RiskStatus.ESCALATED
    assert responses.current_level(db.session, risk) == EscalationLevel.TASK_FORCE
    # Up to the executive: the task force passes it on; it stays with the task force until accepted.
    onward = responses.escalate_further(
        db.session, taskforce, proposal, EscalationLevel.EXECUTIVE, "Needs a decision on funding.", proposal.version
    )
    assert (onward.from_level, onward.to_level, onward.status) == (
        EscalationLevel.TASK_FORCE,
        EscalationLevel.EXECUTIVE,
        EscalationStatus.PENDING,
    )
    assert responses.current_level(db.session, risk) == EscalationLevel.TASK_FORCE
    with pytest.raises(NotAllowedError):
        responses.accept_escalation(db.session, taskforce, onward, onward.version)
    responses.accept_escalation(db.session, coordinator, onward, onward.version)  # records the executive's decision
    db.session.refresh(proposal)
    assert proposal.status == EscalationStatus.RESOLVED
    assert "further" in proposal.resolution
    assert responses.current_level(db.session, risk) == EscalationLevel.EXECUTIVE
    with pytest.raises(RuleViolation):
        responses.resolve_escalation(db.session, coordinator, onward, "", onward.version)
    responses.resolve_escalation(db.session, coordinator, onward, "Activity redesigned.", onward.version)
    assert risk.status == RiskStatus.ACTIVE
    assert responses.current_level(db.session, risk) == EscalationLevel.OWNER
    actions = list(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "escalation").order_by(AuditEvent.id))
    )
    assert actions == ["propose", "confirm", "accept", "raise", "resolve", "accept", "resolve"]


def test_rejection_needs_a_reason_and_is_recorded(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit, residual=(2, 5))
    proposal = open_escalation(risk)
    coordinator = Actor.of(make_user(role=Role.COORDINATOR))
    responses.confirm_escalation(db.session, coordinator, proposal, proposal.version)
    taskforce = Actor.of(make_user(role=Role.TASKFORCE))
    with pytest.raises(RuleViolation, match="why"):
        responses.reject_escalation(db.session, taskforce, proposal, "  ", proposal.version)
    responses.reject_escalation(db.session, taskforce, proposal, "Within the department's means.", proposal.version)
    assert proposal.status == EscalationStatus.REJECTED
    assert proposal.resolution.startswith("Within")
    assert responses.current_level(db.session, risk) == EscalationLevel.OWNER
    # A person may raise it again, above the level that holds it; not sideways or down.
    with pytest.raises(RuleViolation, match="escalate above it"):
        responses.raise_escalation(db.session, coordinator, risk, EscalationLevel.OWNER, "again")
    again = responses.raise_escalation(db.session, coordinator, risk, EscalationLevel.DEPARTMENT, "Head to decide.")
    assert again.status == EscalationStatus.PENDING
    with pytest.raises(RuleViolation, match="still waiting"):
        responses.raise_escalation(db.session, coordinator, risk, EscalationLevel.TASK_FORCE, "and again")
    with pytest.raises(NotAllowedError):
        responses.raise_escalation(
            db.session,
            Actor.of(make_user(role=Role.FOCAL_POINT, unit=make_unit())),
            risk,
            EscalationLevel.TASK_FORCE,
            "x",
        )


def test_escalation_decisions_on_the_web_check_the_level(app: Flask) -> None:
    with app.app_context():
        unit = make_unit()
        risk = make_risk(unit=unit, residual=(2, 5))
        escalation = open_escalation(risk)
        responses.confirm_escalation(db.session, audit.Actor.of(make_user(role=Role.COORDINATOR)), escalation, 1)
        ident, seen, ref = escalation.id, escalation.version, risk.ref
        emails = {role: make_user(role=role, unit=unit).email for role in (Role.FOCAL_POINT, Role.TASKFORCE)}
        outsider = make_user(role=Role.FOCAL_POINT, unit=make_unit()).email
    client = app.test_client()
    login(client, outsider)
    assert client.post(f"/appetite/escalations/{ident}/accept", data={"version": seen}).status_code == 404
    client = app.test_client()
    login(client, emails[Role.FOCAL_POINT])
    page = client.get("/appetite/escalations").get_data(as_text=True)
    assert ref in page
    assert "Waiting for the task force level" in page
    assert client.post(f"/appetite/escalations/{ident}/accept", data={"version": seen}).status_code == 403
    client = app.test_client()
    login(client, emails[Role.TASKFORCE])
    assert "Accept for task force level" in client.get("/appetite/escalations").get_data(as_text=True)
    assert client.post(f"/appetite/escalations/{ident}/accept", data={"version": seen - 1}).status_code == 409
    assert client.post(f"/appetite/escalations/{ident}/accept", data={"version": seen}).status_code == 302
    with app.app_context():
        assert db.session.get(Escalation, ident).status == EscalationStatus.ACCEPTED  # type: ignore[union-attr]


# --------------------------------------------------------------------------- automatic proposals


def _close(code: str, start: date, end: date) -> None:
    cycle = open_cycle(db.session, audit.SYSTEM, CycleInput(code, start, end))
    cycle.narrative = f"Cycle {code} reviewed."  # closing needs a narrative
    close_cycle(db.session, audit.SYSTEM, cycle, cycle.version, as_at=end)


def test_persistent_above_appetite_and_overdue_actions_are_proposed_once(ctx: None) -> None:
    unit = make_unit()
    persistent = make_risk(unit=unit, residual=(3, 3))  # FIN 9 above appetite, no acceptance
    accepted = make_risk(unit=unit, residual=(2, 4))
    responses.record_acceptance(db.session, Actor.of(make_user(role=Role.COORDINATOR)), accepted, decent())
    high = make_risk(unit=unit, residual=(3, 4), category_code="INN")  # 12: High, within appetite
    action = risk_ops.ActionInput("Replace the ageing platform", "Chief, ICT", due_date=TODAY - timedelta(days=91))
    risk_ops.add_action(db.session, audit.SYSTEM, high, action)
    late = make_risk(unit=unit, residual=(3, 4), category_code="INN")
    risk_ops.add_action(db.session, audit.SYSTEM, late, action)
    assert triggers.escalation_candidates(db.session, audit.SYSTEM, TODAY - timedelta(days=1)) == []
    _close("2025-Q1", TODAY - timedelta(days=200), TODAY - timedelta(days=110))
    assert {e.risk_id for e in triggers.escalation_candidates(db.session, audit.SYSTEM, TODAY)} == {high.id, late.id}
    _close("2025-Q2", TODAY - timedelta(days=100), TODAY - timedelta(days=5))
    created = triggers.escalation_candidates(db.session, audit.SYSTEM, TODAY)
    assert {(e.risk_id, e.trigger) for e in created} == {(persistent.id, EscalationTrigger.PERSISTENT_ABOVE_APPETITE)}
    assert triggers.escalation_candidates(db.session, audit.SYSTEM, TODAY) == []  # idempotent
    by_risk = dict(db.session.execute(select(Escalation.risk_id, Escalation.trigger)).all())
    assert by_risk[high.id] == EscalationTrigger.OVERDUE_ACTIONS
    assert by_risk[late.id] == EscalationTrigger.OVERDUE_ACTIONS
    assert accepted.id not in by_risk


def test_escalations_command_expires_and_proposes(app: Flask) -> None:
    with app.app_context():
        unit = make_unit()
        risk = make_risk(unit=unit, residual=(2, 4))
        coordinator = Actor.of(make_user(role=Role.COORDINATOR))
        responses.record_acceptance(db.session, coordinator, risk, decent(TODAY + timedelta(days=5)))
    later = (TODAY + timedelta(days=6)).isoformat()
    result = app.test_cli_runner().invoke(escalations_command, ["--as-at", later])
    assert result.exit_code == 0, result.output
    assert "1 acceptance(s) expired; 0 escalation(s) proposed" in result.output
    again = app.test_cli_runner().invoke(escalations_command, ["--as-at", later])
    assert "0 acceptance(s) expired" in again.output


# --------------------------------------------------------------------------- breach register


def test_breach_register_lists_responses_and_what_is_missing(ctx: None) -> None:
    unit = make_unit()
    coordinator = Actor.of(make_user(role=Role.COORDINATOR))
    bare = make_risk(unit=unit, residual=(3, 3))  # above, nothing done
    planned = make_risk(unit=unit, residual=(2, 4))
    risk_ops.add_action(
        db.session, audit.SYSTEM, planned, risk_ops.ActionInput("Dunning", "Treasurer", TODAY + timedelta(days=60))
    )
    expiring = make_risk(unit=unit, residual=(2, 4))
    responses.record_acceptance(db.session, coordinator, expiring, decent(TODAY + timedelta(days=20)))
    outside = make_risk(unit=unit, residual=(2, 5))  # proposed escalation only
    make_risk(unit=unit, residual=(1, 2))  # within appetite: not listed
    rows = {b.ref: b for b in breaches(db.session, Risk.deleted_at.is_(None), policy.current_scales(db.session), TODAY)}
    assert set(rows) == {bare.ref, planned.ref, expiring.ref, outside.ref}
    assert rows[bare.ref].gap == 3
    assert rows[bare.ref].missing == ("a dated treatment plan or an acceptance at department level",)
    assert rows[planned.ref].plan_actions == 1
    assert rows[planned.ref].missing == ()
    assert rows[expiring.ref].acceptance_expiring
    assert rows[expiring.ref].acceptance_level == EscalationLevel.DEPARTMENT
    assert rows[outside.ref].zone == Zone.OUTSIDE_TOLERANCE
    assert rows[outside.ref].escalation_status == EscalationStatus.PROPOSED
    assert rows[outside.ref].missing == ("confirmation of the proposed escalation", "a dated treatment plan")


def test_breach_page_is_scoped_to_the_focal_points_unit(app: Flask) -> None:
    with app.app_context():
        unit, other = make_unit(), make_unit()
        mine = make_risk(unit=unit, residual=(3, 3)).ref
        theirs = make_risk(unit=other, residual=(3, 3)).ref
        focal = make_user(role=Role.FOCAL_POINT, unit=unit).email
        coordinator = make_user(role=Role.COORDINATOR).email
    client = app.test_client()
    login(client, focal)
    page = client.get("/appetite/breaches").get_data(as_text=True)
    assert mine in page
    assert theirs not in page
    assert client.post("/appetite/breaches/propose").status_code == 403
    client = app.test_client()
    login(client, coordinator)
    page = client.get("/appetite/breaches").get_data(as_text=True)
    assert mine in page
    assert theirs in page
    assert "Propose escalations" in page
    assert client.post("/appetite/breaches/propose").status_code == 302
