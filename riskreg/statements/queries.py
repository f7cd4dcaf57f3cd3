"""Read side of the appetite feature: what-if under a draft, the breach register, escalation lists.

Every risk query takes the caller's scope condition (`access.risk_scope(user)`), so a focal point sees
only their unit. Each page issues a fixed number of statements whatever the register's size: what-if
is one query and judging in Python; the breach register is one query for the risks and one each for
their plans, acceptances and escalations.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload

from riskreg import appetite
from riskreg.appetite import Zone, judge
from riskreg.models import (
    AcceptanceStatus,
    Action,
    ActionStatus,
    AppetiteStatement,
    Assessment,
    AuditEvent,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    Nature,
    OrgUnit,
    Risk,
    RiskAcceptance,
    RiskCategory,
)
from riskreg.scoring import Scales
from riskreg.statements.responses import (
    EXPIRY_WARNING_DAYS,
    IN_FLIGHT,
    OPEN_ESCALATION,
    OPEN_RISK_STATUSES,
    required_acceptance_level,
)

ZONE_ORDER = (Zone.WITHIN_APPETITE, Zone.ABOVE_APPETITE, Zone.OUTSIDE_TOLERANCE, Zone.NOT_EVALUATED)
_BATCH = 900  # bound parameters per IN list (SQLite's limit is far above, but stays safe)


# --------------------------------------------------------------------------- statements


def categories_in_order(session: Session) -> list[RiskCategory]:
    return list(session.scalars(select(RiskCategory).order_by(RiskCategory.sort_order, RiskCategory.code)))


def all_versions(session: Session) -> list[AppetiteStatement]:
    return list(session.scalars(select(AppetiteStatement).order_by(AppetiteStatement.id.desc())))


def last_change(session: Session, statement: AppetiteStatement) -> AuditEvent | None:
    """The latest audit event of a statement: who changed it, and when (for the conflict page)."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "appetite_statement", AuditEvent.entity_id == str(statement.id))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


# --------------------------------------------------------------------------- what-if


@dataclass(frozen=True)
class ZoneChange:
    ref: str
    title: str
    category: str
    likelihood: int
    impact: int
    before: Zone
    after: Zone

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def worse(self) -> bool:
        return self.after.severity > self.before.severity


@dataclass(frozen=True)
class WhatIf:
    """The register judged now (statement in force) and under a draft, without saving anything."""

    total: int
    now: Counter[Zone]
    draft: Counter[Zone]
    changes: tuple[ZoneChange, ...]

    def by_category(self, order: Sequence[str]) -> list[tuple[str, list[ZoneChange]]]:
        grouped: dict[str, list[ZoneChange]] = defaultdict(list)
        for change in self.changes:
            grouped[change.category].append(change)
        codes = [c for c in order if c in grouped] + sorted(set(grouped) - set(order))
        return [(code, grouped[code]) for code in codes]


def what_if(
    session: Session,
    draft: appetite.Statement,
    in_force: appetite.Statement | None,
    scales: Scales,
    scope: ColumnElement[bool],
) -> WhatIf:
    """Judge every live assessed risk in `scope` under `in_force` and under `draft`: one query."""
    # Plain columns through Core, no ORM row loading or enum decoding: this query is the page's whole cost.
    rows = (
        session.connection()
        .execute(
            select(
                Risk.ref,
                Risk.title,
                RiskCategory.code,
                Risk.residual_likelihood,
                Risk.residual_impact,
                (Risk.nature == Nature.OPPORTUNITY).label("opportunity"),
            )
            .join(RiskCategory, RiskCategory.id == Risk.category_id)
            .where(scope, Risk.residual_likelihood.is_not(None), Risk.status.in_(OPEN_RISK_STATUSES))
        )
        .all()
    )
    now: Counter[Zone] = Counter()
    later: Counter[Zone] = Counter()
    changes = []
    # A judgement depends only on (category, cell, nature): at most a few hundred distinct ones to compute.
    judged: dict[tuple[str, int, int, bool], tuple[Zone, Zone]] = {}
    for ref, title, code, likelihood, impact, opportunity in rows:
        if likelihood is None or impact is None:
            continue  # excluded by the query; kept for the type checker
        key = (code, likelihood, impact, bool(opportunity))
        pair = judged.get(key)
        if pair is None:
            before_appetite = in_force.for_category(code) if in_force else None
            pair = (
                judge(likelihood, impact, before_appetite, scales, opportunity=key[3]),
                judge(likelihood, impact, draft.for_category(code), scales, opportunity=key[3]),
            )
            judged[key] = pair
        before, after = pair
        now[before] += 1
        later[after] += 1
        if before != after:
            changes.append(ZoneChange(ref, title, code, likelihood, impact, before, after))
    changes.sort(key=lambda c: (-c.score, c.ref))
    return WhatIf(total=len(rows), now=now, draft=later, changes=tuple(changes))


