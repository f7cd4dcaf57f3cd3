"""What a breach of appetite demands: acceptances above appetite and escalations up the ladder.

Rules of domain.md (b).3 and (d). Above appetite, a risk needs a dated treatment plan or a time-limited
acceptance by the level its band calls for (department for the lower bands, task force for the highest
band below Critical); outside tolerance, Critical and zero-tolerance breaches are never accepted but
escalated. Escalations climb owner → department → task force → executive → governing body, and change
hands only when the receiving level accepts. Each write commits with its audit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskreg import audit, policy
from riskreg.appetite import Zone
from riskreg.models import (
    AcceptanceStatus,
    Assessment,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EscalationTrigger,
    Nature,
    Risk,
    RiskAcceptance,
    RiskStatus,
    Role,
)
from riskreg.risks.operations import RuleViolation, StaleEdit
from riskreg.scoring import Scales

ACCEPTANCE_MAX_MONTHS = 12
EXPIRY_WARNING_DAYS = 30
LADDER = tuple(EscalationLevel)
IN_FLIGHT = (EscalationStatus.PROPOSED, EscalationStatus.PENDING)
OPEN_ESCALATION = (EscalationStatus.PROPOSED, EscalationStatus.PENDING, EscalationStatus.ACCEPTED)
OPEN_RISK_STATUSES = tuple(s for s in RiskStatus if s.is_open)


class NotAllowedError(Exception):
    """The person's role or unit does not hold the level this decision belongs to."""


@dataclass(frozen=True)
class AcceptanceInput:
    justification: str
    conditions: str
    valid_until: date


# --------------------------------------------------------------------------- who decides


def required_acceptance_level(scales: Scales, residual_score: int) -> EscalationLevel | None:
    """The level that may accept a risk above appetite with this residual score; None: never acceptable.

    The highest band below the critical one (High on the default scales) is the task force's; the
    lower bands (Low, Medium) are the department head's.
    """
    band = scales.band(residual_score)
    if band.critical:
        return None
    top = [b for b in scales.bands if not b.critical][-1]
    return EscalationLevel.TASK_FORCE if band.name == top.name else EscalationLevel.DEPARTMENT


def may_decide_at(actor: audit.Actor, level: EscalationLevel, risk: Risk) -> bool:
    """Whether `actor` speaks for `level` on `risk`.

    Owner and department level: the focal point of the risk's unit, or a coordinator. Task force: a
    task force member. Executive and governing body take no data entry: a coordinator records them.
    """
    role = actor.role
    if level in (EscalationLevel.OWNER, EscalationLevel.DEPARTMENT):
        return role == Role.COORDINATOR or (role == Role.FOCAL_POINT and actor.unit_id == risk.org_unit_id)
    if level == EscalationLevel.TASK_FORCE:
        return role == Role.TASKFORCE
    return role == Role.COORDINATOR


