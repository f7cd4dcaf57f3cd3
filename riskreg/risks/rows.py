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
    query = (
        select(Risk, Assessment, OrgUnit.code, OrgUnit.name, RiskCategory.code, RiskCategory.name)
        .join(Assessment, Assessment.id == Risk.current_assessment_id)
        .join(OrgUnit, OrgUnit.id == Risk.org_unit_id)
        .join(RiskCategory, RiskCategory.id == Risk.category_id)
        .where(condition)
        .order_by(Risk.id)
        .execution_options(yield_per=_BATCH)
    )
    records = session.execute(query).all()
    risk_ids = [r[0].id for r in records]
    actions = _actions_by_risk(session, risk_ids)
    controls = _controls_by_risk(session, risk_ids)
    acceptances = _acceptances_by_risk(session, risk_ids, as_at)
    escalations = _escalations_by_risk(session, risk_ids)
    result = []
    total = len(records)
    for index, (risk, assessment, unit_code, unit_name, cat_code, cat_name) in enumerate(records, start=1):
        acceptance = acceptances.get(risk.id)
        escalation = escalations.get(risk.id)
        row = RiskRow(
            ref=risk.ref,
            title=risk.title,
            cause=risk.cause,
            event=risk.event,
            consequence=risk.consequence,
            category_code=cat_code,
            category_name=cat_name,
            unit_code=unit_code,
            unit_name=unit_name,
            level=risk.level.value,
            nature=risk.nature.value,
            status=risk.status.value,
            owner_title=risk.owner_title,
            treatment=risk.treatment.value,
            inherent_likelihood=assessment.inherent_likelihood,
            inherent_impact=assessment.inherent_impact,
            inherent_score=assessment.inherent_score,
            inherent_band=assessment.inherent_band,
            residual_likelihood=assessment.residual_likelihood,
            residual_impact=assessment.residual_impact,
            residual_score=assessment.residual_score,
            residual_band=assessment.residual_band,
            zone=assessment.zone.value,
            appetite_level=assessment.appetite_level,
            appetite_max=assessment.appetite_max,
            tolerance_max=assessment.tolerance_max,
            statement_version=assessment.statement_version,
            target_likelihood=risk.target_likelihood,
            target_impact=risk.target_impact,
            target_score=assessment.target_score,
            target_band=assessment.target_band,
            target_date=risk.target_date,
            control_effectiveness=assessment.control_effectiveness.value,
            controls_summary=controls.get(risk.id, ""),
            velocity=assessment.velocity,
            trend_reason=assessment.trend_reason.value if assessment.trend_reason else "",
            rationale=assessment.rationale,
            assessed_on=assessment.assessed_on,
            is_confidential=risk.is_confidential,
            council_visible=risk.council_visible,
            closed_reason=risk.closed_reason,
            acceptance_until=acceptance.valid_until if acceptance else None,
            acceptance_level=acceptance.decision_level.value if acceptance else "",
            escalation_level=escalation.to_level.value if escalation else "",
            escalation_status=escalation.status.value if escalation else "",
            actions=tuple(actions.get(risk.id, ())),
        )
        result.append((risk.id, assessment.id, row))
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
            select(Action, Risk.ref, OrgUnit.code)
            .join(Risk, Risk.id == Action.risk_id)
            .join(OrgUnit, OrgUnit.id == Action.org_unit_id)
            .where(Action.risk_id.in_(chunk))
            .order_by(Action.id)
        )
        for action, risk_ref, unit_code in session.execute(query):
            result[action.risk_id].append(
                ActionRow(
                    ref=action.ref,
                    risk_ref=risk_ref,
                    description=action.description,
                    owner_title=action.owner_title,
                    unit_code=unit_code,
                    due_date=action.due_date,
                    revised_due_date=action.revised_due_date,
                    status=action.status.value,
                    percent_complete=action.percent_complete,
                    completed_on=action.completed_on,
                    expected_effect=action.expected_effect,
                    comment=action.comment,
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


def _acceptances_by_risk(session: Session, risk_ids: list[int], as_at: date) -> dict[int, RiskAcceptance]:
    result: dict[int, RiskAcceptance] = {}
    for chunk in _chunks(risk_ids):
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


def _escalations_by_risk(session: Session, risk_ids: list[int]) -> dict[int, Escalation]:
    result: dict[int, Escalation] = {}
    open_statuses = (EscalationStatus.PROPOSED, EscalationStatus.PENDING, EscalationStatus.ACCEPTED)
    for chunk in _chunks(risk_ids):
        query = (
            select(Escalation)
            .where(Escalation.risk_id.in_(chunk), Escalation.status.in_(open_statuses))
            .order_by(Escalation.id)
        )
        for escalation in session.scalars(query):
            result[escalation.risk_id] = escalation
    return result
