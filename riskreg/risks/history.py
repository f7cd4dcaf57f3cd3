"""Read side of one risk: its assessment history with the change from each one before, its controls, actions,
escalations, acceptances, task force decisions and audit trail, and whether it lacks a treatment plan.

A fixed number of statements per risk page, whatever the length of the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from riskreg.models import (
    Action,
    Assessment,
    AssessmentValidation,
    AuditEvent,
    Control,
    Escalation,
    ReviewCycle,
    Risk,
    RiskAcceptance,
    RiskCategory,
    TaskForceDecision,
    Treatment,
)
from riskreg.scoring import Scales

AUDIT_PAGE_LIMIT = 25
_FIELD_LABELS = {
    "category_id": "category",
    "owner_title": "owner",
    "is_confidential": "confidential",
    "council_visible": "shown to Council",
    "revised_due_date": "revised due date",
    "percent_complete": "% complete",
    "due_date": "due date",
    "expected_effect": "expected effect",
    "last_tested_on": "last tested",
    "evidence_ref": "evidence",
    "linked_objective": "linked objective",
    "target_likelihood": "target likelihood",
    "target_impact": "target impact",
    "target_date": "target date",
    "statement_version": "statement version",
}


@dataclass(frozen=True)
class AssessmentChange:
    """An assessment and how it differs from the one before it (None for the first)."""

    assessment: Assessment
    previous: Assessment | None

    @property
    def residual_delta(self) -> int | None:
        return None if self.previous is None else self.assessment.residual_score - self.previous.residual_score

    @property
    def inherent_delta(self) -> int | None:
        return None if self.previous is None else self.assessment.inherent_score - self.previous.inherent_score

    @property
    def band_changed(self) -> bool:
        return self.previous is not None and self.previous.residual_band != self.assessment.residual_band

    @property
    def zone_changed(self) -> bool:
        return self.previous is not None and self.previous.zone != self.assessment.zone


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str
    is_pair: bool  # False: a value recorded on creation, no "before"


@dataclass(frozen=True)
class AuditEntry:
    event: AuditEvent
    changes: list[Change]


@dataclass
class RiskDossier:
    risk: Risk
    history: list[AssessmentChange]
    controls: list[Control]
    actions: list[Action]
    escalations: list[Escalation]
    acceptances: list[RiskAcceptance]
    decisions: list[TaskForceDecision]
    audit: list[AuditEntry]
    audit_total: int
    lacks_action_plan: bool

    @property
    def current(self) -> Assessment | None:
        return self.history[0].assessment if self.history else None


def is_high_or_worse(band_name: str | None, scales: Scales) -> bool:
    """Is the band "High" or above (or the critical band) on these scales? Unknown names count as not."""
    if not band_name:
        return False
    names = [b.name for b in scales.bands]
    if band_name not in names:
        return False
    if scales.band_named(band_name).critical:
        return True
    high = next((i for i, n in enumerate(names) if n.lower() == "high"), None)
    return high is not None and names.index(band_name) >= high


def lacks_action_plan(risk: Risk, actions: list[Action], scales: Scales) -> bool:
    """A treated High/Critical residual risk needs an open action with an owner and a due date (domain.md (a))."""
    if risk.treatment != Treatment.TREAT or not risk.status.is_open:
        return False
    if not is_high_or_worse(risk.residual_band, scales):
        return False
    return not any(a.status.is_open and a.owner_title.strip() and a.due_date for a in actions)


def risk_dossier(
    session: Session, risk: Risk, scales: Scales, *, audit_limit: int | None = AUDIT_PAGE_LIMIT
) -> RiskDossier:
    """Everything the risk page shows, in one statement per kind of record."""
    assessments = list(
        session.scalars(
            select(Assessment)
            .options(joinedload(Assessment.assessed_by))
            .where(Assessment.risk_id == risk.id)
            .order_by(Assessment.assessed_on.desc(), Assessment.id.desc())
        ).unique()
    )
    history = [
        AssessmentChange(a, assessments[i + 1] if i + 1 < len(assessments) else None) for i, a in enumerate(assessments)
    ]
    controls = list(
        session.scalars(
            select(Control).where(Control.risk_id == risk.id).order_by(Control.retired_at.is_not(None), Control.id)
        )
    )
    actions = list(session.scalars(select(Action).where(Action.risk_id == risk.id).order_by(Action.id)))
    escalations = list(
        session.scalars(
            select(Escalation)
            .where(Escalation.risk_id == risk.id)
            .order_by(Escalation.raised_on.desc(), Escalation.id.desc())
        )
    )
    acceptances = list(
        session.scalars(
            select(RiskAcceptance)
            .where(RiskAcceptance.risk_id == risk.id)
            .order_by(RiskAcceptance.decided_on.desc(), RiskAcceptance.id.desc())
        )
    )
    decisions = list(
        session.scalars(
            select(TaskForceDecision)
            .options(selectinload(TaskForceDecision.cycle))
            .where(TaskForceDecision.risk_id == risk.id)
            .order_by(TaskForceDecision.decided_on.desc(), TaskForceDecision.id.desc())
        )
    )
    condition = audit_condition(risk, actions, controls, escalations)
    audit_total = session.scalar(select(func.count()).select_from(AuditEvent).where(condition)) or 0
    audit_query = select(AuditEvent).where(condition).order_by(AuditEvent.id.desc())
    if audit_limit is not None:
        audit_query = audit_query.limit(audit_limit)
    categories = {
        str(id_): f"{code} {name}"
        for id_, code, name in session.execute(select(RiskCategory.id, RiskCategory.code, RiskCategory.name))
    }
    audit = [AuditEntry(e, parse_changes(e.changes_json, categories)) for e in session.scalars(audit_query)]
    return RiskDossier(
        risk=risk,
        history=history,
        controls=controls,
        actions=actions,
        escalations=escalations,
        acceptances=acceptances,
        decisions=decisions,
        audit=audit,
        audit_total=audit_total,
        lacks_action_plan=lacks_action_plan(risk, actions, scales),
    )


def audit_condition(risk: Risk, actions: list[Action], controls: list[Control], escalations: list[Escalation]) -> Any:
    """Audit events about this risk, its actions (by reference), controls and escalations (by id)."""
    clauses = [and_(AuditEvent.entity == "risk", AuditEvent.entity_id == risk.ref)]
    if actions:
        clauses.append(and_(AuditEvent.entity == "action", AuditEvent.entity_id.in_([a.ref for a in actions])))
    if controls:
        clauses.append(and_(AuditEvent.entity == "control", AuditEvent.entity_id.in_([str(c.id) for c in controls])))
    if escalations:
        clauses.append(
            and_(AuditEvent.entity == "escalation", AuditEvent.entity_id.in_([str(e.id) for e in escalations]))
        )
    return or_(*clauses)


def parse_changes(changes_json: str, categories: dict[str, str] | None = None) -> list[Change]:
    """An audit event's recorded values as readable lines: [before, after] pairs or single recorded values."""
    try:
        data = json.loads(changes_json or "{}")
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    result = []
    for key, value in data.items():
        label = _FIELD_LABELS.get(key, key.replace("_", " "))
        if isinstance(value, list) and len(value) == 2:
            before, after = (_display(key, v, categories) for v in value)
            result.append(Change(label, before, after, True))
        else:
            result.append(Change(label, "", _display(key, value, categories), False))
    return result


def _display(key: str, value: object, categories: dict[str, str] | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "category_id" and categories is not None:
        return categories.get(str(value), str(value))
    text = str(value)
    return text if len(text) <= 300 else text[:299] + "…"


def validated_assessments(session: Session, risk: Risk) -> dict[int, list[str]]:
    """Assessment id -> the codes of the cycles whose task force validated it."""
    query = (
        select(AssessmentValidation.assessment_id, ReviewCycle.code)
        .join(ReviewCycle, ReviewCycle.id == AssessmentValidation.review_cycle_id)
        .join(Assessment, Assessment.id == AssessmentValidation.assessment_id)
        .where(Assessment.risk_id == risk.id)
        .order_by(AssessmentValidation.id)
    )
    result: dict[int, list[str]] = {}
    for assessment_id, code in session.execute(query):
        result.setdefault(assessment_id, []).append(code)
    return result
