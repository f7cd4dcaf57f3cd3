"""Writes to the register: risks, assessments, controls, actions. Each commits with its audit record.

Every edit names the version the user saw; a different stored version raises `StaleEdit` and nothing
is written (security.md J1). Scores, bands and appetite zones are computed here, never taken from input.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskreg import audit, policy
from riskreg.appetite import Zone, judge
from riskreg.escalation import Proposal, RiskFacts, proposed_trigger
from riskreg.models import (
    Action,
    ActionStatus,
    Assessment,
    Control,
    ControlEffectiveness,
    ControlType,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EscalationTrigger,
    Nature,
    OrgUnit,
    Risk,
    RiskLevel,
    RiskStatus,
    Treatment,
    TrendReason,
    utcnow,
)
from riskreg.risks import owner_requests
from riskreg.scoring import Scales


class RuleViolation(ValueError):  # noqa: N818 - a rule, not a program error; name used across features
    """Input that breaks a register rule; `field` names the form field to show it beside."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StaleEdit(Exception):  # noqa: N818 - name used across features
    """The record changed since the user loaded it; carries what is stored now."""

    def __init__(self, current: Any) -> None:
        super().__init__("changed by someone else")
        self.current = current


@dataclass(frozen=True)
class RiskInput:
    title: str
    cause: str
    event: str
    consequence: str
    category_id: int
    owner_title: str
    nature: Nature = Nature.THREAT
    level: RiskLevel = RiskLevel.DEPARTMENTAL
    treatment: Treatment = Treatment.TREAT
    linked_objective: str = ""
    target_likelihood: int | None = None
    target_impact: int | None = None
    target_date: date | None = None
    is_confidential: bool = False
    council_visible: bool = False


@dataclass(frozen=True)
class AssessmentInput:
    inherent_likelihood: int
    inherent_impact: int
    residual_likelihood: int
    residual_impact: int
    control_effectiveness: ControlEffectiveness = ControlEffectiveness.NOT_ASSESSED
    velocity: int | None = None
    trend_reason: TrendReason | None = None
    rationale: str = ""
    assessed_on: date = field(default_factory=date.today)
    review_cycle_id: int | None = None


@dataclass(frozen=True)
class ActionInput:
    description: str
    owner_title: str
    due_date: date
    revised_due_date: date | None = None
    status: ActionStatus = ActionStatus.NOT_STARTED
    percent_complete: int = 0
    expected_effect: str = ""
    comment: str = ""


@dataclass(frozen=True)
class ControlInput:
    description: str
    type: ControlType = ControlType.PREVENTIVE
    owner_title: str = ""
    effectiveness: ControlEffectiveness = ControlEffectiveness.NOT_ASSESSED
    last_tested_on: date | None = None
    evidence_ref: str = ""


# --------------------------------------------------------------------------- risks


def ref_prefix(unit_code: str) -> str:
    """The unit part of a risk reference: the last segment of the unit code (GS-FRMD -> FRMD)."""
    return unit_code.rsplit("-", 1)[-1].upper()


def _check_risk_input(data: RiskInput, scales: Scales) -> None:
    if data.treatment == Treatment.EXPLOIT and data.nature != Nature.OPPORTUNITY:
        raise RuleViolation("treatment", "Exploit is a response for opportunities only.")
    if (data.target_likelihood is None) != (data.target_impact is None):
        raise RuleViolation("target_impact", "Give both target likelihood and target impact, or neither.")
    if data.target_likelihood is not None and data.target_impact is not None:
        try:
            scales.check_point(data.target_likelihood, data.target_impact)
        except ValueError as exc:
            raise RuleViolation("target_likelihood", str(exc)) from None


