"""Rows of the demo register as Core insert/update parameters, computed the way the register operations do.

`assessment_row` stamps an assessment as `risks.operations.record_assessment` does (scores, bands, the
statement in force and its thresholds, the zone from `appetite.judge`); `current_columns` copies it onto
its risk as `risks.operations._apply_current` does. No session here: `build.py` executes the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, update

from riskreg import appetite
from riskreg.appetite import Zone, judge
from riskreg.demo.content import CYCLES, OBJECTIVES, CycleSpec, Point
from riskreg.demo.plan import PlannedAction, PlannedRisk
from riskreg.models import (
    AcceptanceStatus,
    Action,
    Assessment,
    CategoryAppetite,
    Decision,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    Nature,
    Risk,
    RiskLevel,
    RiskStatus,
    TrendReason,
)
from riskreg.risks.operations import escalation_trigger
from riskreg.scoring import Scales

# The last closed cycle is the one the task force's decisions, acceptances and closures belong to.
LAST_CLOSED = max(number for number, cycle in enumerate(CYCLES) if cycle.closed)


def table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def at(day: date, hour: int = 9) -> datetime:
    """A timestamp on a demo day (office hours, UTC), so created_at agrees with the story's dates."""
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


@dataclass(frozen=True)
class Judgement:
    """A category's appetite under the statement in force on a date, as stored and in pure form."""

    statement_id: int | None
    statement_version: str
    row: CategoryAppetite | None
    pure: appetite.CategoryAppetite | None


@dataclass(frozen=True)
class RiskKeys:
    """The database identity of a planned risk."""

    id: int
    ref: str
    unit_id: int
    focal_id: int


def risk_row(risk: PlannedRisk, ref: str, seq: int, category_id: int, unit_id: int, focal_id: int) -> dict[str, Any]:
    template = risk.template
    created = at(risk.identified_on)
    return {
        "ref": ref,
        "ref_year": risk.identified_on.year,
        "ref_seq": seq,
        "title": risk.text(template.title),
        "cause": risk.text(template.cause),
        "event": risk.text(template.event),
        "consequence": risk.text(template.consequence),
        "nature": template.nature,
        "level": template.level,
        "category_id": category_id,
        "org_unit_id": unit_id,
        "owner_title": risk.owner_title,
        "owner_id": None,
        "linked_objective": template.objective or OBJECTIVES[template.category],
        "status": RiskStatus.ACTIVE,
        "closed_reason": "",
        "merged_into_id": None,
        "treatment": template.treatment,
        "target_likelihood": risk.target[0] if risk.target else None,
        "target_impact": risk.target[1] if risk.target else None,
        "target_date": risk.target_date,
        "is_confidential": template.confidential,
        "council_visible": template.council_visible,
        "identified_on": risk.identified_on,
        "next_review_due": None,
        "current_assessment_id": None,
        "inherent_score": None,
        "residual_likelihood": None,
        "residual_impact": None,
        "residual_score": None,
        "residual_band": None,
        "zone": Zone.NOT_EVALUATED,
        "last_assessed_on": None,
        "created_at": created,
        "created_by_id": focal_id,
        "updated_at": created,
        "updated_by_id": focal_id,
        "deleted_at": None,
        "deleted_by_id": None,
        "delete_reason": "",
        "version": 1,
    }


def control_rows(risk: PlannedRisk, risk_id: int) -> Iterable[dict[str, Any]]:
    created = at(risk.identified_on)
    for spec, tested in zip(risk.template.controls, risk.control_tested_on, strict=True):
        yield {
            "risk_id": risk_id,
            "description": risk.text(spec.description),
            "type": spec.type,
            "owner_title": risk.owner_title,
            "effectiveness": spec.effectiveness,
            "last_tested_on": tested,
            "evidence_ref": "",
            "retired_at": None,
            "created_at": created,
            "version": 1,
        }


def action_rows(risk: PlannedRisk, keys: RiskKeys, as_at: date) -> Iterable[tuple[PlannedAction, dict[str, Any]]]:
    for number, action in enumerate(risk.actions, start=1):
        status, percent, completed_on, comment = action.status_at(as_at)
        yield (
            action,
            {
                "ref": f"{keys.ref}-A{number}",
                "risk_id": keys.id,
                "description": risk.text(action.description),
                "owner_title": risk.owner_title,
                "owner_id": None,
                "org_unit_id": keys.unit_id,
                "due_date": action.due,
                "revised_due_date": action.revised_due,
                "completed_on": completed_on,
                "percent_complete": percent,
                "status": status,
                "expected_effect": action.expected_effect,
                "comment": comment,
                "created_at": at(action.start, 11),
                "version": 1,
            },
        )