def may_confirm(actor: audit.Actor, risk: Risk) -> bool:
    """Who turns an automatic proposal into a real escalation (or dismisses it)."""
    return actor.role == Role.COORDINATOR or (actor.role == Role.FOCAL_POINT and actor.unit_id == risk.org_unit_id)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (29 Feb -> 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has at least 28 days


# --------------------------------------------------------------------------- acceptances


def record_acceptance(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    data: AcceptanceInput,
    *,
    today: date | None = None,
    scales: Scales | None = None,
    commit: bool = True,
) -> RiskAcceptance:
    """Accept a risk above appetite until `valid_until` (at most 12 months), replacing an active acceptance."""
    today = today or date.today()
    scales = scales or policy.current_scales(session)
    assessment = _acceptable_assessment(risk)
    level = required_acceptance_level(scales, assessment.residual_score)
    if level is None:
        raise RuleViolation("risk", "A Critical risk can never be accepted; continuing it is an executive decision.")
    if not may_decide_at(actor, level, risk):
        raise NotAllowedError(
            f"A {assessment.residual_band} risk above appetite is accepted at {level.label.lower()} level, "
            "which your role does not hold for this risk."
        )
    _check_acceptance_input(data, today)
    replaced = session.scalars(
        select(RiskAcceptance).where(
            RiskAcceptance.risk_id == risk.id, RiskAcceptance.status == AcceptanceStatus.ACTIVE
        )
    ).all()
    for old in replaced:
        old.status = AcceptanceStatus.REVOKED
        old.revoked_reason = f"Replaced by a new acceptance on {today.isoformat()}."
    acceptance = RiskAcceptance(
        risk_id=risk.id,
        assessment_id=assessment.id,
        decided_by_id=actor.user_id,
        decision_level=level,
        justification=data.justification.strip(),
        conditions=data.conditions.strip(),
        decided_on=today,
        valid_until=data.valid_until,
        status=AcceptanceStatus.ACTIVE,
    )
    session.add(acceptance)
    session.flush()
    audit.record(
        session,
        actor,
        "accept",
        "risk_acceptance",
        acceptance.id,
        f"{risk.ref} accepted above appetite at {level.label.lower()} level until {data.valid_until.isoformat()}",
        {
            "risk": risk.ref,
            "level": level.value,
            "valid_until": data.valid_until,
            "residual": assessment.residual_score,
            "replaced": [a.id for a in replaced],
        },
    )
    if commit:
        session.commit()
    return acceptance


def _check_acceptance_input(data: AcceptanceInput, today: date) -> None:
    if not data.justification.strip():
        raise RuleViolation("justification", "Explain why the risk is tolerated above appetite.")
    if not data.conditions.strip():
        raise RuleViolation("conditions", "State the conditions (monitoring, limits, triggers for review).")
    latest = add_months(today, ACCEPTANCE_MAX_MONTHS)
    if data.valid_until <= today:
        raise RuleViolation("valid_until", "An acceptance must end after today.")
    if data.valid_until > latest:
        raise RuleViolation("valid_until", f"An acceptance lasts at most 12 months: end it by {latest.isoformat()}.")


def _acceptable_assessment(risk: Risk) -> Assessment:
    """The risk's current assessment when it may be accepted at all, else the rule it breaks."""
    assessment = risk.current_assessment
    if risk.is_deleted or not risk.status.is_open:
        raise RuleViolation("risk", f"{risk.ref} is not a live risk.")
    if assessment is None:
        raise RuleViolation("risk", f"{risk.ref} has no assessment to accept.")
    if risk.nature == Nature.OPPORTUNITY:
        raise RuleViolation("risk", "Opportunities are not judged against appetite, so there is nothing to accept.")
    if assessment.zero_tolerance and assessment.zone != Zone.WITHIN_APPETITE:
        raise RuleViolation("risk", "A breach in a zero-tolerance category can never be accepted; escalate it.")
    if assessment.zone == Zone.OUTSIDE_TOLERANCE:
        raise RuleViolation("risk", "A risk outside tolerance can never be accepted; it must be escalated.")
    if assessment.zone != Zone.ABOVE_APPETITE:
        raise RuleViolation("risk", f"{risk.ref} is {assessment.zone.label.lower()}; only risks above it are accepted.")
    return assessment


def revoke_acceptance(session: Session, actor: audit.Actor, acceptance: RiskAcceptance, reason: str) -> None:
    """End an active acceptance early (the deciding level or a coordinator)."""
    if acceptance.status != AcceptanceStatus.ACTIVE:
        raise RuleViolation("reason", f"This acceptance is already {acceptance.status.value}.")
    if not (actor.role == Role.COORDINATOR or may_decide_at(actor, acceptance.decision_level, acceptance.risk)):
        raise NotAllowedError("Only the level that accepted the risk, or a coordinator, may revoke the acceptance.")
    if not reason.strip():
        raise RuleViolation("reason", "Say why the acceptance is revoked.")
    acceptance.status = AcceptanceStatus.REVOKED
    acceptance.revoked_reason = reason.strip()
    session.flush()
    audit.record(
        session,
        actor,
        "revoke",
        "risk_acceptance",
        acceptance.id,
        f"acceptance of {acceptance.risk.ref} revoked: {reason.strip()}",
        {"status": ["active", "revoked"], "reason": reason.strip()},
    )
    session.commit()


def expire_acceptances(session: Session, actor: audit.Actor, as_at: date | None = None) -> int:
    """Mark active acceptances whose end date has passed as expired; returns how many."""
    as_at = as_at or date.today()
    stale = session.scalars(
        select(RiskAcceptance).where(
            RiskAcceptance.status == AcceptanceStatus.ACTIVE, RiskAcceptance.valid_until < as_at
        )
    ).all()
    for acceptance in stale:
        acceptance.status = AcceptanceStatus.EXPIRED
        audit.record(
            session,
            actor,
            "expire",
            "risk_acceptance",
            acceptance.id,
            f"acceptance of risk #{acceptance.risk_id} expired on {acceptance.valid_until.isoformat()}",
        )
    session.commit()
    return len(stale)


# --------------------------------------------------------------------------- escalations


def current_level(session: Session, risk: Risk) -> EscalationLevel:
    """Who holds the risk now: the receiving level of its accepted escalation, else the owner."""
    accepted = session.scalars(
        select(Escalation.to_level).where(Escalation.risk_id == risk.id, Escalation.status == EscalationStatus.ACCEPTED)
    ).all()
    return max(accepted, key=LADDER.index, default=EscalationLevel.OWNER)


def raise_escalation(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    to_level: EscalationLevel,
    reason: str,
    *,
    trigger: EscalationTrigger = EscalationTrigger.MANUAL,
    today: date | None = None,
    commit: bool = True,
) -> Escalation:
    """A person escalates a risk from the level holding it to a higher one; it waits for that level to accept."""
    if risk.is_deleted or not risk.status.is_open:
        raise RuleViolation("risk", f"{risk.ref} is not a live risk.")
    if actor.role == Role.FOCAL_POINT and actor.unit_id != risk.org_unit_id:
        raise NotAllowedError("Focal points escalate their own unit's risks only.")
    if not reason.strip():
        raise RuleViolation("reason", "Say why the risk is escalated.")
    from_level = current_level(session, risk)
    if LADDER.index(to_level) <= LADDER.index(from_level):
        raise RuleViolation("to_level", f"The risk is held at {from_level.label.lower()} level: escalate above it.")
    waiting = session.scalars(
        select(Escalation.id).where(Escalation.risk_id == risk.id, Escalation.status.in_(IN_FLIGHT))
    ).first()
    if waiting is not None:
        raise RuleViolation("to_level", f"Escalation #{waiting} of {risk.ref} is still waiting for a decision.")
    escalation = Escalation(
        risk_id=risk.id,
        from_level=from_level,
        to_level=to_level,
        trigger=trigger,
        status=EscalationStatus.PENDING,
        reason=reason.strip(),
        raised_by_id=actor.user_id,
        raised_on=today or date.today(),
    )
    session.add(escalation)
    session.flush()
    audit.record(
        session,
        actor,
        "raise",
        "escalation",
        escalation.id,
        f"{risk.ref} escalated from {from_level.label.lower()} to {to_level.label.lower()} level",
        {"from": from_level.value, "to": to_level.value, "trigger": trigger.value, "reason": reason.strip()},
    )
    if commit:
        session.commit()
    return escalation


def confirm_escalation(
    session: Session, actor: audit.Actor, escalation: Escalation, expected_version: int
) -> Escalation:
    """A person confirms an automatic proposal: it now waits for the receiving level."""
    _check_version(escalation, expected_version)
    _require_status(escalation, EscalationStatus.PROPOSED, "confirmed")
    if not may_confirm(actor, escalation.risk):
        raise NotAllowedError("A coordinator or the risk's focal point confirms a proposed escalation.")
    return _move(session, actor, escalation, EscalationStatus.PENDING, "confirm", "confirmed")


def accept_escalation(
    session: Session, actor: audit.Actor, escalation: Escalation, expected_version: int, *, today: date | None = None
) -> Escalation:
    """The receiving level takes the risk over; an earlier accepted escalation of the risk is closed."""
    _check_version(escalation, expected_version)
    _require_status(escalation, EscalationStatus.PENDING, "accepted")
    risk = escalation.risk
    if not may_decide_at(actor, escalation.to_level, risk):
        raise NotAllowedError(f"Only the {escalation.to_level.label.lower()} level accepts this escalation.")
    held = session.scalars(
        select(Escalation).where(
            Escalation.risk_id == risk.id,
            Escalation.status == EscalationStatus.ACCEPTED,
            Escalation.id != escalation.id,
        )
    ).all()
    for older in held:
        older.status = EscalationStatus.RESOLVED
        older.resolution = f"Escalated further to {escalation.to_level.label.lower()} level (#{escalation.id})."
        audit.record(
            session,
            actor,
            "resolve",
            "escalation",
            older.id,
            f"escalation of {risk.ref} to {older.to_level.label.lower()} level resolved: {older.resolution}",
            {"status": ["accepted", "resolved"]},
        )
    escalation.decided_by_id = actor.user_id
    escalation.decided_on = today or date.today()
    if risk.status == RiskStatus.ACTIVE:
        risk.status = RiskStatus.ESCALATED
    return _move(session, actor, escalation, EscalationStatus.ACCEPTED, "accept", "accepted")


def reject_escalation(
    session: Session,
    actor: audit.Actor,
    escalation: Escalation,
    reason: str,
    expected_version: int,
    *,
    today: date | None = None,
) -> Escalation:
    """The receiving level declines a pending escalation, or a confirmer dismisses a proposal; reason kept."""
    _check_version(escalation, expected_version)
    if escalation.status == EscalationStatus.PROPOSED:
        if not may_confirm(actor, escalation.risk):
            raise NotAllowedError("A coordinator or the risk's focal point dismisses a proposed escalation.")
    elif escalation.status == EscalationStatus.PENDING:
        if not may_decide_at(actor, escalation.to_level, escalation.risk):
            raise NotAllowedError(f"Only the {escalation.to_level.label.lower()} level rejects this escalation.")
    else:
        raise RuleViolation(
            "status", f"Escalation #{escalation.id} is {escalation.status.value}; it cannot be rejected."
        )
    if not reason.strip():
        raise RuleViolation("reason", "Say why the escalation is rejected.")
    escalation.resolution = reason.strip()
    escalation.decided_by_id = actor.user_id
    escalation.decided_on = today or date.today()
    return _move(session, actor, escalation, EscalationStatus.REJECTED, "reject", f"rejected: {reason.strip()}")


def resolve_escalation(
    session: Session,
    actor: audit.Actor,
    escalation: Escalation,
    resolution: str,
    expected_version: int,
) -> Escalation:
    """The holding level (or a coordinator) closes an accepted escalation, saying how it was resolved."""
    _check_version(escalation, expected_version)
    _require_status(escalation, EscalationStatus.ACCEPTED, "resolved")
    risk = escalation.risk
    if not (actor.role == Role.COORDINATOR or may_decide_at(actor, escalation.to_level, risk)):
        raise NotAllowedError(
            f"The {escalation.to_level.label.lower()} level or a coordinator resolves this escalation."
        )
    if not resolution.strip():
        raise RuleViolation("resolution", "Record how the escalation was resolved.")
    escalation.resolution = resolution.strip()
    others = session.scalars(
        select(func.count())
        .select_from(Escalation)
        .where(
            Escalation.risk_id == risk.id,
            Escalation.status == EscalationStatus.ACCEPTED,
            Escalation.id != escalation.id,
        )
    ).one()
    if not others and risk.status == RiskStatus.ESCALATED:
        risk.status = RiskStatus.ACTIVE
    return _move(session, actor, escalation, EscalationStatus.RESOLVED, "resolve", f"resolved: {resolution.strip()}")


def escalate_further(
    session: Session,
    actor: audit.Actor,
    escalation: Escalation,
    to_level: EscalationLevel,
    reason: str,
    expected_version: int,
    *,
    today: date | None = None,
) -> Escalation:
    """The level holding an accepted escalation passes the risk up: a new escalation from that level."""
    _check_version(escalation, expected_version)
    _require_status(escalation, EscalationStatus.ACCEPTED, "escalated further")
    if not (actor.role == Role.COORDINATOR or may_decide_at(actor, escalation.to_level, escalation.risk)):
        raise NotAllowedError(f"The {escalation.to_level.label.lower()} level or a coordinator escalates further.")
    return raise_escalation(session, actor, escalation.risk, to_level, reason, today=today)


# --------------------------------------------------------------------------- shared


def _check_version(escalation: Escalation, expected_version: int) -> None:
    if escalation.version != expected_version:
        raise StaleEdit(escalation)


def _require_status(escalation: Escalation, status: EscalationStatus, verb: str) -> None:
    if escalation.status != status:
        raise RuleViolation(
            "status", f"Escalation #{escalation.id} is {escalation.status.value}; only a {status.value} one is {verb}."
        )


def _move(
    session: Session,
    actor: audit.Actor,
    escalation: Escalation,
    status: EscalationStatus,
    action: str,
    summary: str,
) -> Escalation:
    before = escalation.status
    escalation.status = status
    session.flush()
    audit.record(
        session,
        actor,
        action,
        "escalation",
        escalation.id,
        f"escalation of {escalation.risk.ref} to {escalation.to_level.label.lower()} level {summary}",
        {"status": [before.value, status.value]},
    )
    session.commit()
    return escalation