def create_risk(
    session: Session,
    actor: audit.Actor,
    data: RiskInput,
    org_unit_id: int,
    *,
    assessment: AssessmentInput | None = None,
    scales: Scales | None = None,
    status: RiskStatus = RiskStatus.ACTIVE,
    commit: bool = True,
    ref: str | None = None,
) -> Risk:
    """Register a new risk (and its first assessment); the reference is generated and never changes.

    `ref` keeps a reference the risk already had (an imported register's); it must be unused.
    """
    scales = scales or policy.current_scales(session)
    _check_risk_input(data, scales)
    unit = session.get(OrgUnit, org_unit_id)
    if unit is None:
        raise RuleViolation("org_unit", "Unknown unit.")
    year = date.today().year if assessment is None else assessment.assessed_on.year
    given = _given_ref(ref, unit.code, year) if ref else None
    for _attempt in range(1 if given else 5):
        seq = (
            session.scalar(select(func.max(Risk.ref_seq)).where(Risk.org_unit_id == unit.id, Risk.ref_year == year))
            or 0
        ) + 1
        if given:
            year, seq = given[1], given[2]
        risk = Risk(
            ref=given[0] if given else f"{ref_prefix(unit.code)}-{year}-{seq:03d}",
            ref_year=year,
            ref_seq=seq,
            org_unit_id=unit.id,
            status=status,
            created_by_id=actor.user_id,
            updated_by_id=actor.user_id,
            **asdict(data),
        )
        # A concurrent registration in the same unit may take the same number: retry with the next one.
        savepoint = session.begin_nested()
        session.add(risk)
        try:
            savepoint.commit()
            break
        except IntegrityError:
            savepoint.rollback()
    else:
        if given:
            raise RuleViolation("ref", f"Reference {given[0]} is already used by another risk.")
        raise RuleViolation("title", "Could not allocate a reference; please try again.")
    audit.record(session, actor, "create", "risk", risk.ref, f"registered {risk.ref}: {risk.title}", _risk_fields(risk))
    if assessment is not None:
        record_assessment(session, actor, risk, assessment, scales=scales, expected_version=None, commit=False)
    if commit:
        session.commit()
    return risk


def _given_ref(ref: str, unit_code: str, year: int) -> tuple[str, int, int]:
    """(ref, year, sequence) for a kept reference: its own year and number when it has this unit's pattern."""
    found = re.fullmatch(rf"{re.escape(ref_prefix(unit_code))}-(\d{{4}})-(\d{{1,6}})", ref, re.IGNORECASE)
    # Sequence 0 keeps other references out of the numbering of generated ones.
    return (ref, int(found.group(1)), int(found.group(2))) if found else (ref, year, 0)


def update_risk(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    data: RiskInput,
    expected_version: int,
    *,
    scales: Scales | None = None,
    commit: bool = True,
) -> Risk:
    """Change a risk's description. The unit and reference are not part of the input and never change."""
    _check_version(risk, expected_version)
    ensure_changeable(risk)
    _check_risk_input(data, scales or policy.current_scales(session))
    before = _risk_fields(risk)
    for key, value in asdict(data).items():
        setattr(risk, key, value)
    risk.updated_by_id = actor.user_id
    changes = audit.diff(before, _risk_fields(risk))
    if changes:
        session.flush()
        audit.record(session, actor, "update", "risk", risk.ref, f"updated {risk.ref}", changes)
    if commit:
        session.commit()
    return risk


def delete_risk(session: Session, actor: audit.Actor, risk: Risk, reason: str, expected_version: int) -> None:
    """Soft delete: the risk leaves every list, count and export; history stays and it can be restored."""
    _check_version(risk, expected_version)
    if not reason.strip():
        raise RuleViolation("reason", "Say why the risk is deleted.")
    risk.deleted_at = utcnow()
    risk.deleted_by_id = actor.user_id
    risk.delete_reason = reason.strip()
    session.flush()
    audit.record(session, actor, "delete", "risk", risk.ref, f"deleted {risk.ref}: {reason.strip()}"[:300])
    session.commit()


def restore_risk(session: Session, actor: audit.Actor, risk: Risk, expected_version: int) -> None:
    _check_version(risk, expected_version)
    risk.deleted_at = None
    risk.deleted_by_id = None
    risk.delete_reason = ""
    session.flush()
    audit.record(session, actor, "restore", "risk", risk.ref, f"restored {risk.ref}")
    session.commit()


def set_status(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    status: RiskStatus,
    reason: str,
    expected_version: int,
    *,
    commit: bool = True,
) -> None:
    _check_version(risk, expected_version)
    if status in (RiskStatus.CLOSED, RiskStatus.REALISED, RiskStatus.MERGED) and not reason.strip():
        raise RuleViolation("reason", "Say why the risk is closed.")
    before = risk.status
    risk.status = status
    if not status.is_open:
        risk.closed_reason = reason.strip()
    session.flush()
    audit.record(
        session,
        actor,
        "status",
        "risk",
        risk.ref,
        f"{risk.ref}: {before.value} → {status.value}",
        {"status": [before.value, status.value], "reason": reason.strip()},
    )
    if commit:
        session.commit()


# --------------------------------------------------------------------------- assessments


