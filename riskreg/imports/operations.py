"""Writing an import: a checked plan applied to one unit's register in one transaction, all or nothing.

Every row goes through the register's own operations (create_risk, update_risk, record_assessment,
add_action ...) with `commit=False`, so scores, zones, escalations and per-record audit events are exactly
those of a risk typed in by hand. The import itself is recorded as an ImportRun and one audit event with
the file's SHA-256 and the counts, in the same transaction; any failure rolls back everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from riskreg import audit
from riskreg.importer import ImportedAction, ImportPlan, ImportResult, PlannedRow, RowAction
from riskreg.imports import bulk
from riskreg.imports.planning import (
    ASSESSMENT_FIELDS,
    Categories,
    existing_for_import,
    load_categories,
    plan_for_unit,
)
from riskreg.models import (
    ControlEffectiveness,
    ImportRun,
    Nature,
    OrgUnit,
    Risk,
    RiskLevel,
    RiskStatus,
    Treatment,
)
from riskreg.risks import operations as ops
from riskreg.risks.operations import RuleViolation
from riskreg.scoring import Scales

__all__ = [
    "ImportRaced",
    "ImportRefused",
    "apply_file",
    "apply_import",
    "existing_for_import",
    "lock_unit",
    "plan_for_unit",
]

FILE_NAME_MAX = 200
_RISK_FIELDS = (
    "title",
    "cause",
    "event",
    "consequence",
    "category",
    "owner_title",
    "nature",
    "level",
    "treatment",
    "target_likelihood",
    "target_impact",
    "target_date",
)


class ImportRefused(RuleViolation):  # noqa: N818 - a rule, like RuleViolation
    """The plan cannot be applied as it stands (it has errors, or a row breaks a register rule)."""


@dataclass
class _Counts:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


def clean_file_name(name: str) -> str:
    """The upload's name as recorded: printable, one line, at most 200 characters (it is never a path here)."""
    printable = "".join(c if c.isprintable() else " " for c in name.replace("\\", "/").rsplit("/", 1)[-1])
    return " ".join(printable.split())[:FILE_NAME_MAX] or "upload"


class ImportRaced(ImportRefused):  # noqa: N818 - a rule, like RuleViolation
    """The register changed between the preview and the apply: `plan` is what the import would do now."""

    def __init__(self, plan: ImportPlan, seen: Mapping[str, int]) -> None:
        now = plan.counts()
        changes = ", ".join(
            f"{seen.get(k, 0):,} → {now[k]:,} {label}"
            for k, label in (
                ("new", "new"),
                ("update", "updated"),
                ("unchanged", "unchanged"),
                ("error", "with errors"),
            )
            if seen.get(k, 0) != now[k]
        )
        super().__init__(
            "file",
            f"The register changed since the preview ({changes}); nothing was written: check the new preview "
            "and apply it again.",
        )
        self.plan = plan


def lock_unit(session: Session, unit_id: int) -> None:
    """Hold the unit's import lock until the transaction ends: one import (preview-then-apply) per unit at a time.

    PostgreSQL: the unit's row, locked FOR UPDATE (other importers into the unit wait; readers do not). SQLite has
    one writer: riskreg/database.py begins every write transaction with BEGIN IMMEDIATE, so the write lock is
    already held from the transaction's first statement.
    """
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(OrgUnit.id).where(OrgUnit.id == unit_id).with_for_update())


def apply_file(
    session: Session,
    actor: audit.Actor,
    unit: OrgUnit,
    result: ImportResult,
    *,
    seen: Mapping[str, int] | None,
    scales: Scales,
    progress: Callable[[int, int], None] | None = None,
    idempotency_key: str | None = None,
) -> ImportRun:
    """Lock the unit, plan `result` again under the lock and apply it if it still does what the user saw.

    `seen` is the preview's counts (None: apply whatever the plan now is). A run already recorded under
    `idempotency_key` (a job retried after a crash that had committed) is returned as it is: never applied twice.
    Raises ImportRaced when the plan changed, ImportRefused when it has errors.
    """
    try:
        lock_unit(session, unit.id)
        if idempotency_key:
            done = session.scalars(select(ImportRun).where(ImportRun.idempotency_key == idempotency_key)).first()
            if done is not None:
                session.rollback()
                return done
        plan = plan_for_unit(session, unit, result)
        if seen is not None and plan.counts() != dict(seen):
            raise ImportRaced(plan, seen)
    except Exception:
        session.rollback()
        raise
    return apply_import(
        session,
        actor,
        unit,
        plan,
        file_name=result.filename,
        sha256=result.sha256,
        scales=scales,
        progress=progress,
        idempotency_key=idempotency_key,
    )


