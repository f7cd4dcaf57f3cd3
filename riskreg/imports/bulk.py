"""Writing an import's new risks at bulk speed: the same rows as the register's operations, a few statements a batch.

Creating risks one by one through `create_risk`, `record_assessment`, `add_control` and `add_action` costs about
ten ORM flushes and three look-ups per risk (13 ms a row). Here the same checks run in Python first (the
operations' own rule functions), the references are allocated once for the whole file, and each table gets one
multi-row INSERT per batch (RETURNING the ids where later rows need them). What is written is what the operations
write: the risk with its current scores, the judged assessment, an escalation when the residual is outside
tolerance, the control, the actions, and the audit events in the order the operations record them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from riskreg import audit, policy
from riskreg.appetite import Zone, judge
from riskreg.models import (
    Action,
    ActionStatus,
    Assessment,
    AuditEvent,
    CategoryAppetite,
    Control,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    Nature,
    OrgUnit,
    Risk,
    RiskCategory,
    RiskStatus,
    utcnow,
)
from riskreg.risks import operations as ops
from riskreg.scoring import Scales

BATCH = 1000  # rows per INSERT batch: bounded memory, and a progress step for jobs
Progress = Callable[[int], None]
_TARGETS: dict[tuple[int | None, int | None], Risk] = {}


@dataclass(frozen=True)
class NewRisk:
    """What one import row creates, already checked against the register's rules."""

    data: ops.RiskInput
    status: RiskStatus
    ref: str | None
    assessment: ops.AssessmentInput | None
    closed_reason: str = ""
    control: ops.ControlInput | None = None
    actions: tuple[ops.ActionInput, ...] = ()


def check(item: NewRisk, scales: Scales) -> None:
    """The checks `create_risk`, `record_assessment` and `add_action` make before writing; raises RuleViolation."""
    ops.check_risk_input(item.data, scales)
    if item.assessment is not None:
        target = _TARGETS.get((item.data.target_likelihood, item.data.target_impact))
        if target is None:  # assessment_problems reads the risk's target only: one stand-in per target
            target = Risk(target_likelihood=item.data.target_likelihood, target_impact=item.data.target_impact)
            _TARGETS[(item.data.target_likelihood, item.data.target_impact)] = target
        problems = ops.assessment_problems(item.assessment, scales, target)
        if problems:
            raise problems[0]
    for action in item.actions:
        ops.check_action_input(action)


def create_risks(
    session: Session,
    actor: audit.Actor,
    unit: OrgUnit,
    items: Sequence[NewRisk],
    scales: Scales,
    progress: Progress | None = None,
) -> list[str]:
    """Insert the risks (with everything that comes with them) and return their references, in `items` order."""
    refs = _allocate_refs(session, unit, items)
    judge_of = _Judge(session, scales)
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        _write_batch(session, actor, unit, list(zip(refs[start : start + BATCH], batch, strict=True)), judge_of)
        if progress is not None:
            progress(start + len(batch))
    return [ref for ref, _year, _seq in refs]


# ---------------------------------------------------------------------------------------------- references


def _allocate_refs(session: Session, unit: OrgUnit, items: Sequence[NewRisk]) -> list[tuple[str, int, int]]:
    """(ref, year, sequence) per item: kept references as `create_risk` keeps them, the others numbered on.

    Generated numbers continue after the unit's highest of the year (kept references of this unit's pattern
    count too) and skip references already used anywhere, as `create_risk`'s retry would.
    """
    allocated: list[tuple[str, int, int] | None] = []
    highest: dict[int, int] = {}
    for item in items:
        if item.ref:
            given = ops.given_ref(item.ref, unit.code, _year(item))
            allocated.append(given)
            highest[given[1]] = max(highest.get(given[1], 0), given[2])
        else:
            allocated.append(None)
    years = {_year(i) for i in items if not i.ref}
    for year in years:
        stored = session.scalar(
            select(func.max(Risk.ref_seq)).where(Risk.org_unit_id == unit.id, Risk.ref_year == year)
        )
        highest[year] = max(highest.get(year, 0), stored or 0)
    prefix = ops.ref_prefix(unit.code)
    taken = {ref.casefold() for ref, _y, _s in (a for a in allocated if a is not None)}
    for year in years:  # another unit may share the prefix: its references are skipped, as create_risk's retry does
        pattern = f"{prefix}-{year}-%".casefold()
        taken.update(
            ref.casefold() for ref in session.scalars(select(Risk.ref).where(func.lower(Risk.ref).like(pattern)))
        )
    for n, item in enumerate(items):
        if allocated[n] is not None:
            continue
        year = _year(item)
        while True:
            highest[year] += 1
            ref = f"{prefix}-{year}-{highest[year]:03d}"
            if ref.casefold() not in taken:
                break
        allocated[n] = (ref, year, highest[year])
    return [a for a in allocated if a is not None]