# --------------------------------------------------------------------------- breach register


@dataclass(frozen=True)
class Breach:
    """A risk above appetite or outside tolerance, with its response and what is still missing."""

    risk_id: int
    ref: str
    title: str
    unit_code: str
    category_code: str
    category_name: str
    zone: Zone
    residual_score: int
    residual_band: str
    appetite_max: int | None
    tolerance_max: int | None
    zero_tolerance: bool
    statement_version: str
    plan_actions: int = 0
    next_due: date | None = None
    acceptance_level: EscalationLevel | None = None
    acceptance_until: date | None = None
    acceptance_expiring: bool = False
    escalation_id: int | None = None
    escalation_to: EscalationLevel | None = None
    escalation_status: EscalationStatus | None = None
    missing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def gap(self) -> int | None:
        return None if self.appetite_max is None else self.residual_score - self.appetite_max


def breaches(session: Session, scope: ColumnElement[bool], scales: Scales, as_at: date | None = None) -> list[Breach]:
    """Every live risk in scope whose current judgement is above appetite or outside tolerance."""
    as_at = as_at or date.today()
    rows = session.execute(
        select(
            Risk.id,
            Risk.ref,
            Risk.title,
            OrgUnit.code,
            RiskCategory.code,
            RiskCategory.name,
            Assessment.zone,
            Assessment.residual_score,
            Assessment.residual_band,
            Assessment.appetite_max,
            Assessment.tolerance_max,
            Assessment.zero_tolerance,
            Assessment.statement_version,
        )
        .join(Assessment, Assessment.id == Risk.current_assessment_id)
        .join(OrgUnit, OrgUnit.id == Risk.org_unit_id)
        .join(RiskCategory, RiskCategory.id == Risk.category_id)
        .where(
            scope,
            Risk.status.in_(OPEN_RISK_STATUSES),
            Risk.zone.in_([Zone.ABOVE_APPETITE, Zone.OUTSIDE_TOLERANCE]),
        )
        .order_by(RiskCategory.sort_order, Assessment.residual_score.desc(), Risk.ref)
    ).all()
    ids = [r[0] for r in rows]
    plans = _plans(session, ids)
    acceptances = _acceptances(session, ids, as_at)
    escalations = _escalations(session, ids)
    warn_from = as_at + timedelta(days=EXPIRY_WARNING_DAYS)
    result = []
    for row in rows:
        risk_id, zone, score = row[0], row[6], row[7]
        count, next_due = plans.get(risk_id, (0, None))
        acceptance = acceptances.get(risk_id)
        escalation = escalations.get(risk_id)
        breach = Breach(
            risk_id=risk_id,
            ref=row[1],
            title=row[2],
            unit_code=row[3],
            category_code=row[4],
            category_name=row[5],
            zone=zone,
            residual_score=score,
            residual_band=row[8],
            appetite_max=row[9],
            tolerance_max=row[10],
            zero_tolerance=row[11],
            statement_version=row[12],
            plan_actions=count,
            next_due=next_due,
            acceptance_level=acceptance.decision_level if acceptance else None,
            acceptance_until=acceptance.valid_until if acceptance else None,
            acceptance_expiring=bool(acceptance and acceptance.valid_until <= warn_from),
            escalation_id=escalation.id if escalation else None,
            escalation_to=escalation.to_level if escalation else None,
            escalation_status=escalation.status if escalation else None,
        )
        result.append(_with_missing(breach, scales))
    return result