def assessment_problems(data: AssessmentInput, scales: Scales, risk: Risk) -> list[RuleViolation]:
    """Rule checks that need no database: scale bounds and rationale for unusual movements."""
    problems = []
    for prefix in ("inherent", "residual"):
        likelihood, impact = getattr(data, f"{prefix}_likelihood"), getattr(data, f"{prefix}_impact")
        try:
            scales.check_point(likelihood, impact)
        except ValueError as exc:
            problems.append(RuleViolation(f"{prefix}_likelihood", str(exc)))
    if problems:
        return problems
    inherent = scales.score(data.inherent_likelihood, data.inherent_impact)
    residual = scales.score(data.residual_likelihood, data.residual_impact)
    if not data.rationale.strip():
        if residual > inherent:
            problems.append(
                RuleViolation(
                    "rationale", "The residual score is above the inherent score: explain why controls add risk."
                )
            )
        if risk.target_likelihood and risk.target_impact and risk.target_likelihood * risk.target_impact > residual:
            problems.append(RuleViolation("rationale", "The target score is above the residual score: explain why."))
    if data.velocity is not None and not 1 <= data.velocity <= 5:
        problems.append(RuleViolation("velocity", "Velocity must be between 1 and 5."))
    return problems


def record_assessment(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    data: AssessmentInput,
    *,
    scales: Scales | None = None,
    expected_version: int | None,
    commit: bool = True,
) -> Assessment:
    """Add an immutable assessment, judged against the statement in force on its date."""
    if expected_version is not None:
        _check_version(risk, expected_version)
    ensure_changeable(risk)
    scales = scales or policy.current_scales(session)
    problems = assessment_problems(data, scales, risk)
    if problems:
        raise problems[0]
    statement = policy.statement_in_force(session, data.assessed_on)
    category_appetite = None
    if statement is not None:
        category_appetite = next((ca for ca in statement.categories if ca.category_id == risk.category_id), None)
    pure = policy.to_pure(statement).for_category(risk.category.code) if statement and category_appetite else None
    zone = judge(
        data.residual_likelihood,
        data.residual_impact,
        pure,
        scales,
        opportunity=risk.nature == Nature.OPPORTUNITY,
    )
    inherent = scales.score(data.inherent_likelihood, data.inherent_impact)
    residual = scales.score(data.residual_likelihood, data.residual_impact)
    target = (
        scales.score(risk.target_likelihood, risk.target_impact)
        if risk.target_likelihood and risk.target_impact
        else None
    )
    assessment = Assessment(
        risk=risk,
        review_cycle_id=data.review_cycle_id,
        assessed_on=data.assessed_on,
        assessed_by_id=actor.user_id,
        methodology_version=scales.version,
        inherent_likelihood=data.inherent_likelihood,
        inherent_impact=data.inherent_impact,
        inherent_score=inherent,
        inherent_band=scales.band(inherent).name,
        residual_likelihood=data.residual_likelihood,
        residual_impact=data.residual_impact,
        residual_score=residual,
        residual_band=scales.band(residual).name,
        target_likelihood=risk.target_likelihood,
        target_impact=risk.target_impact,
        target_score=target,
        target_band=scales.band(target).name if target else "",
        control_effectiveness=data.control_effectiveness,
        velocity=data.velocity,
        statement_id=statement.id if statement else None,
        statement_version=statement.version if statement else "",
        appetite_level=category_appetite.level.value if category_appetite else "",
        appetite_max=category_appetite.appetite_max if category_appetite else None,
        tolerance_max=category_appetite.tolerance_max if category_appetite else None,
        zero_tolerance=category_appetite.zero_tolerance if category_appetite else False,
        zone=zone,
        trend_reason=data.trend_reason,
        rationale=data.rationale.strip(),
    )
    session.add(assessment)
    session.flush()
    _apply_current(risk, assessment, scales)
    risk.updated_by_id = actor.user_id
    session.flush()
    audit.record(
        session,
        actor,
        "assess",
        "risk",
        risk.ref,
        f"assessed {risk.ref}: residual {residual} {assessment.residual_band}, {zone.label.lower()}",
        {
            "inherent": f"{data.inherent_likelihood}x{data.inherent_impact}",
            "residual": f"{data.residual_likelihood}x{data.residual_impact}",
            "zone": zone.value,
            "statement_version": assessment.statement_version,
        },
    )
    propose_escalation(session, actor, risk, assessment, scales)
    # A reassessment answers the task force's "rating challenged" / "return to owner".
    owner_requests.clear_requests(session, actor, risk, "reassessed")
    if commit:
        session.commit()
    return assessment