def _year(item: NewRisk) -> int:
    return item.assessment.assessed_on.year if item.assessment else date.today().year


# ---------------------------------------------------------------------------------------------- judging


class _Judge:
    """`record_assessment`'s judgement with the statement in force looked up once per date and category."""

    def __init__(self, session: Session, scales: Scales) -> None:
        self.session = session
        self.scales = scales
        self.statements: dict[date, Any] = {}
        self.pure: dict[tuple[int, int], Any] = {}
        self.codes: dict[int, str] = {
            id_: code for id_, code in session.execute(select(RiskCategory.id, RiskCategory.code))
        }

    def assessment(self, actor: audit.Actor, data: ops.AssessmentInput, risk: NewRisk) -> dict[str, Any]:
        statement, by_category = self._statement(data.assessed_on)
        category_appetite: CategoryAppetite | None = by_category.get(risk.data.category_id)
        pure = self._pure(statement, risk.data.category_id) if statement and category_appetite else None
        scales = self.scales
        zone = judge(
            data.residual_likelihood,
            data.residual_impact,
            pure,
            scales,
            opportunity=risk.data.nature == Nature.OPPORTUNITY,
        )
        inherent = scales.score(data.inherent_likelihood, data.inherent_impact)
        residual = scales.score(data.residual_likelihood, data.residual_impact)
        tl, ti = risk.data.target_likelihood, risk.data.target_impact
        target = scales.score(tl, ti) if tl and ti else None
        return {
            "review_cycle_id": data.review_cycle_id,
            "assessed_on": data.assessed_on,
            "assessed_by_id": actor.user_id,
            "methodology_version": scales.version,
            "inherent_likelihood": data.inherent_likelihood,
            "inherent_impact": data.inherent_impact,
            "inherent_score": inherent,
            "inherent_band": scales.band(inherent).name,
            "residual_likelihood": data.residual_likelihood,
            "residual_impact": data.residual_impact,
            "residual_score": residual,
            "residual_band": scales.band(residual).name,
            "target_likelihood": tl,
            "target_impact": ti,
            "target_score": target,
            "target_band": scales.band(target).name if target else "",
            "control_effectiveness": data.control_effectiveness,
            "velocity": data.velocity,
            "statement_id": statement.id if statement else None,
            "statement_version": statement.version if statement else "",
            "appetite_level": category_appetite.level.value if category_appetite else "",
            "appetite_max": category_appetite.appetite_max if category_appetite else None,
            "tolerance_max": category_appetite.tolerance_max if category_appetite else None,
            "zero_tolerance": category_appetite.zero_tolerance if category_appetite else False,
            "zone": zone,
            "trend_reason": data.trend_reason,
            "rationale": data.rationale.strip(),
        }

    def _pure(self, statement: Any, category_id: int) -> Any:
        key = (statement.id, category_id)
        if key not in self.pure:  # to_pure builds the whole statement: once per statement and category
            self.pure[key] = policy.to_pure(statement).for_category(self.codes[category_id])
        return self.pure[key]

    def _statement(self, on: date) -> tuple[Any, dict[int, CategoryAppetite]]:
        if on not in self.statements:
            statement = policy.statement_in_force(self.session, on)
            by_category = {ca.category_id: ca for ca in statement.categories} if statement else {}
            self.statements[on] = (statement, by_category)
        found: tuple[Any, dict[int, CategoryAppetite]] = self.statements[on]
        return found