def _with_missing(breach: Breach, scales: Scales) -> Breach:
    missing = []
    if breach.zone == Zone.ABOVE_APPETITE and not breach.zero_tolerance:
        if not breach.plan_actions and breach.acceptance_until is None:
            level = required_acceptance_level(scales, breach.residual_score)
            who = f"an acceptance at {level.label.lower()} level" if level else "an escalation"
            missing.append(f"a dated treatment plan or {who}")
    else:
        if breach.escalation_status is None:
            missing.append("an escalation")
        elif breach.escalation_status == EscalationStatus.PROPOSED:
            missing.append("confirmation of the proposed escalation")
        elif breach.escalation_status == EscalationStatus.PENDING and breach.escalation_to is not None:
            missing.append(f"acceptance by the {breach.escalation_to.label.lower()} level")
        if not breach.plan_actions:
            missing.append("a dated treatment plan")
    return replace(breach, missing=tuple(missing))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _BATCH):
        yield ids[start : start + _BATCH]


def _plans(session: Session, ids: list[int]) -> dict[int, tuple[int, date | None]]:
    """Per risk: open actions with an owner (and, always, a due date), and the earliest due date."""
    result: dict[int, tuple[int, date | None]] = {}
    open_statuses = [s for s in ActionStatus if s.is_open]
    for chunk in _chunks(ids):
        query = select(Action.risk_id, Action.due_date, Action.revised_due_date).where(
            Action.risk_id.in_(chunk),
            Action.status.in_(open_statuses),
            or_(Action.owner_id.is_not(None), Action.owner_title != ""),
        )
        for risk_id, due, revised in session.execute(query):
            count, earliest = result.get(risk_id, (0, None))
            effective = revised or due
            result[risk_id] = (count + 1, effective if earliest is None or effective < earliest else earliest)
    return result


def _acceptances(session: Session, ids: list[int], as_at: date) -> dict[int, RiskAcceptance]:
    result: dict[int, RiskAcceptance] = {}
    for chunk in _chunks(ids):
        query = (
            select(RiskAcceptance)
            .where(
                RiskAcceptance.risk_id.in_(chunk),
                RiskAcceptance.status == AcceptanceStatus.ACTIVE,
                RiskAcceptance.valid_until >= as_at,
            )
            .order_by(RiskAcceptance.valid_until)
        )
        for acceptance in session.scalars(query):
            result[acceptance.risk_id] = acceptance
    return result


def _escalations(session: Session, ids: list[int]) -> dict[int, Escalation]:
    """Per risk the escalation that matters most: one waiting for a decision, else the accepted one."""
    result: dict[int, Escalation] = {}
    for chunk in _chunks(ids):
        query = (
            select(Escalation)
            .where(Escalation.risk_id.in_(chunk), Escalation.status.in_(OPEN_ESCALATION))
            .order_by(Escalation.id)
        )
        for escalation in session.scalars(query):
            held = result.get(escalation.risk_id)
            if held is None or escalation.status in IN_FLIGHT or held.status not in IN_FLIGHT:
                result[escalation.risk_id] = escalation
    return result


# --------------------------------------------------------------------------- escalations and acceptances


ESCALATION_VIEWS = {
    "open": OPEN_ESCALATION,
    "waiting": IN_FLIGHT,
    "closed": (EscalationStatus.REJECTED, EscalationStatus.RESOLVED),
}


def escalation_list(session: Session, scope: ColumnElement[bool], view: str, limit: int = 500) -> list[Escalation]:
    statuses = ESCALATION_VIEWS.get(view, OPEN_ESCALATION)
    return list(
        session.scalars(
            select(Escalation)
            .join(Risk, Risk.id == Escalation.risk_id)
            .where(scope, Escalation.status.in_(statuses))
            .options(joinedload(Escalation.risk))
            .order_by(Escalation.raised_on.desc(), Escalation.id.desc())
            .limit(limit)
        )
    )


def acceptances_of(session: Session, risk: Risk) -> list[RiskAcceptance]:
    return list(
        session.scalars(
            select(RiskAcceptance).where(RiskAcceptance.risk_id == risk.id).order_by(RiskAcceptance.id.desc())
        )
    )


def escalations_of(session: Session, risk: Risk) -> list[Escalation]:
    return list(session.scalars(select(Escalation).where(Escalation.risk_id == risk.id).order_by(Escalation.id.desc())))