def _apply_current(risk: Risk, assessment: Assessment, scales: Scales) -> None:
    """Copy the assessment's figures onto the risk, where lists filter and sort on them."""
    if risk.last_assessed_on is not None and assessment.assessed_on < risk.last_assessed_on:
        return  # an older assessment entered late does not replace the current one
    risk.current_assessment = assessment
    risk.inherent_score = assessment.inherent_score
    risk.residual_likelihood = assessment.residual_likelihood
    risk.residual_impact = assessment.residual_impact
    risk.residual_score = assessment.residual_score
    risk.residual_band = assessment.residual_band
    risk.zone = assessment.zone
    risk.last_assessed_on = assessment.assessed_on
    risk.next_review_due = assessment.assessed_on + timedelta(days=scales.band(assessment.residual_score).review_days)


def escalation_trigger(
    assessment: Assessment, scales: Scales, *, risk: Risk | None = None, unit_count: int = 1
) -> tuple[EscalationTrigger, EscalationLevel] | None:
    """The automatic escalation an assessment calls for (domain.md (d)), strongest first.

    Without `risk`, only the assessment's own figures count (no cross-cutting test).
    """
    found = _proposal(assessment, scales, risk, unit_count)
    if found is None:
        return None
    return EscalationTrigger(found.trigger), EscalationLevel(found.to_level)


def _proposal(assessment: Assessment, scales: Scales, risk: Risk | None, unit_count: int) -> Proposal | None:
    facts = RiskFacts(
        zone=assessment.zone,
        residual_score=assessment.residual_score,
        residual_impact=assessment.residual_impact or 0,
        velocity=assessment.velocity,
        zero_tolerance=bool(assessment.zero_tolerance),
        opportunity=risk is not None and risk.nature == Nature.OPPORTUNITY,
        corporate=risk is not None and risk.level == RiskLevel.CORPORATE,
        category_code=risk.category.code if risk is not None else "",
        unit_count=unit_count,
    )
    return proposed_trigger(facts, scales)


def units_involved(session: Session, risk: Risk) -> int:
    """The registering unit and every unit that owns one of the risk's open actions (cross-cutting test)."""
    owners = session.scalars(
        select(Action.org_unit_id).where(
            Action.risk_id == risk.id, Action.status.in_([s for s in ActionStatus if s.is_open])
        )
    )
    return len({risk.org_unit_id, *owners})


def propose_escalation(
    session: Session, actor: audit.Actor, risk: Risk, assessment: Assessment, scales: Scales
) -> Escalation | None:
    """Propose the escalation an assessment calls for unless the risk already has one open."""
    if risk.id is None:
        return None
    found = _proposal(assessment, scales, risk, units_involved(session, risk))
    if found is None:
        return None
    trigger, to_level = EscalationTrigger(found.trigger), EscalationLevel(found.to_level)
    open_statuses = (EscalationStatus.PROPOSED, EscalationStatus.PENDING, EscalationStatus.ACCEPTED)
    existing = session.scalars(
        select(Escalation).where(Escalation.risk_id == risk.id, Escalation.status.in_(open_statuses))
    ).first()
    if existing is not None:
        return None
    if assessment.zone == Zone.OUTSIDE_TOLERANCE:
        limit = (
            "no category appetite"
            if assessment.tolerance_max is None
            else f"tolerance maximum {assessment.tolerance_max}"
        )
        reason = (
            f"Residual {assessment.residual_score} ({assessment.residual_band}) is outside tolerance "
            f"({limit}) under statement {assessment.statement_version or 'none'}."
        )
    else:
        reason = found.reason
    escalation = Escalation(
        risk_id=risk.id,
        from_level=EscalationLevel.OWNER,
        to_level=to_level,
        trigger=trigger,
        status=EscalationStatus.PROPOSED,
        reason=reason,
        raised_by_id=actor.user_id,
        raised_on=assessment.assessed_on,
    )
    session.add(escalation)
    session.flush()
    audit.record(
        session,
        actor,
        "propose",
        "escalation",
        escalation.id,
        f"escalation of {risk.ref} to {to_level.label} proposed ({trigger.value})",
    )
    return escalation


# --------------------------------------------------------------------------- controls and actions


def add_control(
    session: Session, actor: audit.Actor, risk: Risk, data: ControlInput, *, commit: bool = True
) -> Control:
    control = Control(risk=risk, **asdict(data))
    session.add(control)
    session.flush()
    audit.record(session, actor, "create", "control", control.id, f"control added to {risk.ref}", asdict(data))
    if commit:
        session.commit()
    return control