# ---------------------------------------------------------------------------------------------- writing


def _write_batch(
    session: Session,
    actor: audit.Actor,
    unit: OrgUnit,
    batch: list[tuple[tuple[str, int, int], NewRisk]],
    judge_of: _Judge,
) -> None:
    scales = judge_of.scales
    assessed = [judge_of.assessment(actor, i.assessment, i) if i.assessment else None for _r, i in batch]
    risk_rows = [
        _risk_row(actor, unit, ref, year, seq, item, values, scales)
        for ((ref, year, seq), item), values in zip(batch, assessed, strict=True)
    ]
    risk_ids = _insert_returning(session, Risk, risk_rows)
    # Assessments (and the risks' pointer to their current one), escalations, controls, actions.
    with_assessment = [(n, values) for n, values in enumerate(assessed) if values is not None]
    assessment_ids = _insert_returning(
        session, Assessment, [{**values, "risk_id": risk_ids[n]} for n, values in with_assessment]
    )
    if with_assessment:
        table = _table(Risk)
        session.execute(
            update(table).where(table.c.id == bindparam("risk_id")).values(current_assessment_id=bindparam("aid")),
            [
                {"risk_id": risk_ids[n], "aid": aid}
                for (n, _v), aid in zip(with_assessment, assessment_ids, strict=True)
            ],
        )
    escalations = _escalations(actor, batch, assessed, risk_ids, scales)
    escalation_ids = _insert_returning(session, Escalation, [row for _n, row in escalations])
    controls = [(n, {**_fields(i.control), "risk_id": risk_ids[n]}) for n, (_r, i) in enumerate(batch) if i.control]
    control_ids = _insert_returning(session, Control, [row for _n, row in controls])
    actions = [
        (n, _action_row(ref, risk_ids[n], unit, k, data), data)
        for n, ((ref, _y, _s), item) in enumerate(batch)
        for k, data in enumerate(item.actions, start=1)
    ]
    if actions:
        session.execute(insert(_table(Action)), [row for _n, row, _d in actions])
    events = _audit_rows(
        actor,
        batch,
        assessed,
        {n: (eid, row) for (n, row), eid in zip(escalations, escalation_ids, strict=True)},
        {n: cid for (n, _row), cid in zip(controls, control_ids, strict=True)},
        actions,
    )
    _insert_audit(session, events)


