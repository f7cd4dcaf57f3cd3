"""Escalation flags and movement over stored rows: escalations in the database, frozen cycle snapshots, and the
automatic escalation proposals that assessments and the cycle-level run make (both databases).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from riskreg import audit, policy
from riskreg.appetite import Zone
from riskreg.audit import Actor
from riskreg.extensions import db
from riskreg.models import (
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EscalationTrigger,
    Nature,
    OrgUnit,
    ReviewCycle,
    Risk,
    RiskCategory,
    RiskLevel,
    RiskStatus,
    Role,
    Treatment,
)
from riskreg.movement import MovementFlag, MovementKind, MovementRow, compare
from riskreg.review.operations import CycleInput, close_cycle, load_snapshot, open_cycle
from riskreg.risks import operations as risk_ops
from riskreg.risks.rows import live_rows
from riskreg.statements import responses, triggers
from tests.factories import category, make_risk, make_unit, make_user

F = MovementFlag
TODAY = date.today()
START = TODAY - timedelta(days=400)


@pytest.fixture(autouse=True)
def bundled_statements(app: Flask) -> None:
    with app.app_context():
        policy.load_bundled_policy(db.session, audit.SYSTEM)
        db.session.commit()


class Cycles:
    """Consecutive closed cycles of 30 days from START; `moves()` compares the last two."""

    def __init__(self) -> None:
        self.closed: list[ReviewCycle] = []

    def close(self) -> None:
        number = len(self.closed)
        start = START + timedelta(days=31 * number)
        cycle = open_cycle(db.session, audit.SYSTEM, CycleInput(f"T-{number + 1}", start, start + timedelta(days=30)))
        cycle.narrative = f"Cycle {number + 1} reviewed."
        close_cycle(db.session, audit.SYSTEM, cycle, cycle.version, as_at=start + timedelta(days=30))
        self.closed.append(cycle)

    def moves(self, risk: Risk) -> MovementRow:
        before, after = (load_snapshot(db.session, cycle) for cycle in self.closed[-2:])
        rows = {m.ref: m for m in compare(before, after, policy.current_scales(db.session))}
        return rows[risk.ref]


def the_escalation(risk: Risk, status: EscalationStatus) -> Escalation:
    return db.session.scalars(
        select(Escalation).where(Escalation.risk_id == risk.id, Escalation.status == status)
    ).one()


def test_only_an_accepted_escalation_moves_a_risk_up_or_down(ctx: None) -> None:
    coordinator = Actor.of(make_user(role=Role.COORDINATOR))
    taskforce = Actor.of(make_user(role=Role.TASKFORCE))
    risk = make_risk(unit=make_unit(), residual=(3, 4))  # FIN 12: outside tolerance 9, proposed to the task force
    proposed = the_escalation(risk, EscalationStatus.PROPOSED)
    assert (proposed.trigger, proposed.to_level) == (EscalationTrigger.OUTSIDE_TOLERANCE, EscalationLevel.TASK_FORCE)
    cycles = Cycles()
    cycles.close()

    responses.confirm_escalation(db.session, coordinator, proposed, proposed.version)
    cycles.close()
    assert cycles.moves(risk).flags == frozenset()  # proposed → pending: nobody accepted it yet

    pending = the_escalation(risk, EscalationStatus.PENDING)
    responses.accept_escalation(db.session, taskforce, pending, pending.version)
    cycles.close()
    assert cycles.moves(risk).flags == {F.ESCALATED}

    held = the_escalation(risk, EscalationStatus.ACCEPTED)
    responses.escalate_further(db.session, coordinator, held, EscalationLevel.EXECUTIVE, "Budget-wide.", held.version)
    row = next(row for _, _, row in live_rows(db.session) if row.ref == risk.ref)
    assert (row.escalation_level, row.escalation_status) == ("executive", "pending")
    assert row.accepted_escalation_level == "task_force"
    cycles.close()
    assert cycles.moves(risk).flags == frozenset()  # the newer pending escalation is not a de-escalation

    further = the_escalation(risk, EscalationStatus.PENDING)
    responses.reject_escalation(db.session, coordinator, further, "The task force keeps it.", further.version)
    cycles.close()
    assert cycles.moves(risk).flags == frozenset()

    responses.resolve_escalation(db.session, coordinator, held, "Back within tolerance.", held.version)
    assert db.session.get(Risk, risk.id).status == RiskStatus.ACTIVE  # type: ignore[union-attr]
    cycles.close()
    assert cycles.moves(risk).flags == {F.DE_ESCALATED}


def test_stored_movement_flags_unit_and_category_changes_and_reopening(ctx: None) -> None:
    unit, other = make_unit(), make_unit()
    moved = make_risk(unit=unit, residual=(2, 2))
    recategorised = make_risk(unit=unit, residual=(2, 2))
    reopened = make_risk(unit=unit, residual=(2, 2))
    reopened.status = RiskStatus.CLOSED  # the lifecycle verbs are another feature's; the state is what counts here
    db.session.commit()
    cycles = Cycles()
    cycles.close()

    moved.org_unit_id = other.id
    data = risk_ops.RiskInput(
        title=recategorised.title,
        cause=recategorised.cause,
        event=recategorised.event,
        consequence=recategorised.consequence,
        category_id=category("OPS").id,
        owner_title=recategorised.owner_title,
    )
    risk_ops.update_risk(db.session, audit.SYSTEM, recategorised, data, recategorised.version)
    reopened.status = RiskStatus.ACTIVE
    db.session.commit()
    cycles.close()

    assert cycles.moves(moved).flags == {F.UNIT_CHANGED}
    assert cycles.moves(moved).unit_code == db.session.get(OrgUnit, other.id).code  # type: ignore[union-attr]
    assert cycles.moves(recategorised).flags == {F.CATEGORY_CHANGED}
    assert cycles.moves(recategorised).kind is MovementKind.UNCHANGED
    back = cycles.moves(reopened)
    assert back.kind is MovementKind.REOPENED
    assert (back.previous_score, back.current_score, back.delta) == (4, 4, 0)


def test_leaving_the_judgement_is_flagged_on_stored_rows(ctx: None) -> None:
    risk = make_risk(unit=make_unit(), residual=(3, 4))  # FIN 12: outside tolerance
    cycles = Cycles()
    cycles.close()
    # The risk is re-filed as an opportunity: rated, never judged against threat appetite.
    data = risk_ops.RiskInput(
        title=risk.title,
        cause=risk.cause,
        event=risk.event,
        consequence=risk.consequence,
        category_id=risk.category_id,
        owner_title=risk.owner_title,
        nature=Nature.OPPORTUNITY,
        treatment=Treatment.EXPLOIT,
    )
    risk_ops.update_risk(db.session, audit.SYSTEM, risk, data, risk.version)
    assessment = risk_ops.AssessmentInput(4, 4, 3, 4, rationale="Re-filed as an opportunity.")
    risk_ops.record_assessment(db.session, audit.SYSTEM, risk, assessment, expected_version=None)
    assert risk.zone == Zone.NOT_EVALUATED
    cycles.close()
    move = cycles.moves(risk)
    assert (move.previous_zone, move.current_zone) == (Zone.OUTSIDE_TOLERANCE, Zone.NOT_EVALUATED)
    assert F.NO_LONGER_EVALUATED in move.flags


def test_a_critical_risk_in_an_uncovered_category_is_outside_tolerance_and_escalated(ctx: None) -> None:
    db.session.add(RiskCategory(code="NEWX", name="Not in any statement", definition="", sort_order=99))
    db.session.commit()
    uncovered = make_risk(unit=make_unit(), residual=(4, 5), category_code="NEWX")
    assert uncovered.zone == Zone.OUTSIDE_TOLERANCE
    escalation = the_escalation(uncovered, EscalationStatus.PROPOSED)
    assert (escalation.trigger, escalation.to_level) == (EscalationTrigger.CRITICAL_BAND, EscalationLevel.EXECUTIVE)
    assert "no category appetite" in escalation.reason
    below = make_risk(unit=make_unit(), residual=(4, 4), category_code="NEWX")
    assert below.zone == Zone.NOT_EVALUATED
    assert db.session.scalars(select(Escalation).where(Escalation.risk_id == below.id)).all() == []


def test_high_velocity_and_high_impact_proposes_an_escalation(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit, residual=(1, 4))  # FIN 4: within appetite
    fast = risk_ops.AssessmentInput(5, 5, 1, 4, velocity=5, rationale="Onset without warning.")
    risk_ops.record_assessment(db.session, audit.SYSTEM, risk, fast, expected_version=None)
    escalation = the_escalation(risk, EscalationStatus.PROPOSED)
    assert (escalation.trigger, escalation.to_level) == (EscalationTrigger.HIGH_VELOCITY, EscalationLevel.TASK_FORCE)
    slower = make_risk(unit=unit, residual=(1, 4))
    risk_ops.record_assessment(db.session, audit.SYSTEM, slower, replace(fast, velocity=4), expected_version=None)
    lower = make_risk(unit=unit, residual=(1, 3))
    risk_ops.record_assessment(db.session, audit.SYSTEM, lower, replace(fast, residual_impact=3), expected_version=None)
    assert db.session.scalars(select(Escalation).where(Escalation.risk_id.in_([slower.id, lower.id]))).all() == []


def test_cross_cutting_risks_are_proposed_once(ctx: None) -> None:
    unit, other = make_unit(), make_unit()
    coordinator = Actor.of(make_user(role=Role.COORDINATOR))
    corporate = make_risk(unit=unit, residual=(1, 2), category_code="REP", level=RiskLevel.CORPORATE)
    proposed = the_escalation(corporate, EscalationStatus.PROPOSED)
    assert proposed.trigger == EscalationTrigger.CROSS_CUTTING
    assert proposed.reason == "Cross-cutting: a reputational risk at corporate level."
    responses.reject_escalation(db.session, coordinator, proposed, "Already on the corporate register.", 1)

    shared = make_risk(unit=unit, residual=(1, 2))
    action = risk_ops.add_action(
        db.session, audit.SYSTEM, shared, risk_ops.ActionInput("Joint plan", "Chief", TODAY + timedelta(days=30))
    )
    action.org_unit_id = other.id  # an action owned by another unit: the risk reaches beyond its own
    db.session.commit()
    departmental = make_risk(unit=unit, residual=(1, 2), category_code="REP")

    created = triggers.escalation_candidates(db.session, audit.SYSTEM, TODAY)
    assert [(e.risk_id, e.trigger, e.reason) for e in created] == [
        (shared.id, EscalationTrigger.CROSS_CUTTING, "Cross-cutting: its treatment involves 2 units.")
    ]
    assert departmental.id not in {e.risk_id for e in created}
    # The dismissed corporate proposal is not repeated, nor the open one.
    assert triggers.escalation_candidates(db.session, audit.SYSTEM, TODAY) == []