def update_control(
    session: Session, actor: audit.Actor, control: Control, data: ControlInput, expected_version: int
) -> Control:
    _check_version(control, expected_version)
    before = {k: getattr(control, k) for k in asdict(data)}
    for key, value in asdict(data).items():
        setattr(control, key, value)
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "control",
        control.id,
        f"control of {control.risk.ref} updated",
        audit.diff(before, asdict(data)),
    )
    session.commit()
    return control


def retire_control(
    session: Session, actor: audit.Actor, control: Control, expected_version: int, *, commit: bool = True
) -> None:
    _check_version(control, expected_version)
    control.retired_at = utcnow()
    session.flush()
    audit.record(session, actor, "retire", "control", control.id, f"control of {control.risk.ref} retired")
    if commit:
        session.commit()


def _check_action_input(data: ActionInput) -> None:
    if not 0 <= data.percent_complete <= 100:
        raise RuleViolation("percent_complete", "Percent complete must be between 0 and 100.")
    if data.status == ActionStatus.COMPLETED and data.percent_complete != 100:
        raise RuleViolation("percent_complete", "A completed action is 100% complete.")
    if data.revised_due_date is not None and data.revised_due_date < data.due_date - timedelta(days=3650):
        raise RuleViolation("revised_due_date", "The revised due date is implausibly early.")


def add_action(session: Session, actor: audit.Actor, risk: Risk, data: ActionInput, *, commit: bool = True) -> Action:
    _check_action_input(data)
    count = session.scalar(select(func.count()).select_from(Action).where(Action.risk_id == risk.id)) or 0
    action = Action(
        ref=f"{risk.ref}-A{count + 1}",
        risk=risk,
        org_unit_id=risk.org_unit_id,
        completed_on=date.today() if data.status == ActionStatus.COMPLETED else None,
        **asdict(data),
    )
    session.add(action)
    session.flush()
    audit.record(session, actor, "create", "action", action.ref, f"action {action.ref} added", asdict(data))
    if commit:
        session.commit()
    return action


def update_action(
    session: Session,
    actor: audit.Actor,
    action: Action,
    data: ActionInput,
    expected_version: int,
    *,
    commit: bool = True,
) -> Action:
    _check_version(action, expected_version)
    _check_action_input(data)
    before = {k: getattr(action, k) for k in asdict(data)}
    for key, value in asdict(data).items():
        setattr(action, key, value)
    if data.status == ActionStatus.COMPLETED and action.completed_on is None:
        action.completed_on = date.today()
    elif data.status != ActionStatus.COMPLETED:
        action.completed_on = None
    session.flush()
    audit.record(
        session, actor, "update", "action", action.ref, f"action {action.ref} updated", audit.diff(before, asdict(data))
    )
    if commit:
        session.commit()
    return action


def complete_action(session: Session, actor: audit.Actor, action: Action, expected_version: int) -> Action:
    _check_version(action, expected_version)
    action.status = ActionStatus.COMPLETED
    action.percent_complete = 100
    action.completed_on = date.today()
    session.flush()
    audit.record(session, actor, "complete", "action", action.ref, f"action {action.ref} completed")
    session.commit()
    return action


# --------------------------------------------------------------------------- shared


def ensure_changeable(risk: Risk) -> None:
    """A closed or merged risk is part of the record: it changes again only once reopened (lifecycle.py).

    A realised risk stays changeable: its owner keeps recording the follow-up the event needs.
    """
    if risk.status == RiskStatus.CLOSED:
        raise RuleViolation("status", f"{risk.ref} is closed: reopen it before changing its description or rating.")
    if risk.status == RiskStatus.MERGED:
        raise RuleViolation("status", f"{risk.ref} was merged into another risk: change the surviving risk instead.")


def _check_version(record: Risk | Action | Control, expected_version: int) -> None:
    if record.version != expected_version:
        raise StaleEdit(record)


def _risk_fields(risk: Risk) -> dict[str, Any]:
    return {
        "title": risk.title,
        "cause": risk.cause,
        "event": risk.event,
        "consequence": risk.consequence,
        "category_id": risk.category_id,
        "owner_title": risk.owner_title,
        "nature": risk.nature,
        "level": risk.level,
        "treatment": risk.treatment,
        "linked_objective": risk.linked_objective,
        "target_likelihood": risk.target_likelihood,
        "target_impact": risk.target_impact,
        "target_date": risk.target_date,
        "is_confidential": risk.is_confidential,
        "council_visible": risk.council_visible,
    }


# The rule checks and reference parsing above, under the names the import's bulk writer (riskreg/imports/bulk.py)
# calls, so that risks it inserts many at a time obey exactly the rules of risks created one by one.
check_risk_input = _check_risk_input
check_action_input = _check_action_input
given_ref = _given_ref
