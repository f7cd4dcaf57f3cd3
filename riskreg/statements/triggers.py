"""Automatic escalation proposals for the cycle-level triggers of domain.md (d).

The assessment-level triggers (outside tolerance, critical band, zero-tolerance breach) are proposed by
`risks.operations.record_assessment`. These look across review cycles and treatment plans, so they run
on demand: from the breach page (a coordinator) or `riskreg appetite escalations` (cron). A risk with an
open escalation gets no other proposal, so running them again proposes nothing new.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskreg import audit, policy
from riskreg.appetite import Zone
from riskreg.escalation import REPUTATIONAL, cross_cutting_reason
from riskreg.models import (
    AcceptanceStatus,
    Action,
    ActionStatus,
    CycleSnapshot,
    CycleStatus,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EscalationTrigger,
    ReviewCycle,
    Risk,
    RiskAcceptance,
    RiskCategory,
    RiskLevel,
    SnapshotEntry,
)
from riskreg.scoring import Scales
from riskreg.statements.responses import OPEN_ESCALATION, OPEN_RISK_STATUSES

OVERDUE_ESCALATION_DAYS = 90


def escalation_candidates(
    session: Session, actor: audit.Actor, as_at: date | None = None, *, scales: Scales | None = None
) -> list[Escalation]:
    """Propose the escalations that the cycle-level triggers of domain.md (d) call for; idempotent.

    PERSISTENT_ABOVE_APPETITE: above appetite in both of the last two closed cycles' snapshots, with no
    active acceptance now (and not back within appetite since). OVERDUE_ACTIONS: a risk in the two highest
    bands with an open action more than 90 days past due. CROSS_CUTTING: open actions owned by another unit,
    or a reputational risk at corporate level; proposed once per risk (a dismissed proposal is not repeated).
    A risk with an open escalation gets no other.
    """
    as_at = as_at or date.today()
    scales = scales or policy.current_scales(session)
    proposals: dict[int, tuple[EscalationTrigger, str]] = {}
    for risk_id in _persistently_above(session, as_at):
        proposals[risk_id] = (
            EscalationTrigger.PERSISTENT_ABOVE_APPETITE,
            "Above appetite in the last two closed review cycles without an active acceptance.",
        )
    for risk_id, days in _overdue_high_risks(session, as_at, scales).items():
        proposals.setdefault(
            risk_id,
            (
                EscalationTrigger.OVERDUE_ACTIONS,
                f"A treatment action is {days} days overdue on a High or Critical risk.",
            ),
        )
    for risk_id, reason in _cross_cutting(session).items():
        proposals.setdefault(risk_id, (EscalationTrigger.CROSS_CUTTING, reason))
    if not proposals:
        return []
    ids = sorted(proposals)
    busy = set(
        session.scalars(
            select(Escalation.risk_id).where(Escalation.risk_id.in_(ids), Escalation.status.in_(OPEN_ESCALATION))
        )
    )
    risks = {r.id: r for r in session.scalars(select(Risk).where(Risk.id.in_(ids)))}
    created = []
    for risk_id in ids:
        if risk_id in busy:
            continue
        trigger, reason = proposals[risk_id]
        escalation = Escalation(
            risk_id=risk_id,
            from_level=EscalationLevel.OWNER,
            to_level=EscalationLevel.TASK_FORCE,
            trigger=trigger,
            status=EscalationStatus.PROPOSED,
            reason=reason,
            raised_by_id=actor.user_id,
            raised_on=as_at,
        )
        session.add(escalation)
        created.append(escalation)
    session.flush()
    for escalation in created:
        ref = risks[escalation.risk_id].ref
        audit.record(
            session,
            actor,
            "propose",
            "escalation",
            escalation.id,
            f"escalation of {ref} to task force proposed ({escalation.trigger.value})",
        )
    session.commit()
    return created


def _persistently_above(session: Session, as_at: date) -> set[int]:
    cycles = session.scalars(
        select(CycleSnapshot.id)
        .join(ReviewCycle, ReviewCycle.id == CycleSnapshot.review_cycle_id)
        .where(ReviewCycle.status == CycleStatus.CLOSED)
        .order_by(ReviewCycle.period_end.desc())
        .limit(2)
    ).all()
    if len(cycles) < 2:
        return set()
    above = Zone.ABOVE_APPETITE.value
    counts = (
        select(SnapshotEntry.risk_id)
        .where(SnapshotEntry.snapshot_id.in_(cycles), SnapshotEntry.zone == above)
        .group_by(SnapshotEntry.risk_id)
        .having(func.count() == 2)
    )
    accepted = select(RiskAcceptance.risk_id).where(
        RiskAcceptance.status == AcceptanceStatus.ACTIVE, RiskAcceptance.valid_until >= as_at
    )
    return set(
        session.scalars(
            select(Risk.id).where(
                Risk.id.in_(counts),
                Risk.id.not_in(accepted),
                Risk.deleted_at.is_(None),
                Risk.status.in_(OPEN_RISK_STATUSES),
                Risk.zone != Zone.WITHIN_APPETITE,
            )
        )
    )


def _overdue_high_risks(session: Session, as_at: date, scales: Scales) -> dict[int, int]:
    high_from = scales.bands[-2].min_score if len(scales.bands) >= 2 else scales.bands[-1].min_score
    cutoff = as_at - timedelta(days=OVERDUE_ESCALATION_DAYS)
    due = func.coalesce(Action.revised_due_date, Action.due_date)
    rows = session.execute(
        select(Action.risk_id, func.min(due))
        .join(Risk, Risk.id == Action.risk_id)
        .where(
            Action.status.in_([s for s in ActionStatus if s.is_open]),
            due < cutoff,
            Risk.deleted_at.is_(None),
            Risk.status.in_(OPEN_RISK_STATUSES),
            Risk.residual_score >= high_from,
        )
        .group_by(Action.risk_id)
    ).all()
    return {risk_id: (as_at - earliest).days for risk_id, earliest in rows}


def _cross_cutting(session: Session) -> dict[int, str]:
    """Live risks that are cross-cutting now and were never proposed as such before: id -> reason."""
    live = (Risk.deleted_at.is_(None), Risk.status.in_(OPEN_RISK_STATUSES))
    proposed_before = select(Escalation.risk_id).where(Escalation.trigger == EscalationTrigger.CROSS_CUTTING)
    open_units = (
        select(Action.risk_id, Action.org_unit_id)
        .join(Risk, Risk.id == Action.risk_id)
        .where(*live, Action.status.in_([s for s in ActionStatus if s.is_open]), Action.org_unit_id != Risk.org_unit_id)
        .distinct()
        .subquery()
    )
    counted = session.execute(select(open_units.c.risk_id, func.count()).group_by(open_units.c.risk_id)).all()
    other_units = {risk_id: count for risk_id, count in counted}
    corporate_reputational = set(
        session.scalars(
            select(Risk.id)
            .join(RiskCategory, RiskCategory.id == Risk.category_id)
            .where(*live, Risk.level == RiskLevel.CORPORATE, RiskCategory.code == REPUTATIONAL)
        )
    )
    already = set(session.scalars(proposed_before))
    found = {}
    for risk_id in sorted((set(other_units) | corporate_reputational) - already):
        corporate = risk_id in corporate_reputational
        reason = cross_cutting_reason(
            1 + other_units.get(risk_id, 0), corporate=corporate, category_code=REPUTATIONAL if corporate else ""
        )
        if reason:
            found[risk_id] = reason
    return found