def action_update() -> Update:
    actions = table(Action)
    return (
        update(actions)
        .where(actions.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            percent_complete=bindparam("b_percent"),
            completed_on=bindparam("b_done"),
            comment=bindparam("b_comment"),
            version=actions.c.version + 1,
        )
    )


def assessment_row(
    risk: PlannedRisk,
    number: int,
    cycle_id: int,
    keys: RiskKeys,
    scales: Scales,
    judgement: Judgement,
    previous: Point | None,
) -> dict[str, Any]:
    point, assessed_on = risk.path[number], risk.assessed_on[number]
    assert point is not None, "assessed only in cycles where the risk exists"
    assert assessed_on is not None
    zone = judge(point[0], point[1], judgement.pure, scales, opportunity=risk.template.nature == Nature.OPPORTUNITY)
    inherent = scales.score(*risk.inherent)
    residual = scales.score(*point)
    target = scales.score(*risk.target) if risk.target else None
    ca = judgement.row
    trend_reason, rationale = _rationale(risk, number, scales, residual, previous)
    return {
        "risk_id": keys.id,
        "review_cycle_id": cycle_id,
        "assessed_on": assessed_on,
        "assessed_by_id": keys.focal_id,
        "methodology_version": scales.version,
        "inherent_likelihood": risk.inherent[0],
        "inherent_impact": risk.inherent[1],
        "inherent_score": inherent,
        "inherent_band": scales.band(inherent).name,
        "residual_likelihood": point[0],
        "residual_impact": point[1],
        "residual_score": residual,
        "residual_band": scales.band(residual).name,
        "target_likelihood": risk.target[0] if risk.target else None,
        "target_impact": risk.target[1] if risk.target else None,
        "target_score": target,
        "target_band": scales.band(target).name if target else "",
        "control_effectiveness": risk.control_effectiveness,
        "velocity": risk.template.velocity,
        "statement_id": judgement.statement_id,
        "statement_version": judgement.statement_version,
        "appetite_level": ca.level.value if ca else "",
        "appetite_max": ca.appetite_max if ca else None,
        "tolerance_max": ca.tolerance_max if ca else None,
        "zero_tolerance": ca.zero_tolerance if ca else False,
        "zone": zone,
        "trend_reason": trend_reason,
        "rationale": rationale,
        "created_at": at(assessed_on, 10),
    }


def _rationale(
    risk: PlannedRisk, number: int, scales: Scales, residual: int, previous: Point | None
) -> tuple[TrendReason | None, str]:
    cycle = CYCLES[number].code
    if previous is None:
        return None, f"First assessment at the {cycle} review, agreed with the {risk.owner_title}."
    old = scales.score(*previous)
    if residual > old:
        return TrendReason.CONTEXT_CHANGE, f"Residual raised from {old} to {residual}: {risk.rise_note}."
    if residual < old:
        completed = any(a.completed_on for a in risk.actions)
        reason = TrendReason.ACTIONS_COMPLETED if completed else TrendReason.CONTROL_CHANGE
        return reason, f"Residual lowered from {old} to {residual}: {risk.fall_note}."
    return None, f"Reviewed at the {cycle} review: the controls operate as described and the rating is unchanged."


def current_columns(
    risk: PlannedRisk, number: int, row: dict[str, Any], assessment_id: int, scales: Scales
) -> dict[str, Any]:
    """The Risk columns copied from its current assessment (as operations._apply_current does), plus the
    status and level the task force gave it in this cycle.
    """
    closed = risk.closed_in == number
    promoted = risk.template.promoted and number >= LAST_CLOSED
    return {
        "b_id": row["risk_id"],
        "b_assessment": assessment_id,
        "b_inherent": row["inherent_score"],
        "b_likelihood": row["residual_likelihood"],
        "b_impact": row["residual_impact"],
        "b_score": row["residual_score"],
        "b_band": row["residual_band"],
        "b_zone": row["zone"],
        "b_assessed": row["assessed_on"],
        "b_review": row["assessed_on"] + timedelta(days=scales.band(row["residual_score"]).review_days),
        "b_by": row["assessed_by_id"],
        "b_updated": row["created_at"],
        "b_status": RiskStatus.CLOSED if closed else RiskStatus.ACTIVE,
        "b_closed_reason": risk.template.closed_reason if closed else "",
        "b_level": RiskLevel.CORPORATE if promoted else risk.template.level,
    }