def apply_import(
    session: Session,
    actor: audit.Actor,
    unit: OrgUnit,
    plan: ImportPlan,
    *,
    file_name: str,
    sha256: str,
    scales: Scales,
    progress: Callable[[int, int], None] | None = None,
    idempotency_key: str | None = None,
) -> ImportRun:
    """Apply `plan` to `unit` in one transaction and record it; refuse a plan with errors.

    Callers that planned outside the unit's lock should call `apply_file`, which plans again under it.
    Raises `ImportRefused` (a RuleViolation) or StaleEdit, after rolling back, when a row cannot be written.
    `progress(done, total)` is called as rows are written (a job shows it).
    """
    if plan.has_errors:
        count = len(plan.of(RowAction.ERROR))
        raise ImportRefused("file", f"The file has {count:,} row(s) with errors: correct them and upload it again.")
    file_name = clean_file_name(file_name)
    try:
        lock_unit(session, unit.id)
        writer = _Writer(session, actor, unit, scales, load_categories(session), file_name, progress)
        counts = writer.apply(plan)
        run = ImportRun(
            org_unit_id=unit.id,
            file_name=file_name,
            sha256=sha256,
            created_count=len(counts.created),
            updated_count=len(counts.updated),
            unchanged_count=counts.unchanged,
            applied_by_id=actor.user_id,
            summary=_summary(counts, plan),
            idempotency_key=idempotency_key,
        )
        session.add(run)
        session.flush()
        audit.record(
            session,
            actor,
            "import",
            "import_run",
            run.id,
            f"imported {file_name} into {unit.code}: {run.summary}",
            {
                "file_name": file_name,
                "sha256": sha256,
                "unit": unit.code,
                "created": len(counts.created),
                "updated": len(counts.updated),
                "unchanged": counts.unchanged,
                "created_refs": counts.created[:500],
                "updated_refs": counts.updated[:500],
            },
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return run


def _summary(counts: _Counts, plan: ImportPlan) -> str:
    sheets = sorted({p.row.sheet for p in plan.rows if p.row.sheet})
    where = f" (sheet {', '.join(sheets)})" if sheets and len(sheets) <= 5 else ""
    return f"{len(counts.created):,} new, {len(counts.updated):,} updated, {counts.unchanged:,} unchanged{where}"


class _Writer:
    def __init__(
        self,
        session: Session,
        actor: audit.Actor,
        unit: OrgUnit,
        scales: Scales,
        categories: Categories,
        file_name: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.session = session
        self.actor = actor
        self.unit = unit
        self.scales = scales
        self.categories = categories
        self.file_name = file_name
        self.imported_note = f"Imported from {file_name}."
        self.report = progress

    def apply(self, plan: ImportPlan) -> _Counts:
        counts = _Counts()
        updates = plan.of(RowAction.UPDATE)
        total = len(updates) + len(plan.of(RowAction.NEW))
        risks = self._risks([p.ref for p in updates])
        for planned in updates:
            risk = risks.get(planned.ref)
            if risk is None:
                raise ImportRefused("file", f"Risk {planned.ref} is no longer in {self.unit.code}'s register.")
            self._update(risk, planned)
            counts.updated.append(risk.ref)
            if self.report is not None and len(counts.updated) % 100 == 0:
                self.report(len(counts.updated), total)
        # Rows that keep their own reference first, so that generated references never take theirs.
        new_rows = sorted(plan.of(RowAction.NEW), key=lambda p: not p.row.ref)
        items = [self._new_risk(planned) for planned in new_rows]
        done = len(counts.updated)
        report = self.report
        step = (lambda n: report(done + n, total)) if report is not None else None
        counts.created.extend(bulk.create_risks(self.session, self.actor, self.unit, items, self.scales, step))
        counts.unchanged = len(plan.of(RowAction.UNCHANGED))
        return counts

    def _risks(self, refs: list[str]) -> dict[str, Risk]:
        found: dict[str, Risk] = {}
        for start in range(0, len(refs), 900):
            query = (
                select(Risk)
                .options(selectinload(Risk.controls), selectinload(Risk.actions), selectinload(Risk.current_assessment))
                .where(Risk.ref.in_(refs[start : start + 900]), Risk.org_unit_id == self.unit.id)
                .where(Risk.deleted_at.is_(None))
            )
            found.update((risk.ref, risk) for risk in self.session.scalars(query))
        return found

    # ------------------------------------------------------------------------------ new risks

    def _new_risk(self, planned: PlannedRow) -> bulk.NewRisk:
        """What `create_risk` (+ `add_control`, `add_action`) would be asked to write for a new row, checked."""
        values = planned.row.values
        data = ops.RiskInput(
            title=_text(values, "title"),
            cause=_text(values, "cause"),
            event=_text(values, "event"),
            consequence=_text(values, "consequence"),
            category_id=self._category(values.get("category")),
            owner_title=_text(values, "owner_title"),
            nature=Nature(str(values.get("nature", Nature.THREAT))),
            level=RiskLevel(str(values.get("level", RiskLevel.DEPARTMENTAL))),
            treatment=Treatment(str(values.get("treatment", Treatment.TREAT))),
            target_likelihood=_int(values.get("target_likelihood")),
            target_impact=_int(values.get("target_impact")),
            target_date=_date(values.get("target_date")),
        )
        status = RiskStatus(str(values.get("status", RiskStatus.ACTIVE)))
        controls = values.get("controls")
        ref = planned.row.ref or None
        item = bulk.NewRisk(
            data=data,
            status=status,
            ref=ref,
            assessment=self._assessment(values, None, values.get("rationale")),
            closed_reason="" if status.is_open else f"Imported as {status.value}. {self.imported_note}",
            control=ops.ControlInput(description=controls) if isinstance(controls, str) and controls else None,
            actions=tuple(
                self._action_input(ref or "a new risk", data.owner_title, a) for a in _actions(values.get("actions"))
            ),
        )
        bulk.check(item, self.scales)
        return item

    # ------------------------------------------------------------------------------ updates

    def _update(self, risk: Risk, planned: PlannedRow) -> None:
        changed = {c.field: c.new for c in planned.changes}
        if any(name in changed for name in _RISK_FIELDS):
            ops.update_risk(
                self.session,
                self.actor,
                risk,
                self._risk_input(risk, changed),
                risk.version,
                scales=self.scales,
                commit=False,
            )
        if "status" in changed:
            status = RiskStatus(str(changed["status"]))
            reason = self.imported_note if not status.is_open else ""
            ops.set_status(self.session, self.actor, risk, status, reason, risk.version, commit=False)
        if any(name in changed for name in ASSESSMENT_FIELDS):
            assessment = self._assessment(changed, risk, planned.row.values.get("rationale"))
            if assessment is not None:
                ops.record_assessment(
                    self.session, self.actor, risk, assessment, scales=self.scales, expected_version=None, commit=False
                )
        if "controls" in changed:
            self._replace_controls(risk, str(changed["controls"] or ""))
        for action in _actions(changed.get("actions")):
            self._add_or_redate_action(risk, action)

    def _risk_input(self, risk: Risk, changed: Mapping[str, object]) -> ops.RiskInput:
        def pick(name: str, current: Any) -> Any:
            return changed.get(name, current)

        category_id = self._category(changed["category"]) if "category" in changed else risk.category_id
        return ops.RiskInput(
            title=str(pick("title", risk.title)),
            cause=str(pick("cause", risk.cause)),
            event=str(pick("event", risk.event)),
            consequence=str(pick("consequence", risk.consequence)),
            category_id=category_id,
            owner_title=str(pick("owner_title", risk.owner_title)),
            nature=Nature(str(pick("nature", risk.nature))),
            level=RiskLevel(str(pick("level", risk.level))),
            treatment=Treatment(str(pick("treatment", risk.treatment))),
            linked_objective=risk.linked_objective,
            target_likelihood=_int(pick("target_likelihood", risk.target_likelihood)),
            target_impact=_int(pick("target_impact", risk.target_impact)),
            target_date=_date(pick("target_date", risk.target_date)),
            is_confidential=risk.is_confidential,
            council_visible=risk.council_visible,
        )

    def _replace_controls(self, risk: Risk, text: str) -> None:
        # The file holds the controls as one text: the live controls give way to one control with that text
        # (retired, not deleted: their history stays), so that importing the file again finds no change.
        for control in [c for c in risk.controls if c.retired_at is None]:
            ops.retire_control(self.session, self.actor, control, control.version, commit=False)
        if text:
            ops.add_control(self.session, self.actor, risk, ops.ControlInput(description=text), commit=False)

    # ------------------------------------------------------------------------------ assessments

    def _assessment(
        self, given: Mapping[str, object], risk: Risk | None, rationale: object
    ) -> ops.AssessmentInput | None:
        """The assessment a row calls for: given values over the current assessment's; None without ratings.

        The rationale is the file's whenever it has one (changed or not), so that importing the file again
        compares equal; otherwise it says where the assessment came from.
        """
        current = risk.current_assessment if risk is not None else None
        base: dict[str, Any] = {name: getattr(current, name) for name in ASSESSMENT_FIELDS} if current else {}
        merged = {**base, **{name: given[name] for name in ASSESSMENT_FIELDS if name in given}}
        notes = [self.imported_note]
        inherent = (merged.get("inherent_likelihood"), merged.get("inherent_impact"))
        residual = (merged.get("residual_likelihood"), merged.get("residual_impact"))
        if None in residual and None in inherent:
            return None
        if None in inherent:
            inherent = residual
            notes.append("The file gives only the residual rating; the inherent rating is taken to be the same.")
        elif None in residual:
            residual = inherent
            notes.append("The file gives only the inherent rating; the residual rating is taken to be the same.")
        effectiveness = merged.get("control_effectiveness")
        return ops.AssessmentInput(
            inherent_likelihood=int(str(inherent[0])),
            inherent_impact=int(str(inherent[1])),
            residual_likelihood=int(str(residual[0])),
            residual_impact=int(str(residual[1])),
            control_effectiveness=ControlEffectiveness(str(effectiveness or ControlEffectiveness.NOT_ASSESSED)),
            velocity=_int(merged.get("velocity")),
            rationale=rationale if isinstance(rationale, str) and rationale else " ".join(notes),
        )

    # ------------------------------------------------------------------------------ actions

    def _action_input(self, ref: str, owner_title: str, action: ImportedAction) -> ops.ActionInput:
        if action.due_date is None:
            raise ImportRefused("actions", f"An action of {ref} has no due date: {action.description[:60]!r}.")
        return ops.ActionInput(description=action.description, owner_title=owner_title, due_date=action.due_date)

    def _add_action(self, risk: Risk, action: ImportedAction) -> None:
        ops.add_action(
            self.session, self.actor, risk, self._action_input(risk.ref, risk.owner_title, action), commit=False
        )

    def _add_or_redate_action(self, risk: Risk, action: ImportedAction) -> None:
        key = _action_key(action.description)
        found = next((a for a in risk.actions if _action_key(a.description) == key), None)
        if found is None:
            self._add_action(risk, action)
            return
        if action.due_date is None or action.due_date == found.effective_due:
            return
        # A new date from the register revises the due date; the original date stays as the baseline.
        data = ops.ActionInput(
            description=found.description,
            owner_title=found.owner_title,
            due_date=found.due_date,
            revised_due_date=action.due_date if action.due_date != found.due_date else None,
            status=found.status,
            percent_complete=found.percent_complete,
            expected_effect=found.expected_effect,
            comment=found.comment,
        )
        ops.update_action(self.session, self.actor, found, data, found.version, commit=False)

    def _category(self, named: object) -> int:
        found = self.categories.find(named)
        if found is None:
            raise ImportRefused("category", f"Category {str(named)[:60]!r} is not one of RiskReg's.")
        return found


def _text(values: Mapping[str, object], name: str) -> str:
    value = values.get(name)
    return value if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _date(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _actions(value: object) -> tuple[ImportedAction, ...]:
    return tuple(a for a in value if isinstance(a, ImportedAction)) if isinstance(value, tuple) else ()


def _action_key(text: str) -> str:
    # As plan_import compares actions: whitespace and a final full stop do not count.
    return " ".join(text.split()).rstrip(".").casefold()