def _insert_returning(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert through the table (Core: column defaults apply, no ORM bookkeeping); the new ids in `rows` order."""
    if not rows:
        return []
    table = _table(model)
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.execute(statement, rows).scalars())


def _insert_audit(session: Session, events: list[dict[str, Any]]) -> None:
    """The audit events: five a risk, the largest table an import writes. PostgreSQL takes them by COPY (about
    three times cheaper than a multi-row INSERT here), in the same transaction; other databases by INSERT.
    """
    if not events:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(_table(AuditEvent)), events)
        return
    columns = ["at", *events[0]]
    now = utcnow()
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(f"COPY audit_events ({', '.join(columns)}) FROM STDIN") as copy:
        for event in events:
            copy.write_row([now, *event.values()])


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _fields(value: Any) -> dict[str, Any]:
    """A flat dataclass as a dict: `dataclasses.asdict` deep-copies every value, 1 ms a row here for nothing."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


def _risk_row(
    actor: audit.Actor,
    unit: OrgUnit,
    ref: str,
    year: int,
    seq: int,
    item: NewRisk,
    assessed: dict[str, Any] | None,
    scales: Scales,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ref": ref,
        "ref_year": year,
        "ref_seq": seq,
        "org_unit_id": unit.id,
        "status": item.status,
        "closed_reason": item.closed_reason,
        "created_by_id": actor.user_id,
        "updated_by_id": actor.user_id,
        **_fields(item.data),
    }
    if assessed is not None:  # as record_assessment's _apply_current copies them
        row.update(
            inherent_score=assessed["inherent_score"],
            residual_likelihood=assessed["residual_likelihood"],
            residual_impact=assessed["residual_impact"],
            residual_score=assessed["residual_score"],
            residual_band=assessed["residual_band"],
            zone=assessed["zone"],
            last_assessed_on=assessed["assessed_on"],
            next_review_due=assessed["assessed_on"]
            + timedelta(days=scales.band(assessed["residual_score"]).review_days),
        )
    return row


def _escalations(
    actor: audit.Actor,
    batch: list[tuple[tuple[str, int, int], NewRisk]],
    assessed: list[dict[str, Any] | None],
    risk_ids: list[int],
    scales: Scales,
) -> list[tuple[int, dict[str, Any]]]:
    """The escalations `propose_escalation` raises (a new risk has no open one yet), by position in the batch."""
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, values in enumerate(assessed):
        if values is None:
            continue
        if values["zone"] != Zone.OUTSIDE_TOLERANCE:
            continue  # the only zone escalation_trigger acts on; spares building an Assessment per row
        found = ops.escalation_trigger(Assessment(**values), scales)
        if found is None:
            continue
        trigger, to_level = found
        rows.append(
            (
                n,
                {
                    "risk_id": risk_ids[n],
                    "from_level": EscalationLevel.OWNER,
                    "to_level": to_level,
                    "trigger": trigger,
                    "status": EscalationStatus.PROPOSED,
                    "reason": f"Residual {values['residual_score']} ({values['residual_band']}) is outside tolerance "
                    f"(tolerance maximum {values['tolerance_max']}) under statement {values['statement_version']}.",
                    "raised_by_id": actor.user_id,
                    "raised_on": values["assessed_on"],
                },
            )
        )
    return rows


def _action_row(risk_ref: str, risk_id: int, unit: OrgUnit, number: int, data: ops.ActionInput) -> dict[str, Any]:
    return {
        "ref": f"{risk_ref}-A{number}",
        "risk_id": risk_id,
        "org_unit_id": unit.id,
        "completed_on": date.today() if data.status == ActionStatus.COMPLETED else None,
        **_fields(data),
    }


def _audit_rows(
    actor: audit.Actor,
    batch: list[tuple[tuple[str, int, int], NewRisk]],
    assessed: list[dict[str, Any] | None],
    escalations: dict[int, tuple[int, dict[str, Any]]],
    controls: dict[int, int],
    actions: list[tuple[int, dict[str, Any], ops.ActionInput]],
) -> list[dict[str, Any]]:
    """The events the operations record, risk by risk in their order: create, assess, propose, control, actions."""
    by_risk: dict[int, list[tuple[str, ops.ActionInput]]] = {}
    for n, row, action in actions:
        by_risk.setdefault(n, []).append((row["ref"], action))
    events: list[dict[str, Any]] = []
    for n, ((ref, _y, _s), item) in enumerate(batch):
        risk_fields = _fields(item.data)
        events.append(audit.row(actor, "create", "risk", ref, f"registered {ref}: {item.data.title}", risk_fields))
        values = assessed[n]
        if values is not None and item.assessment is not None:
            given = item.assessment
            summary = (
                f"assessed {ref}: residual {values['residual_score']} {values['residual_band']}, "
                f"{values['zone'].label.lower()}"
            )
            changes = {
                "inherent": f"{given.inherent_likelihood}x{given.inherent_impact}",
                "residual": f"{given.residual_likelihood}x{given.residual_impact}",
                "zone": values["zone"].value,
                "statement_version": values["statement_version"],
            }
            events.append(audit.row(actor, "assess", "risk", ref, summary, changes))
        if n in escalations:
            escalation_id, row = escalations[n]
            summary = f"escalation of {ref} to {row['to_level'].label} proposed ({row['trigger'].value})"
            events.append(audit.row(actor, "propose", "escalation", escalation_id, summary))
        if n in controls and item.control is not None:
            events.append(
                audit.row(actor, "create", "control", controls[n], f"control added to {ref}", _fields(item.control))
            )
        for action_ref, given_action in by_risk.get(n, []):
            events.append(
                audit.row(actor, "create", "action", action_ref, f"action {action_ref} added", _fields(given_action))
            )
    return events