def current_update() -> Update:
    risks = table(Risk)
    return (
        update(risks)
        .where(risks.c.id == bindparam("b_id"))
        .values(
            current_assessment_id=bindparam("b_assessment"),
            inherent_score=bindparam("b_inherent"),
            residual_likelihood=bindparam("b_likelihood"),
            residual_impact=bindparam("b_impact"),
            residual_score=bindparam("b_score"),
            residual_band=bindparam("b_band"),
            zone=bindparam("b_zone"),
            last_assessed_on=bindparam("b_assessed"),
            next_review_due=bindparam("b_review"),
            updated_by_id=bindparam("b_by"),
            updated_at=bindparam("b_updated"),
            status=bindparam("b_status"),
            closed_reason=bindparam("b_closed_reason"),
            level=bindparam("b_level"),
            version=risks.c.version + 1,
        )
    )


def escalation_row(
    row: dict[str, Any], scales: Scales, spec: CycleSpec, taskforce_id: int, from_level: EscalationLevel
) -> dict[str, Any]:
    """The escalation operations.propose_escalation raises; in a closed cycle the task force accepted it."""
    found = escalation_trigger(
        Assessment(zone=row["zone"], residual_score=row["residual_score"], zero_tolerance=row["zero_tolerance"]),
        scales,
    )
    assert found is not None, "only assessments outside tolerance are escalated"
    trigger, to_level = found
    accepted = spec.closed
    return {
        "risk_id": row["risk_id"],
        "from_level": from_level,
        "to_level": to_level,
        "trigger": trigger,
        "status": EscalationStatus.ACCEPTED if accepted else EscalationStatus.PROPOSED,
        "reason": f"Residual {row['residual_score']} ({row['residual_band']}) is outside tolerance "
        f"(tolerance maximum {row['tolerance_max']}) under statement {row['statement_version']}.",
        "raised_by_id": row["assessed_by_id"],
        "raised_on": row["assessed_on"],
        "decided_by_id": taskforce_id if accepted else None,
        "decided_on": spec.taskforce_meeting_on if accepted else None,
        "resolution": f"Accepted at {to_level.label.lower()} level on {spec.taskforce_meeting_on}." if accepted else "",
        "version": 1,
    }


def escalation_resolve() -> Update:
    escalations = table(Escalation)
    return (
        update(escalations)
        .where(escalations.c.id == bindparam("b_id"))
        .values(
            status=EscalationStatus.RESOLVED,
            resolution=bindparam("b_resolution"),
            version=escalations.c.version + 1,
        )
    )


def acceptance_row(
    risk_id: int, assessment_id: int, band: str, scales: Scales, spec: CycleSpec, taskforce_id: int
) -> dict[str, Any]:
    """A twelve-month acceptance above appetite: the task force decides for High, the department below."""
    high = scales.band_rank(band) >= len(scales.bands) - 2
    return {
        "risk_id": risk_id,
        "assessment_id": assessment_id,
        "decided_by_id": taskforce_id,
        "decision_level": EscalationLevel.TASK_FORCE if high else EscalationLevel.DEPARTMENT,
        "justification": "The Union chooses to keep investing in this work ahead of consensus; reducing the "
        "exposure further now would cost more than the risk it removes.",
        "conditions": "Progress on the treatment plan is reported every quarter; the acceptance lapses if the "
        "residual score rises or leaves tolerance.",
        "decided_on": spec.taskforce_meeting_on,
        "valid_until": acceptance_expiry(spec),
        "status": AcceptanceStatus.ACTIVE,
        "revoked_reason": "",
    }


def acceptance_expiry(spec: CycleSpec) -> date:
    return spec.taskforce_meeting_on + timedelta(days=364)  # at most twelve months (domain.md (d))


class Decisions:
    """The task force's decisions at one cycle's meeting, numbered as in its minutes."""

    def __init__(self, spec: CycleSpec, cycle_id: int, taskforce_id: int) -> None:
        self.spec = spec
        self.cycle_id = cycle_id
        self.taskforce_id = taskforce_id
        self.rows: list[dict[str, Any]] = []

    def add(self, risk_id: int, decision: Decision, comment: str) -> None:
        self.rows.append(
            {
                "review_cycle_id": self.cycle_id,
                "risk_id": risk_id,
                "decision": decision,
                "comment": comment,
                "minute_ref": f"RTF/{self.spec.code}/{len(self.rows) + 1:03d}",
                "decided_on": self.spec.taskforce_meeting_on,
                "decided_by_id": self.taskforce_id,
                "created_at": at(self.spec.taskforce_meeting_on, 16),
            }
        )


ESCALATED = {
    EscalationLevel.TASK_FORCE: "Escalation accepted: the task force follows the treatment plan at each meeting.",
    EscalationLevel.EXECUTIVE: "Escalated to the Secretary-General: critical or zero-tolerance exposure.",
}
DE_ESCALATED = "Residual back within tolerance: returned to the owner, monitored at the band's review frequency."
PROMOTED = "Promoted to the corporate register: the risk affects several sectors and the Union's finances."
