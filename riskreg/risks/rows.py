"""The live register read as `snapshot.RiskRow`s: what a cycle freezes and what "now" exports show.

A fixed number of queries whatever the register's size (risks, actions, controls, acceptances,
escalations), so closing a cycle or exporting 50,000 risks never issues one query per risk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from riskreg.models import (
    AcceptanceStatus,
    Action,
    Assessment,
    Control,
    Escalation,
    EscalationStatus,
    OrgUnit,
    Risk,
    RiskAcceptance,
    RiskCategory,
)
from riskreg.snapshot import ActionRow, RiskRow, Snapshot

_BATCH = 2000


def live_rows(
    session: Session,
    *,
    where: ColumnElement[bool] | None = None,
    as_at: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[int, int | None, RiskRow]]:
    """(risk id, assessment id, row) for every assessed, non-deleted risk matching `where`."""
    as_at = as_at or date.today()
    condition = and_where(Risk.deleted_at.is_(None), Risk.current_assessment_id.is_not(None), where)
    # Plain columns, not ORM objects: building 10,000 entities costs seconds that a register read does not need.
    query = (
        select(
            Risk.id,
            Risk.ref,
            Risk.title,
            Risk.cause,
            Risk.event,
            Risk.consequence,
            Risk.level,
            Risk.nature,
            Risk.status,
            Risk.owner_title,
            Risk.treatment,
            Risk.target_likelihood,
            Risk.target_impact,
            Risk.target_date,
            Risk.is_confidential,
            Risk.council_visible,
            Risk.closed_reason,
            Assessment.id.label("assessment_id"),
            Assessment.inherent_likelihood,
            Assessment.inherent_impact,
            Assessment.inherent_score,
            Assessment.inherent_band,
            Assessment.residual_likelihood,
            Assessment.residual_impact,
            Assessment.residual_score,
            Assessment.residual_band,
            Assessment.zone,
            Assessment.appetite_level,
            Assessment.appetite_max,
            Assessment.tolerance_max,
            Assessment.statement_version,
            Assessment.target_score,
            Assessment.target_band,
            Assessment.control_effectiveness,
            Assessment.velocity,
            Assessment.trend_reason,
            Assessment.rationale,
            Assessment.assessed_on,
            OrgUnit.code.label("unit_code"),
            OrgUnit.name.label("unit_name"),
            RiskCategory.code.label("category_code"),
            RiskCategory.name.label("category_name"),
        )
        .join(Assessment, Assessment.id == Risk.current_assessment_id)
        .join(OrgUnit, OrgUnit.id == Risk.org_unit_id)
        .join(RiskCategory, RiskCategory.id == Risk.category_id)
        .where(condition)
        .order_by(Risk.id)
    )
    records = session.execute(query).all()
    risk_ids = [r.id for r in records]
    actions = _actions_by_risk(session, risk_ids)
    controls = _controls_by_risk(session, risk_ids)
    acceptances = _acceptances_by_risk(session, risk_ids, as_at)
    escalations = _escalations_by_risk(session, risk_ids)
    held = _held_levels_by_risk(session, risk_ids)
    result = []
    total = len(records)
    for index, r in enumerate(records, start=1):
        acceptance = acceptances.get(r.id)
        escalation = escalations.get(r.id)
        row = RiskRow(
            ref=r.ref,
            title=r.title,
            cause=r.cause,
            event=r.event,
            consequence=r.consequence,
            category_code=r.category_code,
            category_name=r.category_name,
            unit_code=r.unit_code,
            unit_name=r.unit_name,
            level=r.level.value,
            nature=r.nature.value,
            status=r.status.value,
            owner_title=r.owner_title,
            treatment=r.treatment.value,
            inherent_likelihood=r.inherent_likelihood,
            inherent_impact=r.inherent_impact,
            inherent_score=r.inherent_score,
            inherent_band=r.inherent_band,
            residual_likelihood=r.residual_likelihood,
            residual_impact=r.residual_impact,
            residual_score=r.residual_score,
            residual_band=r.residual_band,
            zone=r.zone.value,
            appetite_level=r.appetite_level,
            appetite_max=r.appetite_max,
            tolerance_max=r.tolerance_max,
            statement_version=r.statement_version,
            target_likelihood=r.target_likelihood,
            target_impact=r.target_impact,
            target_score=r.target_score,
            target_band=r.target_band,
            target_date=r.target_date,
            control_effectiveness=r.control_effectiveness.value,
            controls_summary=controls.get(r.id, ""),
            velocity=r.velocity,
            trend_reason=r.trend_reason.value if r.trend_reason else "",
            rationale=r.rationale,
            assessed_on=r.assessed_on,
            is_confidential=r.is_confidential,
            council_visible=r.council_visible,
            closed_reason=r.closed_reason,
            acceptance_until=acceptance[0] if acceptance else None,
            acceptance_level=acceptance[1] if acceptance else "",
            escalation_level=escalation[0] if escalation else "",
            escalation_status=escalation[1] if escalation else "",
            accepted_escalation_level=held.get(r.id, ""),
            actions=tuple(actions.get(r.id, ())),
        )
        result.append((r.id, r.assessment_id, row))
        if progress and (index % 1000 == 0 or index == total):
            progress(index, total)
    return result


def live_snapshot(
    session: Session, cycle_code: str, statement_version: str, scales_version: str, as_at: date | None = None
) -> Snapshot:
    """The register as it stands now, marked as a draft."""
    as_at = as_at or date.today()
    rows = tuple(row for _, _, row in live_rows(session, as_at=as_at))
    return Snapshot(cycle_code, as_at, statement_version, scales_version, rows, is_draft=True)


def and_where(*conditions: ColumnElement[bool] | None) -> ColumnElement[bool]:
    from sqlalchemy import and_

    return and_(true(), *(c for c in conditions if c is not None))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    # Bounded IN lists: SQLite limits bound parameters per statement.
    for start in range(0, len(ids), 900):
        yield ids[start : start + 900]


def _actions_by_risk(session: Session, risk_ids: list[int]) -> dict[int, list[ActionRow]]:
    result: dict[int, list[ActionRow]] = defaultdict(list)
    for chunk in _chunks(risk_ids):
        query = (
            select(
                Action.risk_id,
                Action.ref,
                Risk.ref.label("risk_ref"),
                Action.description,
                Action.owner_title,
                OrgUnit.code.label("unit_code"),
                Action.due_date,
                Action.revised_due_date,
                Action.status,
                Action.percent_complete,
                Action.completed_on,
                Action.expected_effect,
                Action.comment,
            )
            .join(Risk, Risk.id == Action.risk_id)
            .join(OrgUnit, OrgUnit.id == Action.org_unit_id)
            .where(Action.risk_id.in_(chunk))
            .order_by(Action.id)
        )
        for a in session.execute(query):
            result[a.risk_id].append(
                ActionRow(
                    ref=a.ref,
                    risk_ref=a.risk_ref,
                    description=a.description,
                    owner_title=a.owner_title,
                    unit_code=a.unit_code,
                    due_date=a.due_date,
                    revised_due_date=a.revised_due_date,
                    status=a.status.value,
                    percent_complete=a.percent_complete,
                    completed_on=a.completed_on,
                    expected_effect=a.expected_effect,
                    comment=a.comment,
                )
            )
    return result


def _controls_by_risk(session: Session, risk_ids: list[int]) -> dict[int, str]:
    result: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(risk_ids):
        query = (
            select(Control.risk_id, Control.description)
            .where(Control.risk_id.in_(chunk), Control.retired_at.is_(None))
            .order_by(Control.id)
        )
        for risk_id, description in session.execute(query):
            result[risk_id].append(description)
    return {k: "; ".join(v) for k, v in result.items()}


def _acceptances_by_risk(session: Session, risk_ids: list[int], as_at: date) -> dict[int, tuple[date, str]]:
    """Active acceptance per risk: (valid until, decision level)."""
    result: dict[int, tuple[date, str]] = {}
    for chunk in _chunks(risk_ids):
        query = (
            select(RiskAcceptance.risk_id, RiskAcceptance.valid_until, RiskAcceptance.decision_level)
            .where(
                RiskAcceptance.risk_id.in_(chunk),
                RiskAcceptance.status == AcceptanceStatus.ACTIVE,
                RiskAcceptance.valid_until >= as_at,
            )
            .order_by(RiskAcceptance.valid_until)
        )
        for risk_id, valid_until, level in session.execute(query):
            result[risk_id] = (valid_until, level.value)
    return result


def _escalations_by_risk(session: Session, risk_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Latest open escalation per risk: (level it goes to, status)."""
    result: dict[int, tuple[str, str]] = {}
    open_statuses = (EscalationStatus.PROPOSED, EscalationStatus.PENDING, EscalationStatus.ACCEPTED)
    for chunk in _chunks(risk_ids):
        query = (
            select(Escalation.risk_id, Escalation.to_level, Escalation.status)
            .where(Escalation.risk_id.in_(chunk), Escalation.status.in_(open_statuses))
            .order_by(Escalation.id)
        )
        for risk_id, to_level, status in session.execute(query):
            result[risk_id] = (to_level.value, status.value)
    return result


def _held_levels_by_risk(session: Session, risk_ids: list[int]) -> dict[int, str]:
    """The level holding each escalated risk: its accepted escalation's to-level (the latest, if several)."""
    result: dict[int, str] = {}
    for chunk in _chunks(risk_ids):
        query = (
            select(Escalation.risk_id, Escalation.to_level)
            .where(Escalation.risk_id.in_(chunk), Escalation.status == EscalationStatus.ACCEPTED)
            .order_by(Escalation.id)
        )
        for risk_id, to_level in session.execute(query):
            result[risk_id] = to_level.value
    return result
