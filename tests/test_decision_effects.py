"""Every task force decision takes effect in the same transaction as the minute, or is refused whole."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from riskreg import audit, policy
from riskreg.audit import Actor
from riskreg.extensions import db
from riskreg.models import (
    AssessmentValidation,
    Decision,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    OwnerRequest,
    ReviewCycle,
    Risk,
    RiskAcceptance,
    RiskLevel,
    RiskStatus,
    Role,
    TaskForceDecision,
)
from riskreg.review import effects
from riskreg.review import operations as ops
from riskreg.risks import operations as risk_ops
from riskreg.risks import owner_requests
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user

TODAY = date.today()


@pytest.fixture(autouse=True)
def bundled_statements(app: Flask) -> None:
    with app.app_context():
        policy.load_bundled_policy(db.session, audit.SYSTEM)
        db.session.commit()


@pytest.fixture
def cycle(ctx: None) -> ReviewCycle:
    data = ops.CycleInput("2026-TF", TODAY - timedelta(days=60), TODAY + timedelta(days=30))
    return ops.open_cycle(db.session, audit.SYSTEM, data)


def taskforce() -> Actor:
    return Actor.of(make_user(role=Role.TASKFORCE))


def decide(
    cycle: ReviewCycle, risk: Risk, decision: Decision, comment: str = "Agreed at the meeting.", **effect: object
) -> TaskForceDecision:
    data = ops.DecisionInput(decision, comment, "TF-9/1", TODAY, effects.EffectInput(**effect))  # type: ignore[arg-type]
    return ops.record_decision(db.session, taskforce(), cycle, risk, data)


def count(model: type[object]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_every_decision_kind_says_what_it_does() -> None:
    assert set(effects.DESCRIPTIONS) == set(Decision)
    assert Decision.DE_ESCALATE.label == "De-escalate"


def test_noted_changes_nothing_but_the_minutes(cycle: ReviewCycle) -> None:
    risk = make_risk(unit=make_unit())
    version = risk.version
    row = decide(cycle, risk, Decision.NOTED, "")
    assert row.effect == "Noted — no change to the register"
    db.session.refresh(risk)
    assert (risk.version, risk.status) == (version, RiskStatus.ACTIVE)


def test_close_closes_the_risk_with_the_decision_as_reason(cycle: ReviewCycle) -> None:
    risk = make_risk(unit=make_unit())
    row = decide(cycle, risk, Decision.CLOSE, "Programme ended; exposure gone.")
    db.session.refresh(risk)
    assert risk.status == RiskStatus.CLOSED
    assert risk.closed_reason == "Programme ended; exposure gone."
    assert row.effect == "Closed — risk status changed"
    # Refused whole: a closed risk cannot be closed again, and no second minute is written.
    with pytest.raises(ops.CycleError, match="already closed"):
        decide(cycle, risk, Decision.CLOSE, "Again")
    assert count(TaskForceDecision) == 1


def test_merge_asks_which_risk_and_merges(cycle: ReviewCycle) -> None:
    unit = make_unit()
    risk, survivor = make_risk(unit=unit), make_risk(unit=make_unit(), title="Survivor")
    with pytest.raises(ops.CycleError, match="reference of the risk"):
        decide(cycle, risk, Decision.MERGE, "Same exposure")
    with pytest.raises(ops.CycleError, match="No risk NOPE-1"):
        decide(cycle, risk, Decision.MERGE, "Same exposure", merge_into="NOPE-1")
    with pytest.raises(ops.CycleError, match="into itself"):
        decide(cycle, risk, Decision.MERGE, "Same exposure", merge_into=risk.ref)
    assert count(TaskForceDecision) == 0
    row = decide(cycle, risk, Decision.MERGE, "Same exposure", merge_into=survivor.ref.lower())
    db.session.refresh(risk)
    assert (risk.status, risk.merged_into_id) == (RiskStatus.MERGED, survivor.id)
    assert row.effect == f"Merged into {survivor.ref} — its reference now leads there"


def test_promote_and_de_escalate_change_the_level(cycle: ReviewCycle) -> None:
    risk = make_risk(unit=make_unit(), level=RiskLevel.SECTOR)
    assert decide(cycle, risk, Decision.PROMOTE_TO_CORPORATE).effect == "Level changed from sector to corporate"
    assert risk.level == RiskLevel.CORPORATE
    with pytest.raises(ops.CycleError, match="already a corporate risk"):
        decide(cycle, risk, Decision.PROMOTE_TO_CORPORATE)
    decide(cycle, risk, Decision.DE_ESCALATE)
    decide(cycle, risk, Decision.DE_ESCALATE)
    assert risk.level == RiskLevel.DEPARTMENTAL
    with pytest.raises(ops.CycleError, match="no level below"):
        decide(cycle, risk, Decision.DE_ESCALATE)
    assert count(TaskForceDecision) == 3


def test_escalate_opens_an_escalation_above_the_task_force(cycle: ReviewCycle) -> None:
    risk = make_risk(unit=make_unit(), residual=(3, 3))
    row = decide(cycle, risk, Decision.ESCALATE, "Beyond the task force's means.")
    escalation = db.session.scalars(select(Escalation).where(Escalation.risk_id == risk.id)).one()
    assert (escalation.to_level, escalation.status) == (EscalationLevel.EXECUTIVE, EscalationStatus.PENDING)
    assert row.effect == f"Escalation to the executive opened (#{escalation.id})"
    # A second one is refused while the first waits for the executive.
    with pytest.raises(ops.CycleError, match="still waiting"):
        decide(cycle, risk, Decision.ESCALATE, "Again")
    assert count(TaskForceDecision) == 1


def test_accept_above_appetite_creates_the_acceptance_or_is_refused(cycle: ReviewCycle) -> None:
    high = make_risk(unit=make_unit(), residual=(3, 5), category_code="INN")  # High, above appetite
    until = TODAY + timedelta(days=180)
    with pytest.raises(ops.CycleError, match="date the acceptance ends"):
        decide(cycle, high, Decision.ACCEPT_ABOVE_APPETITE, "Worth it", accept_conditions="KRI")
    with pytest.raises(ops.CycleError, match="at most 12 months"):
        decide(
            cycle,
            high,
            Decision.ACCEPT_ABOVE_APPETITE,
            "Worth it",
            accept_until=TODAY + timedelta(days=400),
            accept_conditions="KRI",
        )
    row = decide(cycle, high, Decision.ACCEPT_ABOVE_APPETITE, "Worth it", accept_until=until, accept_conditions="KRI")
    acceptance = db.session.scalars(select(RiskAcceptance)).one()
    assert (acceptance.risk_id, acceptance.valid_until, acceptance.decision_level) == (
        high.id,
        until,
        EscalationLevel.TASK_FORCE,
    )
    assert row.effect.startswith("Accepted above appetite until")
    outside = make_risk(unit=make_unit(), residual=(2, 5))  # FIN 10: outside tolerance
    with pytest.raises(ops.CycleError, match="outside tolerance can never be accepted"):
        decide(cycle, outside, Decision.ACCEPT_ABOVE_APPETITE, "Please", accept_until=until, accept_conditions="x")
    assert (count(TaskForceDecision), count(RiskAcceptance)) == (1, 1)


@pytest.mark.parametrize("kind", [Decision.RATING_CHALLENGED, Decision.RETURN_TO_OWNER])
def test_challenge_flags_the_risk_until_the_owner_reassesses(cycle: ReviewCycle, kind: Decision) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit)
    row = decide(cycle, risk, kind, "Likelihood looks too low given the audit finding.")
    focal = make_user(role=Role.FOCAL_POINT, unit=unit)
    needing = owner_requests.requests_needing(db.session, focal)
    assert [(r.risk_id, r.comment, r.decision_id) for r in needing] == [
        (risk.id, "Likelihood looks too low given the audit finding.", row.id)
    ]
    assert owner_requests.requests_needing(db.session, make_user(role=Role.FOCAL_POINT, unit=make_unit())) == []
    data = risk_ops.AssessmentInput(5, 5, 4, 3, rationale="Raised after the challenge")
    risk_ops.record_assessment(db.session, Actor.of(focal), risk, data, expected_version=risk.version)
    assert owner_requests.requests_needing(db.session, focal) == []
    request = db.session.scalars(select(OwnerRequest)).one()
    assert (request.cleared_how, request.cleared_by_id) == ("reassessed", focal.id)


def test_validated_marks_the_current_assessment_once_per_cycle(cycle: ReviewCycle) -> None:
    risk = make_risk(unit=make_unit())
    decide(cycle, risk, Decision.VALIDATED, "")
    validation = db.session.scalars(select(AssessmentValidation)).one()
    assert (validation.assessment_id, validation.review_cycle_id) == (risk.current_assessment_id, cycle.id)
    with pytest.raises(ops.CycleError, match="already validated"):
        decide(cycle, risk, Decision.VALIDATED, "")
    assert count(AssessmentValidation) == 1


def test_decision_form_states_effects_and_refuses_whole(cycle: ReviewCycle, client: FlaskClient) -> None:
    unit = make_unit()
    risk, survivor = make_risk(unit=unit), make_risk(unit=unit, title="Survivor")
    login(client, make_user(role=Role.TASKFORCE).email)
    url = f"/review/cycles/{cycle.code}/decide/{risk.ref}"
    page = client.get(url).get_data(as_text=True)
    for text in effects.DESCRIPTIONS.values():
        assert text.split(":")[0].replace("'", "&#39;") in page
    form = {"decision": "merge", "comment": "Same exposure", "decided_on": TODAY.isoformat(), "merge_into": "X-1"}
    refused = client.post(url, data=form)
    assert refused.status_code == 200
    assert "No risk X-1 in the register" in refused.get_data(as_text=True)
    assert count(TaskForceDecision) == 0
    assert client.post(url, data={**form, "merge_into": survivor.ref}).status_code == 302
    assert client.get(f"/risks/{risk.ref}").headers["Location"].endswith(f"/risks/{survivor.ref}")
    minutes = client.get(f"/review/cycles/{cycle.code}/minutes").get_data(as_text=True)
    assert f"Merged into {survivor.ref}" in minutes
